/*
 * admin.h - administrative endpoints of the gateway.
 */
#ifndef SY_API_ADMIN_H
#define SY_API_ADMIN_H

#include "config/config.h"
#include "http/server.h"

/* GET|POST /admin/routes/explain (admin_routes.c). */
void sy_admin_routes_explain(sy_http_req_t *req, sy_config_t *cfg);

#endif
