/*
 * guard_secret.c - API keys, tokens and private keys.
 *
 * One pass. Known formats are anchored on their prefixes at the start of a
 * token (sk-, sk-ant-, AKIA, ghp_, github_pat_, xox?-, AIza, sk_live_,
 * eyJ...eyJ, -----BEGIN ... PRIVATE KEY-----, hooks.slack.com/services/);
 * each prefix fixes the alphabet and length that follow. Two rules have no
 * prefix and lean on context and entropy instead:
 *   - aws_secret_key: a 40-character [A-Za-z0-9/+] run with "aws" in the 64
 *     bytes before it, mixed case, Shannon entropy >= 4.0 bits per byte;
 *   - generic: after '=' or ':' whose key name ends in api_key, secret,
 *     token, password, private_key, access_key, credentials, auth or
 *     authorization (separators ignored), a value of at least 16 characters
 *     (8 for passwords) with letters and digits and entropy >= 3.0 (2.5 for
 *     passwords), not a placeholder (${VAR}, <your-key>, xxxx, "changeme").
 * Spans cover the secret itself (a whole PEM block, BEGIN to END line).
 */
#include <string.h>

#include "harness/guard_int.h"

#define RBIT(r) (1u << (unsigned)(r))

static size_t run(const unsigned char *s, size_t n, size_t i, unsigned mask, const char *extra)
{
    size_t j = i;
    while (j < n && (G_IS(s[j], mask) || (extra && s[j] && strchr(extra, s[j]))))
        j++;
    return j;
}

/* A token body: [A-Za-z0-9] plus `extra`; at least one digit and one letter. */
static bool mixed(const unsigned char *s, size_t from, size_t to)
{
    bool d = false, a = false;
    for (size_t k = from; k < to && !(d && a); k++) {
        d = d || g_is_digit(s[k]);
        a = a || g_is_alpha(s[k]);
    }
    return d && a;
}

static bool boundary_after(const unsigned char *s, size_t n, size_t e)
{
    return e >= n || !(g_is_alnum(s[e]) || s[e] == '_');
}

/* ---- PEM private keys ---- */

static size_t pem_at(const unsigned char *s, size_t n, size_t i)
{
    if (!G_LIT(s, n, i, "-----begin "))
        return 0;
    size_t j = i + 11, lim = SY_MIN(n, j + 48);
    while (j < lim && (g_is_upper(s[j]) || g_is_digit(s[j]) || s[j] == ' '))
        j++;
    if (j < i + 11 + 11 || memcmp(s + j - 11, "PRIVATE KEY", 11) != 0) {
        /* PGP: "-----BEGIN PGP PRIVATE KEY BLOCK-----" */
        if (!(j >= i + 11 + 17 && memcmp(s + j - 17, "PRIVATE KEY BLOCK", 17) == 0))
            return 0;
    }
    if (!G_LIT(s, n, j, "-----"))
        return 0;
    j += 5;
    /* The body: base64, whitespace, header lines ("Proc-Type: ...") and
     * JSON-escaped newlines; then, if it is there, the END line. */
    for (;;) {
        while (j < n && (G_IS(s[j], G_B64 | G_SPACE) || s[j] == '=' || s[j] == ':' ||
                         s[j] == ',' || (s[j] == '-' && !G_LIT(s, n, j, "-----"))))
            j++;
        if (j + 1 < n && s[j] == '\\' && (s[j + 1] == 'n' || s[j + 1] == 'r')) {
            j += 2;
            continue;
        }
        break;
    }
    if (G_LIT(s, n, j, "-----end ")) {
        size_t k = j + 9, klim = SY_MIN(n, k + 48);
        while (k < klim && (g_is_upper(s[k]) || g_is_digit(s[k]) || s[k] == ' '))
            k++;
        if (G_LIT(s, n, k, "-----"))
            return k + 5;
    }
    while (j > i && (g_is_space(s[j - 1])))
        j--;
    return j;
}

/* ---- generic key=value ---- */

/* Key names (lowercase, separators removed) whose values are secrets; a
 * name matches when it ends with one of these. */
static const char *const secret_keys[] = {"apikey", "secret", "secretkey", "token", "accesskey",
                                          "privatekey", "credentials", "credential", "auth",
                                          "authorization", "authtoken", "clientsecret",
                                          "sessionkey", "signingkey", "encryptionkey", "apitoken",
                                          "bearer", NULL};
static const char *const password_keys[] = {"password", "passwd", "pwd", "passphrase", NULL};

