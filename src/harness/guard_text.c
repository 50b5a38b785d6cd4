/*
 * guard_text.c - what the guardrail detectors share: character tables, the
 * findings list, context look-back, entropy, the word tokenizer, UTF-8
 * checks, names, and redaction (rewriting text with placeholders).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness/guard_int.h"

/* Bits: 1 digit, 2 upper, 4 lower, 8 base64, 16 base64url, 32 space,
 * 64 email local-part character, 128 word (alnum, '_'), 256 token (word,
 * '-'); see guard_int.h. */
const uint16_t sy_guard_ctype[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 32, 32, 32, 32, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    32, 0, 0, 0, 0, 64, 0, 0, 0, 0, 0, 72, 0, 336, 64, 8,
    473, 473, 473, 473, 473, 473, 473, 473, 473, 473, 0, 0, 0, 0, 0, 0,
    0, 474, 474, 474, 474, 474, 474, 474, 474, 474, 474, 474, 474, 474, 474, 474,
    474, 474, 474, 474, 474, 474, 474, 474, 474, 474, 474, 0, 0, 0, 0, 464,
    0, 476, 476, 476, 476, 476, 476, 476, 476, 476, 476, 476, 476, 476, 476, 476,
    476, 476, 476, 476, 476, 476, 476, 476, 476, 476, 476, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

/* ---- names ---- */

static const struct {
    const char *name, *label, *describe;
} kinds[SY_GUARD_KIND_COUNT] = {
    [SY_GUARD_EMAIL] = {"email", "EMAIL", "an email address"},
    [SY_GUARD_PHONE] = {"phone", "PHONE", "a phone number"},
    [SY_GUARD_CARD] = {"card", "CARD", "a payment card number"},
    [SY_GUARD_IBAN] = {"iban", "IBAN", "a bank account number (IBAN)"},
    [SY_GUARD_SSN] = {"ssn", "SSN", "a US social security number"},
    [SY_GUARD_NINO] = {"nino", "NINO", "a UK national insurance number"},
    [SY_GUARD_ES_DNI] = {"es_dni", "ID_NUMBER", "a Spanish DNI/NIE number"},
    [SY_GUARD_IT_CF] = {"it_cf", "ID_NUMBER", "an Italian codice fiscale"},
    [SY_GUARD_DE_TAXID] = {"de_taxid", "TAX_ID", "a German tax identification number"},
    [SY_GUARD_FR_NIR] = {"fr_nir", "ID_NUMBER", "a French social security number (NIR)"},
    [SY_GUARD_SECRET] = {"secret", "SECRET", "a secret (API key, token or private key)"},
    [SY_GUARD_INJECTION] = {"injection", "REMOVED", "a likely prompt injection"},
    [SY_GUARD_DENY] = {"deny", "REMOVED", "a term on the deny list"},
};

const char *sy_guard_kind_name(sy_guard_kind_t k)
{
    return (unsigned)k < SY_GUARD_KIND_COUNT ? kinds[k].name : NULL;
}

const char *sy_guard_kind_label(sy_guard_kind_t k)
{
    return (unsigned)k < SY_GUARD_KIND_COUNT ? kinds[k].label : "REDACTED";
}

const char *sy_guard_kind_describe(sy_guard_kind_t k)
{
    return (unsigned)k < SY_GUARD_KIND_COUNT ? kinds[k].describe : "something";
}

int sy_guard_kind_parse(sy_str_t name)
{
    for (int k = 0; k < SY_GUARD_KIND_COUNT; k++)
        if (sy_str_ieq_c(name, kinds[k].name))
            return k;
    return -1;
}

static const char *const secret_rules[SY_GUARD_SECRET_RULE_COUNT] = {
    [SY_GUARD_SECRET_OPENAI] = "openai",
    [SY_GUARD_SECRET_ANTHROPIC] = "anthropic",
    [SY_GUARD_SECRET_AWS_KEY_ID] = "aws_access_key",
    [SY_GUARD_SECRET_AWS_SECRET] = "aws_secret_key",
    [SY_GUARD_SECRET_GITHUB] = "github",
    [SY_GUARD_SECRET_SLACK] = "slack",
    [SY_GUARD_SECRET_GOOGLE] = "google",
    [SY_GUARD_SECRET_STRIPE] = "stripe",
    [SY_GUARD_SECRET_JWT] = "jwt",
    [SY_GUARD_SECRET_PRIVATE_KEY] = "private_key",
    [SY_GUARD_SECRET_GENERIC] = "generic",
};

const char *sy_guard_secret_rule_name(unsigned rule)
{
    return rule < SY_GUARD_SECRET_RULE_COUNT ? secret_rules[rule] : NULL;
}

int sy_guard_secret_rule_parse(sy_str_t name)
{
    for (int r = 0; r < SY_GUARD_SECRET_RULE_COUNT; r++)
        if (sy_str_ieq_c(name, secret_rules[r]))
            return r;
    return -1;
}

static const char *const inj_families[SY_GUARD_INJ_FAMILY_COUNT] = {
    [SY_GUARD_INJ_OVERRIDE] = "override",   [SY_GUARD_INJ_ROLE] = "role",
    [SY_GUARD_INJ_PROMPT_LEAK] = "prompt_leak", [SY_GUARD_INJ_JAILBREAK] = "jailbreak",
    [SY_GUARD_INJ_ROLEPLAY] = "roleplay",   [SY_GUARD_INJ_DELIMITER] = "delimiter",
    [SY_GUARD_INJ_ENCODED] = "encoded",     [SY_GUARD_INJ_HIDDEN] = "hidden",
    [SY_GUARD_INJ_SMUGGLING] = "smuggling",
};

const char *sy_guard_inj_family_name(unsigned family)
{
    return family < SY_GUARD_INJ_FAMILY_COUNT ? inj_families[family] : NULL;
}

const char *sy_guard_action_name(sy_guard_action_t a)
{
    static const char *const names[] = {"off", "log", "redact", "restrict", "block"};
    return (unsigned)a < SY_ARRAY_LEN(names) ? names[a] : "off";
}

/* ---- findings ---- */

void sy_guard_findings_init(sy_guard_findings_t *f, sy_arena_t *a)
{
    memset(f, 0, sizeof(*f));
    f->arena = a;
}

void sy_guard_findings_clear(sy_guard_findings_t *f)
{
    f->n = 0;
    f->truncated = false;
}

bool sy_guard_push(sy_guard_findings_t *out, sy_guard_kind_t kind, unsigned rule, size_t start,
                   size_t end, float conf)
{
    if (out->n == out->cap) {
        if (out->cap >= SY_GUARD_MAX_FINDINGS) {
            out->truncated = true;
            return false;
        }
        size_t ncap = out->cap ? out->cap * 2 : 16;
        if (ncap > SY_GUARD_MAX_FINDINGS)
            ncap = SY_GUARD_MAX_FINDINGS;
        out->items = sy_arena_realloc(out->arena, out->items, out->cap * sizeof(*out->items),
                                      ncap * sizeof(*out->items));
        out->cap = ncap;
    }
    out->items[out->n++] = (sy_guard_finding_t){
        .start = start, .end = end, .kind = kind, .rule = (uint16_t)rule, .confidence = conf};
    if (kind == SY_GUARD_INJECTION && SY_GUARD_INJ_SIGNAL(rule) < SY_GUARD_INJ_SIGNALS &&
        conf > out->signal[SY_GUARD_INJ_SIGNAL(rule)])
        out->signal[SY_GUARD_INJ_SIGNAL(rule)] = conf;
    return true;
}

float sy_guard_injection_score(const sy_guard_findings_t *f)
{
    double keep = 1.0;
    for (unsigned i = 0; i < SY_GUARD_INJ_SIGNALS; i++)
        if (f->signal[i] > 0)
            keep *= 1.0 - (double)f->signal[i];
    double s = 1.0 - keep;
    return (float)(s < 0 ? 0 : s > 1 ? 1 : s);
}

/* ---- context ---- */

static bool in_list(const unsigned char *w, size_t len, const char *const *list)
{
    if (len == 0)
        return false;
    unsigned char first = g_lower(w[0]);
    for (; list && *list; list++) {
        if ((unsigned char)(*list)[0] != first)
            continue;
        size_t l = strlen(*list);
        bool prefix = l && (*list)[l - 1] == '*';
        if (prefix)
            l--;
        if (prefix ? len < l : len != l)
            continue;
        size_t k = 0;
        while (k < l && g_lower(w[k]) == (unsigned char)(*list)[k])
            k++;
        if (k == l)
            return true;
    }
    return false;
}

int sy_guard_context(const unsigned char *s, size_t pos, size_t max_bytes, size_t max_words,
                     const char *const *pos_words, const char *const *neg_words)
{
    size_t lo = pos > max_bytes ? pos - max_bytes : 0;
    size_t i = pos, words = 0;
    while (i > lo && words < max_words) {
        while (i > lo && !g_is_alpha(s[i - 1]))
            i--;
        if (i == lo)
            break;
        size_t e = i;
        while (i > lo && g_is_alpha(s[i - 1]))
            i--;
        if (i == lo && lo > 0 && g_is_alpha(s[lo - 1]))
            break; /* a word cut by the window: unknown */
        words++;
        if (in_list(s + i, e - i, pos_words))
            return 1;
        if (in_list(s + i, e - i, neg_words))
            return -1;
    }
    return 0;
}

double sy_guard_entropy(const unsigned char *s, size_t n)
{
    if (n == 0)
        return 0;
    unsigned counts[256] = {0};
    for (size_t i = 0; i < n; i++)
        counts[s[i]]++;
    double h = 0;
    for (int c = 0; c < 256; c++) {
        if (!counts[c])
            continue;
        double p = (double)counts[c] / (double)n;
        h -= p * log2(p);
    }
    return h;
}

/* ---- UTF-8 ---- */

size_t sy_guard_utf8_len(const unsigned char *s, size_t n, size_t i)
{
    unsigned char c = s[i];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if (n - i < len)
        return 0;
    if (s[i + 1] < lo || s[i + 1] > hi)
        return 0;
    for (size_t k = 2; k < len; k++)
        if (s[i + k] < 0x80 || s[i + k] > 0xBF)
            return 0;
    return len;
}

bool sy_guard_utf8_valid(sy_str_t str)
{
    const unsigned char *s = (const unsigned char *)str.p;
    for (size_t i = 0; i < str.len;) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        size_t l = sy_guard_utf8_len(s, str.len, i);
        if (l == 0)
            return false;
        i += l;
    }
    return true;
}

