/*
 * residency.h - where a request's data may go: data classes and the
 * jurisdictions each principal allows for them.
 *
 * A request is in every data class that applies to it, each of which can
 * only narrow where it may go:
 *   - the classes named in its x-switchyard-data-class header
 *     (comma-separated);
 *   - the default data class of its key, team or organisation (the first
 *     level that sets one) - a floor the caller cannot talk its way out of;
 *   - the class a guardrail put it in (sy_guard_verdict_t.restriction), and
 *     the jurisdictions that verdict names, if any.
 * For each class, every level (key, team, organisation) that has a rule for
 * it contributes its list, and the allowed jurisdictions are the
 * intersection of all of them. A class no level has a rule for restricts
 * nothing. An empty intersection allows nothing: the router then drops every
 * deployment and the request is refused, saying why.
 *
 * A deployment's jurisdiction (config: `jurisdiction`, defaulting to its
 * provider's) matches an allowed jurisdiction equal to it, or one it is a
 * part of ("eu" allows "eu-de"), ignoring case. A deployment without a
 * jurisdiction is never allowed under a restriction.
 */
#ifndef SY_HARNESS_RESIDENCY_H
#define SY_HARNESS_RESIDENCY_H

#include "harness/principals.h"

#define SY_RESIDENCY_MAX_CLASSES 8 /* classes one request can be in */

typedef struct {
    bool restricted; /* some rule applies: only `allowed` may be used */
    sy_str_t classes[SY_RESIDENCY_MAX_CLASSES];
    size_t nclasses;
    sy_str_t allowed[SY_GOV_MAX_JURISDICTIONS];
    size_t nallowed;
    char why[512]; /* "data class pii (key: eu; team: eu, ch)" for messages and explain */
} sy_residency_t;

/*
 * Work out where a request may go. `levels` are the specs of the key, its
 * team and its organisation (entries may be NULL). `header` is the value of
 * x-switchyard-data-class (empty: none). `guard_class` and `guard_juris`
 * come from a guardrail verdict that restricted the request (empty/0: none).
 * Views in out point into the arguments. SY_EINVAL with a message in err
 * for a malformed header.
 */
int sy_residency_resolve(const sy_gov_spec_t *const levels[3], sy_str_t header,
                         sy_str_t guard_class, const sy_str_t *guard_juris, size_t nguard_juris,
                         sy_residency_t *out, char *err, size_t errsz);

/* Whether a deployment with this jurisdiction may serve the request. */
bool sy_residency_allows(const sy_residency_t *r, sy_str_t jurisdiction);
/* Whether `jurisdiction` is `allowed` or below it ("eu-de" under "eu"). */
bool sy_jurisdiction_match(sy_str_t allowed, sy_str_t jurisdiction);

#endif