static const char *const placeholders[] = {"your", "example", "placeholder", "changeme", "xxxx",
                                           "****", "redacted", "dummy", "sample", "insert",
                                           "replace", "process.env", "os.environ", "getenv",
                                           "secret_here", "key_here", "todo", NULL};

static bool ends_with_key(const char *name, size_t len, const char *const *list)
{
    for (; *list; list++) {
        size_t l = strlen(*list);
        if (len >= l && memcmp(name + len - l, *list, l) == 0)
            return true;
    }
    return false;
}

static bool contains_ci(const unsigned char *s, size_t n, const char *lit)
{
    size_t l = strlen(lit);
    for (size_t k = 0; k + l <= n; k++)
        if (g_lit(s, n, k, lit, l))
            return true;
    return false;
}

static bool value_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f && c != '"' && c != '\'' && c != '`' && c != ',' && c != ';' &&
           c != '<' && c != '>' && c != ')' && c != '}' && c != ']' && c != '(' && c != '{' &&
           c != '[' && c != '\\';
}

/* At '=' or ':' (s[i]): a secret-named key before, a secret-looking value
 * after. Returns the value's span. */
static bool generic_at(const unsigned char *s, size_t n, size_t i, size_t *vs, size_t *ve)
{
    /* Key: skip closing quote and spaces, then [A-Za-z0-9_.-]. */
    size_t k = i;
    while (k > 0 && i - k < 3 && (s[k - 1] == ' ' || s[k - 1] == '"' || s[k - 1] == '\''))
        k--;
    char name[48];
    size_t len = 0, ke = k;
    while (k > 0 && ke - k < 40 &&
           (g_is_alnum(s[k - 1]) || s[k - 1] == '_' || s[k - 1] == '-' || s[k - 1] == '.'))
        k--;
    if (k == ke || (k > 0 && ke - k >= 40))
        return false;
    for (size_t m = k; m < ke; m++)
        if (g_is_alnum(s[m]))
            name[len++] = (char)g_lower(s[m]);
    bool password = ends_with_key(name, len, password_keys);
    if (!password && !ends_with_key(name, len, secret_keys))
        return false;
    /* Value: skip spaces and an opening quote, "Bearer "/"Basic ". */
    size_t v = i + 1;
    if (s[i] == '=' && v < n && s[v] == '=')
        return false; /* "==" comparison */
    while (v < n && v - i < 4 && (s[v] == ' ' || s[v] == '"' || s[v] == '\''))
        v++;
    if (G_LIT(s, n, v, "bearer "))
        v += 7;
    else if (G_LIT(s, n, v, "basic "))
        v += 6;
    size_t e = v;
    while (e < n && e - v < 512 && value_char(s[e]))
        e++;
    while (e > v && (s[e - 1] == '.' || s[e - 1] == ':'))
        e--; /* sentence punctuation */
    size_t vlen = e - v;
    if (vlen < (password ? 8u : 16u) || vlen >= 512)
        return false;
    if (s[v] == '$' || s[v] == '%' || s[v] == '*')
        return false; /* ${VAR}, $VAR, %VAR%, ***** */
    for (const char *const *p = placeholders; *p; p++)
        if (contains_ci(s + v, vlen, *p))
            return false;
    if (!mixed(s, v, e))
        return false;
    double h = sy_guard_entropy(s + v, vlen);
    if (h < (password ? 2.5 : 3.0))
        return false;
    *vs = v;
    *ve = e;
    return true;
}

/* ---- AWS secret access key ---- */

static bool aws_secret_at(const unsigned char *s, size_t n, size_t i, size_t e)
{
    if (e - i != 40)
        return false;
    bool up = false, lo = false;
    for (size_t k = i; k < e; k++) {
        up = up || g_is_upper(s[k]);
        lo = lo || G_IS(s[k], G_LOWER);
    }
    if (!up || !lo || !mixed(s, i, e))
        return false;
    if (sy_guard_entropy(s + i, 40) < 4.0)
        return false;
    size_t lo_b = i > 64 ? i - 64 : 0;
    for (size_t k = lo_b; k + 3 <= i; k++)
        if (G_LIT(s, n, k, "aws"))
            return true;
    return false;
}

/* ---- the pass ---- */