/* ---- words ---- */

size_t sy_guard_invisible_len(const unsigned char *s, size_t n, size_t i)
{
    unsigned char c = s[i];
    if (c < 0xC2)
        return 0;
    size_t r = n - i;
    if (c == 0xC2 && r >= 2 && s[i + 1] == 0xAD)
        return 2; /* soft hyphen */
    if (c == 0xE2 && r >= 3 && s[i + 1] == 0x80 && s[i + 2] >= 0x8B && s[i + 2] <= 0x8D)
        return 3; /* ZWSP, ZWNJ, ZWJ */
    if (c == 0xE2 && r >= 3 && s[i + 1] == 0x81 && s[i + 2] >= 0xA0 && s[i + 2] <= 0xA4)
        return 3; /* word joiner, invisible operators */
    if (c == 0xEF && r >= 3 && s[i + 1] == 0xBB && s[i + 2] == 0xBF)
        return 3; /* BOM / ZWNBSP */
    if (c == 0xE1 && r >= 3 && s[i + 1] == 0xA0 && s[i + 2] == 0x8E)
        return 3; /* Mongolian vowel separator */
    if (c == 0xF3 && r >= 4 && s[i + 1] == 0xA0 && (s[i + 2] == 0x80 || s[i + 2] == 0x81) &&
        s[i + 3] >= 0x80 && s[i + 3] <= 0xBF)
        return 4; /* tag characters U+E0000..E007F */
    return 0;
}

