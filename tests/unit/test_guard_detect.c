/*
 * test_guard_detect.c - measures the guardrail detectors on the labelled set
 * in tests/data/guardrails/ and fails below the thresholds documented in
 * docs/internals/guardrails.md.
 *
 * Every detector runs over every line, so a phone finding on an IBAN line
 * counts against the phone detector. Spans: a finding of kind K that
 * overlaps a marked span of kind K is a true positive (each marked span
 * counts once), one that overlaps none is a false positive, and a marked
 * span no finding overlaps is a false negative. "exact" counts true
 * positives whose span is exactly the marked one. Injection is a score per
 * line: lines labelled "injection +" are the positives, every other line a
 * negative, and the prediction is score >= 0.8 (the default threshold).
 *
 * SY_GUARD_VERBOSE=1 prints every miss and false alarm.
 */
#include <stdlib.h>

#include "harness/guard.h"
#include "unit.h"

#define MAX_TEXT  16384
#define MAX_SPANS 16

static const char *root_dir(void)
{
    const char *r = getenv("SY_ROOT");
    return r && *r ? r : ".";
}

/* The development set (written with the detectors) and the held-out set
 * (written after them and never used to tune them): reported apart. */
static const char *const files[] = {"email.tsv", "phone.tsv",     "secrets.tsv", "injection.tsv",
                                    "deny.tsv",  "none.tsv",      "generated.tsv", "heldout.tsv"};
#define HELDOUT_FILE      7
#define HELDOUT_PRECISION 0.45
#define HELDOUT_RECALL    0.35

/* Minimum precision and recall per kind (docs/internals/guardrails.md). */
static const struct {
    const char *name;
    double precision, recall;
} thresholds[SY_GUARD_KIND_COUNT] = {
    [SY_GUARD_EMAIL] = {"pii.email", 0.97, 0.95},
    [SY_GUARD_PHONE] = {"pii.phone", 0.93, 0.90},
    [SY_GUARD_CARD] = {"pii.card", 0.98, 0.97},
    [SY_GUARD_IBAN] = {"pii.iban", 0.98, 0.97},
    [SY_GUARD_SSN] = {"pii.ssn", 0.97, 0.95},
    [SY_GUARD_NINO] = {"pii.nino", 0.97, 0.95},
    [SY_GUARD_ES_DNI] = {"pii.es_dni", 0.97, 0.95},
    [SY_GUARD_IT_CF] = {"pii.it_cf", 0.98, 0.97},
    [SY_GUARD_DE_TAXID] = {"pii.de_taxid", 0.95, 0.95},
    [SY_GUARD_FR_NIR] = {"pii.fr_nir", 0.98, 0.97},
    [SY_GUARD_SECRET] = {"secrets", 0.95, 0.95},
    [SY_GUARD_INJECTION] = {"injection", 0.95, 0.85},
    [SY_GUARD_DENY] = {"deny", 0.97, 0.97},
};

typedef struct {
    size_t start, end;
    int kind;
    bool hit;
} span_t;

typedef struct {
    unsigned tp, fp, fn, exact, lines;
} stats_t;

static stats_t sets[2][SY_GUARD_KIND_COUNT];
static stats_t *st = sets[0];
static bool verbose;