static size_t prefixed_at(const unsigned char *s, size_t n, size_t i, uint32_t rules,
                          sy_guard_findings_t *out)
{
    size_t e;
    unsigned char c = s[i];
    switch (c) {
    case 's':
    case 'r':
        if (c == 's' && G_LIT(s, n, i, "sk-ant-") && (rules & RBIT(SY_GUARD_SECRET_ANTHROPIC))) {
            e = run(s, n, i + 7, G_B64URL, NULL);
            if (e - (i + 7) >= 32 && boundary_after(s, n, e))
                return sy_guard_push(out, SY_GUARD_SECRET, SY_GUARD_SECRET_ANTHROPIC, i, e, 0.97f),
                       e;
            return 0;
        }
        if (c == 's' && G_LIT(s, n, i, "sk-") && (rules & RBIT(SY_GUARD_SECRET_OPENAI))) {
            e = run(s, n, i + 3, G_B64URL, NULL);
            if (e - (i + 3) >= 20 && mixed(s, i + 3, e) && boundary_after(s, n, e))
                return sy_guard_push(out, SY_GUARD_SECRET, SY_GUARD_SECRET_OPENAI, i, e, 0.9f), e;
            return 0;
        }
        if ((G_LIT(s, n, i + 1, "k_live_") || G_LIT(s, n, i + 1, "k_test_")) &&
            (rules & RBIT(SY_GUARD_SECRET_STRIPE))) {
            e = run(s, n, i + 8, G_DIGIT | G_UPPER | G_LOWER, NULL);
            if (e - (i + 8) >= 16 && boundary_after(s, n, e))
                return sy_guard_push(out, SY_GUARD_SECRET, SY_GUARD_SECRET_STRIPE, i, e,
                                     s[i + 3] == 'l' ? 0.95f : 0.8f),
                       e;
        }
        return 0;
    case 'g':
        if (!(rules & RBIT(SY_GUARD_SECRET_GITHUB)))
            return 0;
        if (G_LIT(s, n, i, "github_pat_")) {
            e = run(s, n, i + 11, G_DIGIT | G_UPPER | G_LOWER, "_");
            if (e - (i + 11) >= 40 && boundary_after(s, n, e))
                return sy_guard_push(out, SY_GUARD_SECRET, SY_GUARD_SECRET_GITHUB, i, e, 0.97f), e;
            return 0;
        }
        if (i + 4 <= n && s[i + 1] == 'h' && s[i + 2] && strchr("pousr", s[i + 2]) &&
            s[i + 3] == '_') {
            e = run(s, n, i + 4, G_DIGIT | G_UPPER | G_LOWER, NULL);
            if (e - (i + 4) >= 36 && e - (i + 4) <= 255 && boundary_after(s, n, e))
                return sy_guard_push(out, SY_GUARD_SECRET, SY_GUARD_SECRET_GITHUB, i, e, 0.97f), e;
        }
        return 0;
    case 'x':
        if ((rules & RBIT(SY_GUARD_SECRET_SLACK)) && i + 5 <= n && s[i + 1] == 'o' &&
            s[i + 2] == 'x' && s[i + 3] && strchr("abprs", s[i + 3]) && s[i + 4] == '-') {
            e = run(s, n, i + 5, G_DIGIT | G_UPPER | G_LOWER, "-");
            if (e - (i + 5) >= 10 && mixed(s, i + 5, e) && boundary_after(s, n, e))
                return sy_guard_push(out, SY_GUARD_SECRET, SY_GUARD_SECRET_SLACK, i, e, 0.95f), e;
        }
        return 0;
    case 'h':
        if ((rules & RBIT(SY_GUARD_SECRET_SLACK)) && G_LIT(s, n, i, "hooks.slack.com/services/")) {
            size_t v = i + 25;
            e = run(s, n, v, G_DIGIT | G_UPPER | G_LOWER, "/");
            if (e - v >= 20 && s[v] == 'T')
                return sy_guard_push(out, SY_GUARD_SECRET, SY_GUARD_SECRET_SLACK, i, e, 0.95f), e;
        }
        return 0;
    case 'A':
        if ((rules & RBIT(SY_GUARD_SECRET_GOOGLE)) && G_LIT(s, n, i, "aiza") && s[i + 1] == 'I' &&
            s[i + 2] == 'z' && s[i + 3] == 'a') {
            e = run(s, n, i + 4, G_B64URL, NULL);
            if (e - (i + 4) == 35)
                return sy_guard_push(out, SY_GUARD_SECRET, SY_GUARD_SECRET_GOOGLE, i, e, 0.95f), e;
            return 0;
        }
        if ((rules & RBIT(SY_GUARD_SECRET_AWS_KEY_ID)) && n - i >= 20) {
            static const char ids[][5] = {"AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA",
                                          "AIPA", "ANPA", "ANVA", "APKA", "AROA", "ASCA"};
            for (size_t k = 0; k < SY_ARRAY_LEN(ids); k++) {
                if (memcmp(s + i, ids[k], 4) != 0)
                    continue;
                e = run(s, n, i + 4, G_DIGIT | G_UPPER, NULL);
                if (e - (i + 4) == 16 && boundary_after(s, n, e))
                    return sy_guard_push(out, SY_GUARD_SECRET, SY_GUARD_SECRET_AWS_KEY_ID, i, e,
                                         0.95f),
                           e;
                return 0;
            }
        }
        return 0;
    case 'e':
        if ((rules & RBIT(SY_GUARD_SECRET_JWT)) && i + 3 <= n && s[i + 1] == 'y' &&
            s[i + 2] == 'J') {
            size_t a = run(s, n, i, G_B64URL, NULL);
            if (a - i < 10 || a + 4 >= n || s[a] != '.' || memcmp(s + a + 1, "eyJ", 3) != 0)
                return 0;
            size_t b = run(s, n, a + 1, G_B64URL, NULL);
            if (b - (a + 1) < 10 || b >= n || s[b] != '.')
                return 0;
            size_t c3 = run(s, n, b + 1, G_B64URL, NULL);
            if (c3 - (b + 1) < 10 || !boundary_after(s, n, c3))
                return 0;
            return sy_guard_push(out, SY_GUARD_SECRET, SY_GUARD_SECRET_JWT, i, c3, 0.95f), c3;
        }
        return 0;
    }
    return 0;
}