/* Non-ASCII characters that separate words: spaces, dashes, quotes,
 * punctuation, bidi controls. Everything else well-formed is a letter. */
static bool utf8_separator(const unsigned char *s, size_t i, size_t l)
{
    if (l == 2)
        return s[i] == 0xC2 && (s[i + 1] == 0xA0 || s[i + 1] == 0xAB || s[i + 1] == 0xBB ||
                                 s[i + 1] == 0xA7 || s[i + 1] == 0xB6 || s[i + 1] == 0xB7);
    if (l == 3 && s[i] == 0xE2 && s[i + 1] == 0x80)
        return (s[i + 2] >= 0x80 && s[i + 2] <= 0x8A) || (s[i + 2] >= 0x8E && s[i + 2] <= 0xBF);
    if (l == 3 && s[i] == 0xE2 && s[i + 1] == 0x81)
        return s[i + 2] <= 0x9F || s[i + 2] >= 0xA6;
    if (l == 3 && s[i] == 0xE3 && s[i + 1] == 0x80)
        return s[i + 2] <= 0x83;
    if (l == 3 && s[i] == 0xEF && s[i + 1] == 0xBC)
        return s[i + 2] <= 0x8F;
    return false;
}

#define FNV_BASIS 14695981039346656037ull
#define FNV_PRIME 1099511628211ull

