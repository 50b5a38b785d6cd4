/*
 * admin.h - administrative endpoints of the gateway.
 */
#ifndef SY_API_ADMIN_H
#define SY_API_ADMIN_H

#include "config/config.h"
#include "http/server.h"

/* /admin/orgs, /admin/teams, /admin/keys, /admin/spend (admin.c). */
void sy_admin_handle(sy_http_req_t *req, sy_config_t *cfg);
/* Whether the request carries admin.master_key (constant-time check). */
bool sy_admin_authorised(const sy_config_t *cfg, const sy_http_req_t *req);

/* GET|POST /admin/routes/explain (admin_routes.c). */
void sy_admin_routes_explain(sy_http_req_t *req, sy_config_t *cfg);

#endif