static void put_utf8(char *out, size_t *n, unsigned cp)
{
    if (cp < 0x80) {
        out[(*n)++] = (char)cp;
    } else if (cp < 0x800) {
        out[(*n)++] = (char)(0xC0 | (cp >> 6));
        out[(*n)++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out[(*n)++] = (char)(0xE0 | (cp >> 12));
        out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[(*n)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        out[(*n)++] = (char)(0xF0 | (cp >> 18));
        out[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[(*n)++] = (char)(0x80 | (cp & 0x3F));
    }
}

/* Unescape `in` into out (text without markers) and collect the marked
 * spans. Returns false on a malformed line. */
static bool parse_text(const char *in, int line_kind, char *out, size_t *n, span_t *spans,
                       size_t *nspans)
{
    *n = 0;
    *nspans = 0;
    size_t open = 0;
    int open_kind = -1;
    bool in_span = false;
    for (const char *p = in; *p && *n + 8 < MAX_TEXT;) {
        if (!strncmp(p, "\xE2\x9F\xA6", 3)) { /* ⟦ */
            if (in_span)
                return false;
            p += 3;
            open_kind = line_kind;
            const char *bar = strchr(p, '|');
            const char *close = strstr(p, "\xE2\x9F\xA7");
            if (bar && close && bar < close) {
                int k = sy_guard_kind_parse(sy_str(p, (size_t)(bar - p)));
                if (k >= 0) {
                    open_kind = k;
                    p = bar + 1;
                }
            }
            open = *n;
            in_span = true;
            continue;
        }
        if (!strncmp(p, "\xE2\x9F\xA7", 3)) { /* ⟧ */
            if (!in_span || *nspans == MAX_SPANS)
                return false;
            spans[(*nspans)++] = (span_t){open, *n, open_kind, false};
            in_span = false;
            p += 3;
            continue;
        }
        if (*p == '\\' && p[1]) {
            if (p[1] == 'n') {
                out[(*n)++] = '\n';
                p += 2;
            } else if (p[1] == 't') {
                out[(*n)++] = '\t';
                p += 2;
            } else if (p[1] == '\\') {
                out[(*n)++] = '\\';
                p += 2;
            } else if (p[1] == 'u' && p[2] == '{') {
                char *end;
                unsigned long cp = strtoul(p + 3, &end, 16);
                if (*end != '}')
                    return false;
                put_utf8(out, n, (unsigned)cp);
                p = end + 1;
            } else {
                out[(*n)++] = *p++;
            }
            continue;
        }
        out[(*n)++] = *p++;
    }
    out[*n] = '\0';
    return !in_span;
}

static sy_guard_deny_t *test_deny(sy_arena_t *a)
{
    static const sy_str_t words[] = {SY_STR("project nightingale"), SY_STR("bluebird"),
                                     SY_STR("falcon-x"), SY_STR("internal only"), SY_STR("darn")};
    static const sy_str_t regex[] = {SY_STR("\\bACME-\\d{4}\\b"),
                                     SY_STR("(?i)codename\\s+[a-z]+")};
    size_t bad;
    const char *err;
    return sy_guard_deny_build(a, words, SY_ARRAY_LEN(words), regex, SY_ARRAY_LEN(regex), &bad,
                               &err);
}

static int kind_of_name(const char *name, size_t len)
{
    if (len == 6 && !memcmp(name, "secret", 6))
        return SY_GUARD_SECRET;
    if (len == 4 && !memcmp(name, "none", 4))
        return -2;
    return sy_guard_kind_parse(sy_str(name, len));
}

static void run_line(sy_arena_t *a, const sy_guard_deny_t *deny, int kind, bool positive,
                     const char *text, size_t n, span_t *spans, size_t nspans, const char *where)
{
    sy_guard_findings_t f;
    sy_guard_findings_init(&f, a);
    sy_str_t t = sy_str(text, n);
    sy_guard_scan_pii(t, SY_GUARD_PII_KINDS, &f);
    sy_guard_scan_secrets(t, SY_GUARD_SECRET_ALL, &f);
    sy_guard_scan_deny(deny, t, &f);
    for (size_t i = 0; i < f.n; i++) {
        const sy_guard_finding_t *x = &f.items[i];
        CHECK(x->start < x->end && x->end <= n);
        bool matched = false;
        for (size_t s = 0; s < nspans; s++) {
            if (spans[s].kind != (int)x->kind || x->end <= spans[s].start ||
                x->start >= spans[s].end)
                continue;
            matched = true;
            if (!spans[s].hit) {
                spans[s].hit = true;
                st[x->kind].tp++;
                if (x->start == spans[s].start && x->end == spans[s].end)
                    st[x->kind].exact++;
            }
        }
        if (!matched) {
            st[x->kind].fp++;
            if (verbose)
                printf("  FP %s %s: [%.*s] in: %s\n", thresholds[x->kind].name, where,
                       (int)(x->end - x->start), text + x->start, text);
        }
    }
    for (size_t s = 0; s < nspans; s++) {
        if (!spans[s].hit) {
            st[spans[s].kind].fn++;
            if (verbose)
                printf("  FN %s %s: [%.*s] in: %s\n", thresholds[spans[s].kind].name, where,
                       (int)(spans[s].end - spans[s].start), text + spans[s].start, text);
        }
    }
    /* Injection: a score per line. */
    sy_guard_findings_t inj;
    sy_guard_findings_init(&inj, a);
    sy_guard_scan_injection(t, &inj);
    bool predicted = sy_guard_injection_score(&inj) >= 0.8f;
    bool actual = kind == SY_GUARD_INJECTION && positive;
    if (predicted && actual)
        st[SY_GUARD_INJECTION].tp++;
    else if (predicted)
        st[SY_GUARD_INJECTION].fp++;
    else if (actual)
        st[SY_GUARD_INJECTION].fn++;
    if (verbose && predicted != actual)
        printf("  %s injection %s (score %.2f): %s\n", predicted ? "FP" : "FN", where,
               (double)sy_guard_injection_score(&inj), text);
}

static void test_labelled_set(void)
{
    sy_arena_t *a = sy_arena_new(1 << 16);
    sy_arena_t *cfg = sy_arena_new(0);
    const sy_guard_deny_t *deny = test_deny(cfg);
    CHECK(deny != NULL);
    char *text = malloc(MAX_TEXT);
    char *line = malloc(MAX_TEXT);
    unsigned total = 0;
    for (size_t fi = 0; fi < SY_ARRAY_LEN(files); fi++) {
        char path[1024];
        snprintf(path, sizeof(path), "%s/tests/data/guardrails/%s", root_dir(), files[fi]);
        FILE *fp = fopen(path, "r");
        CHECK(fp != NULL);
        if (fp == NULL)
            continue;
        unsigned lineno = 0;
        st = sets[fi == HELDOUT_FILE];
        while (fgets(line, MAX_TEXT, fp)) {
            lineno++;
            size_t len = strlen(line);
            while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
                line[--len] = '\0';
            if (len == 0 || line[0] == '#')
                continue;
            char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
            if (!t1 || !t2 || t2 != t1 + 2 || (t1[1] != '+' && t1[1] != '-')) {
                fprintf(stderr, "  %s:%u: malformed line\n", files[fi], lineno);
                unit_cur_failed++;
                continue;
            }
            int kind = kind_of_name(line, (size_t)(t1 - line));
            if (kind == -1) {
                fprintf(stderr, "  %s:%u: unknown kind\n", files[fi], lineno);
                unit_cur_failed++;
                continue;
            }
            span_t spans[MAX_SPANS];
            size_t n, nspans;
            if (!parse_text(t2 + 1, kind, text, &n, spans, &nspans)) {
                fprintf(stderr, "  %s:%u: malformed markers\n", files[fi], lineno);
                unit_cur_failed++;
                continue;
            }
            bool positive = t1[1] == '+';
            size_t own = 0;
            for (size_t s = 0; s < nspans; s++)
                own += spans[s].kind == kind;
            if (kind >= 0 && kind != SY_GUARD_INJECTION && positive != (own > 0)) {
                fprintf(stderr, "  %s:%u: label and markers disagree\n", files[fi], lineno);
                unit_cur_failed++;
            }
            if (kind >= 0)
                st[kind].lines++;
            char where[128];
            snprintf(where, sizeof(where), "%s:%u", files[fi], lineno);
            run_line(a, deny, kind, positive, text, n, spans, nspans, where);
            sy_arena_reset(a);
            total++;
        }
        fclose(fp);
    }
    printf("  %u labelled lines\n", total);
    for (int set = 0; set < 2; set++) {
        for (int k = 0; k < SY_GUARD_KIND_COUNT; k++) {
            stats_t *s = &sets[set][k];
            double p = s->tp + s->fp ? (double)s->tp / (s->tp + s->fp) : 1.0;
            double r = s->tp + s->fn ? (double)s->tp / (s->tp + s->fn) : 1.0;
            printf("guard %s%s: precision %.3f recall %.3f (n=%u, tp=%u fp=%u fn=%u",
                   thresholds[k].name, set ? " (held-out)" : "", p, r, s->lines, s->tp, s->fp,
                   s->fn);
            if (k != SY_GUARD_INJECTION)
                printf(", exact spans %u", s->exact);
            printf(")\n");
            /* Thresholds hold for the development set. The held-out set is
             * small and reported for honesty; its floors only catch a
             * detector that breaks outright. */
            double pmin = set ? HELDOUT_PRECISION : thresholds[k].precision;
            double rmin = set ? HELDOUT_RECALL : thresholds[k].recall;
            if (p < pmin || r < rmin) {
                fprintf(stderr, "  %s%s below its thresholds (precision >= %.2f, recall >= %.2f)\n",
                        thresholds[k].name, set ? " (held-out)" : "", pmin, rmin);
                unit_cur_failed++;
            }
        }
    }
    free(text);
    free(line);
    sy_arena_free(cfg);
    sy_arena_free(a);
}

int main(void)
{
    const char *v = getenv("SY_GUARD_VERBOSE");
    verbose = v && *v && *v != '0';
    RUN(test_labelled_set);
    return unit_done();
}