/* Bytes of the word character at s[i] (0: not one). */
static size_t word_char(const unsigned char *s, size_t n, size_t i)
{
    unsigned char c = s[i];
    if (c < 0x80)
        return (g_is_alnum(c) || c == '_') ? 1 : 0;
    size_t l = sy_guard_utf8_len(s, n, i);
    if (l == 0 || utf8_separator(s, i, l) || sy_guard_invisible_len(s, n, i))
        return 0;
    return l;
}

static size_t apostrophe(const unsigned char *s, size_t n, size_t i)
{
    if (s[i] == '\'')
        return 1;
    if (s[i] == 0xE2 && n - i >= 3 && s[i + 1] == 0x80 && s[i + 2] == 0x99)
        return 3;
    return 0;
}

/* ASCII word characters lowercased; 0 for everything else (and for every
 * byte >= 0x80, which takes the slow path). */
static const unsigned char word_lc[256] = {
    ['0'] = '0', ['1'] = '1', ['2'] = '2', ['3'] = '3', ['4'] = '4', ['5'] = '5', ['6'] = '6',
    ['7'] = '7', ['8'] = '8', ['9'] = '9', ['_'] = '_',
    ['a'] = 'a', ['b'] = 'b', ['c'] = 'c', ['d'] = 'd', ['e'] = 'e', ['f'] = 'f', ['g'] = 'g',
    ['h'] = 'h', ['i'] = 'i', ['j'] = 'j', ['k'] = 'k', ['l'] = 'l', ['m'] = 'm', ['n'] = 'n',
    ['o'] = 'o', ['p'] = 'p', ['q'] = 'q', ['r'] = 'r', ['s'] = 's', ['t'] = 't', ['u'] = 'u',
    ['v'] = 'v', ['w'] = 'w', ['x'] = 'x', ['y'] = 'y', ['z'] = 'z',
    ['A'] = 'a', ['B'] = 'b', ['C'] = 'c', ['D'] = 'd', ['E'] = 'e', ['F'] = 'f', ['G'] = 'g',
    ['H'] = 'h', ['I'] = 'i', ['J'] = 'j', ['K'] = 'k', ['L'] = 'l', ['M'] = 'm', ['N'] = 'n',
    ['O'] = 'o', ['P'] = 'p', ['Q'] = 'q', ['R'] = 'r', ['S'] = 's', ['T'] = 't', ['U'] = 'u',
    ['V'] = 'v', ['W'] = 'w', ['X'] = 'x', ['Y'] = 'y', ['Z'] = 'z',
};

bool sy_guard_next_word(const unsigned char *s, size_t n, size_t *pos, sy_guard_word_t *w)
{
    size_t i = *pos;
    for (;;) {
        while (i < n && s[i] < 0x80 && !word_lc[s[i]])
            i++;
        if (i >= n) {
            *pos = n;
            return false;
        }
        if (s[i] < 0x80 || word_char(s, n, i))
            break;
        size_t l = sy_guard_utf8_len(s, n, i);
        i += l ? l : 1;
    }
    uint64_t h = FNV_BASIS;
    size_t start = i, end = i, len = 0;
    for (;;) {
        size_t run = i;
        while (i < n && word_lc[s[i]]) {
            h = (h ^ word_lc[s[i]]) * FNV_PRIME;
            i++;
        }
        len += i - run;
        if (i > run)
            end = i;
        if (i >= n)
            break;
        size_t l = s[i] >= 0x80 ? word_char(s, n, i) : 0;
        if (l) {
            for (size_t k = 0; k < l; k++)
                h = (h ^ s[i + k]) * FNV_PRIME;
            len += l;
            i += l;
            end = i;
            continue;
        }
        size_t a = apostrophe(s, n, i);
        if (a && i + a < n && (word_lc[s[i + a]] || word_char(s, n, i + a))) {
            h = (h ^ '\'') * FNV_PRIME;
            len++;
            i += a;
            continue;
        }
        size_t inv = s[i] >= 0x80 ? sy_guard_invisible_len(s, n, i) : 0;
        if (inv) {
            i += inv;
            continue;
        }
        break;
    }
    w->start = start;
    w->end = end;
    w->hash = h;
    w->len = len;
    *pos = i;
    return true;
}