size_t sy_guard_scan_secrets(sy_str_t text, uint32_t rules, sy_guard_findings_t *out)
{
    const unsigned char *s = (const unsigned char *)text.p;
    size_t n = text.len, before = out->n;
    size_t i = 0;
    while (i < n && !out->truncated) {
        unsigned char c = s[i];
        if (!G_IS(c, G_TOK)) {
            if ((c == '=' || c == ':') && (rules & RBIT(SY_GUARD_SECRET_GENERIC))) {
                size_t vs, ve;
                if (generic_at(s, n, i, &vs, &ve)) {
                    /* A known format inside the value is reported as itself. */
                    size_t before_v = out->n;
                    size_t pe = prefixed_at(s, n, vs, rules, out);
                    if (pe == 0 || out->n == before_v)
                        sy_guard_push(out, SY_GUARD_SECRET, SY_GUARD_SECRET_GENERIC, vs, ve, 0.7f);
                    i = ve > pe ? ve : pe;
                    continue;
                }
            }
            i++;
            continue;
        }
        if (c == '-') {
            size_t e = 0;
            if ((rules & RBIT(SY_GUARD_SECRET_PRIVATE_KEY)) && i + 5 < n && s[i + 1] == '-')
                e = pem_at(s, n, i);
            if (e > i) {
                sy_guard_push(out, SY_GUARD_SECRET, SY_GUARD_SECRET_PRIVATE_KEY, i, e, 0.99f);
                i = e;
            } else {
                i++;
            }
            continue;
        }
        /* A run of token characters: tried at its start, then skipped (no
         * prefix starts inside a token). */
        size_t run = i + 1;
        while (run < n && G_IS(s[run], G_TOK))
            run++;
        unsigned char p = i ? s[i - 1] : ' ';
        bool start = !(G_IS(p, G_TOK) || p == '/' || p == '+' || p == '.');
        size_t e = 0;
        /* Every prefix starts with one of these, and every token but the
         * Slack webhook's host is at least 10 characters long. */
        bool candidate = (c == 's' || c == 'r' || c == 'g' || c == 'x' || c == 'A' || c == 'e')
                             ? run - i >= 10
                             : c == 'h';
        if (candidate && (start || (c == 'h' && p == '/')))
            e = prefixed_at(s, n, i, rules, out);
        if (e == 0 && start && (rules & RBIT(SY_GUARD_SECRET_AWS_SECRET)) &&
            (run - i == 40 || (run < n && (s[run] == '/' || s[run] == '+')))) {
            size_t r = i;
            while (r < n && G_IS(s[r], G_B64))
                r++;
            if (r - i == 40 && (r >= n || !(G_IS(s[r], G_B64) || s[r] == '=' || s[r] == '_' ||
                                             s[r] == '-')) &&
                aws_secret_at(s, n, i, r)) {
                sy_guard_push(out, SY_GUARD_SECRET, SY_GUARD_SECRET_AWS_SECRET, i, r, 0.85f);
                e = r;
            }
        }
        i = e > i ? e : run;
    }
    return out->n - before;
}