size_t sy_guard_tokenize(sy_arena_t *a, const unsigned char *s, size_t n, sy_guard_word_t **out)
{
    /* A word takes at least two bytes with its separator: n / 2 + 1 bounds
     * the count, but grow instead of reserving that much up front. */
    size_t cap = n / 6 + 16, cnt = 0, pos = 0;
    sy_guard_word_t *arr = sy_arena_alloc(a, cap * sizeof(*arr));
    sy_guard_word_t w;
    while (sy_guard_next_word(s, n, &pos, &w)) {
        if (cnt == cap) {
            arr = sy_arena_realloc(a, arr, cap * sizeof(*arr), cap * 2 * sizeof(*arr));
            cap *= 2;
        }
        arr[cnt++] = w;
    }
    *out = arr;
    return cnt;
}

uint64_t sy_guard_word_hash(const char *w, size_t len)
{
    uint64_t h = FNV_BASIS;
    for (size_t k = 0; k < len; k++)
        h = (h ^ g_lower((unsigned char)w[k])) * FNV_PRIME;
    return h;
}

/* ---- redaction ---- */

typedef struct {
    size_t start, end;
    sy_guard_kind_t kind;
} span_t;

static int span_cmp(const void *pa, const void *pb)
{
    const span_t *a = pa, *b = pb;
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    return a->end > b->end ? -1 : (a->end < b->end ? 1 : 0);
}

/* Copy s[from, to) into out, replacing ill-formed UTF-8 with U+FFFD. */
static char *copy_utf8(char *o, const unsigned char *s, size_t n, size_t from, size_t to)
{
    for (size_t i = from; i < to;) {
        if (s[i] < 0x80) {
            *o++ = (char)s[i++];
            continue;
        }
        size_t l = sy_guard_utf8_len(s, n, i);
        if (l == 0 || i + l > to) {
            memcpy(o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
            continue;
        }
        memcpy(o, s + i, l);
        o += l;
        i += l;
    }
    return o;
}

sy_str_t sy_guard_redact(sy_arena_t *a, sy_str_t text, const sy_guard_finding_t *f, size_t n,
                         const bool redact[SY_GUARD_KIND_COUNT], size_t *nout)
{
    const unsigned char *s = (const unsigned char *)text.p;
    size_t m = 0;
    span_t *spans = n ? sy_arena_alloc(a, n * sizeof(*spans)) : NULL;
    for (size_t i = 0; i < n; i++) {
        if ((unsigned)f[i].kind >= SY_GUARD_KIND_COUNT || !redact[f[i].kind])
            continue;
        size_t st = SY_MIN(f[i].start, text.len), en = SY_MIN(f[i].end, text.len);
        if (en <= st)
            continue;
        spans[m++] = (span_t){st, en, f[i].kind};
    }
    if (m > 1)
        qsort(spans, m, sizeof(*spans), span_cmp);
    /* Worst case: every byte becomes U+FFFD, plus a label per span. */
    char *buf = sy_arena_alloc(a, text.len * 3 + m * 20 + 1);
    char *o = buf;
    size_t at = 0, replaced = 0;
    for (size_t i = 0; i < m;) {
        size_t st = spans[i].start, en = spans[i].end;
        sy_guard_kind_t k = spans[i].kind;
        for (i++; i < m && spans[i].start < en; i++)
            en = SY_MAX(en, spans[i].end);
        if (st < at)
            st = at;
        o = copy_utf8(o, s, text.len, at, st);
        const char *label = sy_guard_kind_label(k);
        *o++ = '[';
        size_t ll = strlen(label);
        memcpy(o, label, ll);
        o += ll;
        *o++ = ']';
        at = en;
        replaced++;
    }
    o = copy_utf8(o, s, text.len, at, text.len);
    *o = '\0';
    if (nout)
        *nout = replaced;
    return sy_str(buf, (size_t)(o - buf));
}
