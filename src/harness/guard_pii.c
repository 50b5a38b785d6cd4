/*
 * guard_pii.c - personal data detectors: email addresses, phone numbers,
 * payment cards, IBANs and national identifiers (US SSN, UK NINO, Spanish
 * DNI/NIE, Italian codice fiscale, German Steuer-ID, French NIR).
 *
 * One pass over the text. Emails are anchored at '@' (memchr), everything
 * else at the start of a word: a digit, '+' or '(' starts a "number token"
 * (digit groups joined by at most three separator characters, capped at 24
 * digits and 48 bytes) that is then tried as a card, SSN, NIR, Steuer-ID,
 * DNI and phone in that order; a letter starts the IBAN, NINO, codice
 * fiscale and NIE shapes. Every look-ahead and look-back is bounded by a
 * constant, and a match skips past itself, so the scan is linear.
 *
 * Checksums do most of the work against false positives (Luhn, mod-97,
 * ISO 7064, the DNI letter, the codice fiscale character); phone numbers have
 * none, so they need a telling shape (a leading '+', the North American
 * 3-3-4 pattern, a national trunk '0' with grouping) or a context word
 * ("call", "phone", "tel" ...) close before them, and a negative context
 * word ("order", "invoice", "#" ...) rules a bare number out.
 */
#include <string.h>

#include "harness/guard_int.h"

#define KBIT(k) SY_GUARD_KIND_BIT(k)

/* ------------------------------------------------------------------------ */
/* Email                                                                    */
/* ------------------------------------------------------------------------ */

#define EMAIL_MAX_LOCAL  64
#define EMAIL_MAX_DOMAIN 253

/* Top-level "domains" that are really file extensions (icon@2x.png). */
static const char *const not_tlds[] = {"png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico",
                                       "tif", "tiff", "css", "js", "json", "txt", "html", "htm",
                                       "lock", "yaml", "yml", "toml", "ts", "tsx", "jsx", "mjs",
                                       "cjs", "map", "log", "git", "exe", "dll", "gz", "tgz",
                                       "zip", "h", "c", "o", "so", "py", NULL};

static bool tld_is_file_ext(const unsigned char *s, size_t len)
{
    for (const char *const *t = not_tlds; *t; t++) {
        size_t l = strlen(*t);
        if (l != len)
            continue;
        size_t k = 0;
        while (k < l && g_lower(s[k]) == (unsigned char)(*t)[k])
            k++;
        if (k == l)
            return true;
    }
    return false;
}

/* An email around the @ at `at`; sets *st and *en. `floor`: no local part may
 * start before it (the end of the previous email). */
static bool email_at(const unsigned char *s, size_t n, size_t at, size_t floor, size_t *st,
                     size_t *en)
{
    size_t l = at;
    size_t lo = at > EMAIL_MAX_LOCAL ? at - EMAIL_MAX_LOCAL : 0;
    if (lo < floor)
        lo = floor;
    while (l > lo && G_IS(s[l - 1], G_EMAIL_LOCAL))
        l--;
    if (l > 0 && l == lo && lo != floor && G_IS(s[l - 1], G_EMAIL_LOCAL))
        return false; /* local part longer than the limit */
    while (l < at && (s[l] == '.' || s[l] == '-' || s[l] == '+'))
        l++; /* a local part does not start with punctuation */
    if (l == at || s[at - 1] == '.')
        return false;
    for (size_t k = l; k + 1 < at; k++)
        if (s[k] == '.' && s[k + 1] == '.')
            return false;
    /* Domain: labels of letters, digits and inner hyphens, dot-separated. */
    size_t d = at + 1, end = d, labels = 0, last_label = d, last_len = 0;
    size_t lim = SY_MIN(n, at + 1 + EMAIL_MAX_DOMAIN);
    while (d < lim) {
        size_t ls = d;
        while (d < lim && (g_is_alnum(s[d]) || s[d] == '-'))
            d++;
        size_t len = d - ls;
        if (len == 0 || len > 63 || s[ls] == '-' || s[d - 1] == '-')
            break;
        labels++;
        last_label = ls;
        last_len = len;
        end = d;
        if (d + 1 < lim && s[d] == '.' && g_is_alnum(s[d + 1]))
            d++;
        else
            break;
    }
    if (labels < 2 || last_len < 2 || last_len > 24)
        return false;
    if (end < n && (s[end] == '@' || s[end] == '_' || g_is_alnum(s[end]) || s[end] == '-'))
        return false;
    /* The top-level domain is letters (or an xn-- IDN label). */
    bool idn = last_len > 4 && G_LIT(s, n, last_label, "xn--");
    for (size_t k = last_label; k < end && !idn; k++)
        if (!g_is_alpha(s[k]))
            return false;
    if (tld_is_file_ext(s + last_label, last_len))
        return false;
    /* git@github.com:org/repo.git is an SSH remote, not a mailbox. */
    if (end + 1 < n && s[end] == ':' && (g_is_alnum(s[end + 1]) || s[end + 1] == '/'))
        return false;
    *st = l;
    *en = end;
    return true;
}

static void scan_emails(const unsigned char *s, size_t n, sy_guard_findings_t *out)
{
    size_t floor = 0;
    const unsigned char *p = s;
    while ((p = memchr(p, '@', n - (size_t)(p - s))) != NULL) {
        size_t at = (size_t)(p - s), st, en;
        if (at >= floor && email_at(s, n, at, floor, &st, &en)) {
            if (!sy_guard_push(out, SY_GUARD_EMAIL, 0, st, en, 0.95f))
                return;
            floor = en;
            p = s + en;
        } else {
            p++;
        }
        if ((size_t)(p - s) >= n)
            break;
    }
}

/* ------------------------------------------------------------------------ */
/* Number tokens                                                            */
/* ------------------------------------------------------------------------ */

#define NT_MAX_DIGITS 24
#define NT_MAX_GROUPS 12
#define NT_MAX_BYTES  48
#define RETRIES       3 /* starts tried inside a number token that matched nothing */

typedef struct {
    size_t start, end; /* from '+', '(' or the first digit to after the last digit */
    unsigned char d[NT_MAX_DIGITS];
    unsigned nd, ng;
    unsigned g[NT_MAX_GROUPS]; /* digit-group lengths */
    bool plus, paren;
    unsigned n_space, n_dash, n_dot, n_slash, n_sepchars;
    bool seps_single; /* every separator is one character */
} numtok_t;

static bool is_sep(unsigned char c)
{
    return c == ' ' || c == '-' || c == '.' || c == '/' || c == '(' || c == ')';
}

/* Read a number token starting at s[i] (a digit, '+' or '('). */
static bool numtok_read(const unsigned char *s, size_t n, size_t i, numtok_t *t)
{
    t->start = i;
    t->nd = t->ng = 0;
    t->plus = t->paren = false;
    t->n_space = t->n_dash = t->n_dot = t->n_slash = t->n_sepchars = 0;
    t->seps_single = true;
    size_t j = i;
    bool open = false;
    if (s[j] == '+') {
        t->plus = true;
        j++;
    } else if (s[j] == '(') {
        /* "(555) 123-4567": an area code in parentheses; otherwise the
         * parenthesis only opens a clause and the token starts after it. */
        size_t k = j + 1;
        while (k < n && k - j <= 5 && g_is_digit(s[k]))
            k++;
        if (k < n && s[k] == ')' && k - j >= 2 && k - j <= 5)
            t->paren = open = true;
        else
            t->start = j + 1;
        j++;
    }
    if (j >= n || !g_is_digit(s[j]))
        return false;
    for (;;) {
        unsigned glen = 0;
        while (j < n && g_is_digit(s[j])) {
            if (t->nd == NT_MAX_DIGITS)
                return false;
            t->d[t->nd++] = s[j++];
            glen++;
        }
        if (t->ng == NT_MAX_GROUPS)
            return false;
        t->g[t->ng++] = glen;
        t->end = j;
        /* A separator run: up to three of " -./()" with balanced parens,
         * then a digit. */
        size_t k = j;
        unsigned sp = 0, da = 0, dot = 0, sl = 0, op = 0, cl = 0;
        while (k < n && k - j < 3 && is_sep(s[k])) {
            switch (s[k]) {
            case ' ': sp++; break;
            case '-': da++; break;
            case '.': dot++; break;
            case '/': sl++; break;
            case '(': op++; break;
            default: cl++; break;
            }
            k++;
        }
        if (k == j || k >= n || !g_is_digit(s[k]))
            break;
        if (op > 1 || cl > 1 || (op && open) || (cl && !open) || dot + sl > 1 || da > 1 ||
            sp > 2)
            break;
        if (cl)
            open = false;
        if (op)
            open = true;
        if (k - t->start > NT_MAX_BYTES)
            break;
        t->n_space += sp;
        t->n_dash += da;
        t->n_dot += dot;
        t->n_slash += sl;
        t->n_sepchars += (unsigned)(k - j);
        if (k - j != 1)
            t->seps_single = false;
        j = k;
    }
    if (open && t->end < n && s[t->end] == ')')
        return false; /* "(1234)": a parenthesised number, not a phone */
    return true;
}

static bool luhn(const unsigned char *d, unsigned n)
{
    unsigned sum = 0;
    for (unsigned i = 0; i < n; i++) {
        unsigned v = (unsigned)(d[n - 1 - i] - '0');
        if (i & 1) {
            v *= 2;
            if (v > 9)
                v -= 9;
        }
        sum += v;
    }
    return sum % 10 == 0;
}

static unsigned prefix(const unsigned char *d, unsigned k)
{
    unsigned v = 0;
    for (unsigned i = 0; i < k; i++)
        v = v * 10 + (unsigned)(d[i] - '0');
    return v;
}

/* Issuer identification: the major schemes' prefixes and lengths. */
static bool iin_ok(const unsigned char *d, unsigned n)
{
    unsigned p1 = prefix(d, 1), p2 = prefix(d, 2), p3 = prefix(d, 3), p4 = prefix(d, 4),
             p6 = prefix(d, 6);
    if (p1 == 4) /* Visa */
        return n == 13 || n == 16 || n == 19;
    if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) /* Mastercard */
        return n == 16;
    if (p2 == 34 || p2 == 37) /* American Express */
        return n == 15;
    if (p4 >= 2200 && p4 <= 2204) /* Mir */
        return n >= 16;
    if (p4 == 6011 || (p3 >= 644 && p3 <= 649) || p2 == 65 || (p6 >= 622126 && p6 <= 622925))
        return n >= 16; /* Discover */
    if (p2 == 62) /* UnionPay */
        return n >= 16;
    if (p4 >= 3528 && p4 <= 3589) /* JCB */
        return n >= 16;
    if ((p3 >= 300 && p3 <= 305) || p4 == 3095 || p2 == 36 || p2 == 38 || p2 == 39)
        return n >= 14; /* Diners Club */
    if (p4 == 5018 || p4 == 5020 || p4 == 5038 || p4 == 5893 || p4 == 6304 || p4 == 6759 ||
        (p4 >= 6761 && p4 <= 6763)) /* Maestro */
        return n >= 13;
    return false;
}

static float card_check(const numtok_t *t)
{
    if (t->plus || t->paren || t->n_dot || t->n_slash || t->nd < 13 || t->nd > 19)
        return 0;
    if (t->ng > 1) {
        if ((t->n_space && t->n_dash) || !t->seps_single)
            return 0;
        bool fours = true;
        for (unsigned k = 0; k + 1 < t->ng; k++)
            fours = fours && t->g[k] == 4;
        bool amex = t->ng == 3 && t->g[0] == 4 && t->g[1] == 6 && (t->g[2] == 5 || t->g[2] == 4);
        if (!(fours && t->g[t->ng - 1] <= 4) && !amex)
            return 0;
    }
    if (!iin_ok(t->d, t->nd) || !luhn(t->d, t->nd))
        return 0;
    return t->ng > 1 ? 0.95f : 0.9f;
}

/* ---- US SSN ---- */

static const char *const ssn_ctx[] = {"ssn", "ssns", "social", "security", "ss", "taxpayer",
                                      "itin", NULL};

static float ssn_check(const unsigned char *s, const numtok_t *t)
{
    if (t->nd != 9 || t->plus || t->paren)
        return 0;
    float conf;
    if (t->ng == 3 && t->g[0] == 3 && t->g[1] == 2 && t->g[2] == 4 && t->seps_single &&
        (t->n_dash == 2 || t->n_space == 2))
        conf = sy_guard_context(s, t->start, 40, 5, ssn_ctx, NULL) > 0 ? 0.95f : 0.85f;
    else if (t->ng == 1 && sy_guard_context(s, t->start, 40, 5, ssn_ctx, NULL) > 0)
        conf = 0.8f;
    else
        return 0;
    unsigned area = prefix(t->d, 3), group = prefix(t->d + 3, 2), serial = prefix(t->d + 5, 4);
    if (area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0)
        return 0;
    /* Numbers the SSA voided after they were printed in advertising. */
    unsigned all = prefix(t->d, 9);
    if (all == 78051120 || all == 219099999 || all == 457555462)
        return 0;
    return conf;
}

/* ---- French NIR: sex, year, month, department, commune, order, key ---- */

static float nir_check(const numtok_t *t)
{
    if (t->nd != 15 || t->plus || t->paren || t->n_slash)
        return 0;
    unsigned char sex = t->d[0];
    if (!(sex == '1' || sex == '2' || sex == '3' || sex == '4' || sex == '7' || sex == '8'))
        return 0;
    unsigned month = prefix(t->d + 3, 2), dept = prefix(t->d + 5, 2);
    bool month_ok = (month >= 1 && month <= 12) || month == 20 || (month >= 30 && month <= 42) ||
                    month >= 50;
    if (!month_ok || dept == 0 || dept == 96)
        return 0;
    uint64_t body = 0;
    for (unsigned k = 0; k < 13; k++)
        body = body * 10 + (uint64_t)(t->d[k] - '0');
    unsigned key = prefix(t->d + 13, 2);
    if (key != 97 - (unsigned)(body % 97))
        return 0;
    return 0.9f;
}

/* ---- German Steuer-ID (IdNr): 11 digits, ISO 7064 MOD 11,10 ---- */

static const char *const de_ctx[] = {"steuer*", "idnr", "identifikationsnummer", "tin", "tax",
                                     "steueridentifikationsnummer", NULL};

static float de_taxid_check(const unsigned char *s, const numtok_t *t, bool suffix)
{
    if (t->nd != 11 || t->plus || t->paren || t->n_slash || t->d[0] == '0')
        return 0;
    unsigned counts[10] = {0};
    for (unsigned k = 0; k < 10; k++)
        counts[t->d[k] - '0']++;
    unsigned repeated = 0, missing = 0;
    for (unsigned k = 0; k < 10; k++) {
        if (counts[k] == 0)
            missing++;
        else if (counts[k] == 2 || counts[k] == 3)
            repeated++;
        else if (counts[k] > 3)
            return 0;
    }
    if (repeated != 1 || (missing != 1 && missing != 2))
        return 0;
    for (unsigned k = 0; k + 2 < 10; k++)
        if (t->d[k] == t->d[k + 1] && t->d[k] == t->d[k + 2])
            return 0;
    unsigned product = 10;
    for (unsigned k = 0; k < 10; k++) {
        unsigned sum = ((unsigned)(t->d[k] - '0') + product) % 10;
        if (sum == 0)
            sum = 10;
        product = (sum * 2) % 11;
    }
    unsigned check = 11 - product;
    if (check == 10)
        check = 0;
    if (check != (unsigned)(t->d[10] - '0'))
        return 0;
    if (sy_guard_context(s, t->start, 48, 5, de_ctx, NULL) > 0)
        return 0.9f;
    if (suffix)
        return 0;
    return t->ng == 4 && t->g[0] == 2 ? 0.8f : 0.7f;
}

/* ---- Spanish DNI: 8 digits and the check letter ---- */

static const char dni_letters[] = "TRWAGMYFPDXBNJZSQVHLCKE";

/* After a DNI's digits at `end`: optional '-' or ' ', then the letter. */
static size_t dni_letter(const unsigned char *s, size_t n, size_t end, unsigned value)
{
    size_t k = end;
    if (k < n && (s[k] == '-' || s[k] == ' '))
        k++;
    if (k >= n || !g_is_upper(s[k]))
        return 0;
    if (k + 1 < n && (g_is_alnum(s[k + 1]) || s[k + 1] == '_'))
        return 0;
    return s[k] == (unsigned char)dni_letters[value % 23] ? k + 1 : 0;
}

static const char *const dni_neg[] = {"part", "parts", "order", "sku", "item", "ref",
                                      "reference", "serial", "model", "product", "article",
                                      "art", "invoice", "ticket", "batch", "lot", NULL};

static size_t dni_check(const unsigned char *s, size_t n, const numtok_t *t)
{
    if (t->nd != 8 || t->plus || t->paren)
        return 0;
    if (sy_guard_context(s, t->start, 24, 2, NULL, dni_neg) < 0)
        return 0; /* a product or order code that happens to end in a letter */
    bool dotted = t->ng == 3 && t->g[0] == 2 && t->g[1] == 3 && t->g[2] == 3 && t->n_dot == 2;
    if (t->ng != 1 && !dotted)
        return 0;
    return dni_letter(s, n, t->end, prefix(t->d, 8));
}

/* ---- Phone numbers ---- */

static const char *const phone_pos[] = {
    "phone", "phones", "tel", "telephone", "mobile", "mob", "cell", "cellphone", "call",
    "calls", "called", "calling", "fax", "whatsapp", "sms", "text", "txt", "dial", "contact",
    "reach", "landline", "ring", "telefon", "telefono", "handy", "portable", "hotline",
    "helpline", "signal", "viber", "telegram", NULL};
static const char *const phone_neg[] = {
    "order", "orders", "invoice", "ticket", "ref", "reference", "tracking", "account", "acct",
    "id", "isbn", "serial", "version", "build", "sku", "po", "transaction", "txn",
    "confirmation", "booking", "case", "item", "part", "model", "patent", "issue", "pr", "pin",
    "otp", "code", "zip", "postcode", "routing", "swift", "amount", "total", "price",
    "balance", "record", "row", "page", "room", "flight", "policy", "claim", "member",
    "customer", "employee", "student", "badge", "license", "licence", "passport", "vin", "lot",
    "batch", "receipt", "bill", "cheque", "sequence", "timestamp", "epoch", "hash", "commit",
    "port", "pid", "uid", "checksum", "parcel", "shipment", "package", "rma", "ean", "upc",
    "gtin", "nr", "ssn", "social", "security", "iban", "bic", "sort", "dni", "nif", "nie",
    NULL};

static bool date_like(const numtok_t *t)
{
    if (t->ng != 3 && t->ng != 4)
        return false;
    unsigned a = prefix(t->d, t->g[0]), b = prefix(t->d + t->g[0], t->g[1]);
    unsigned c = prefix(t->d + t->g[0] + t->g[1], t->g[2]);
    bool ymd = t->g[0] == 4 && t->g[1] <= 2 && t->g[2] <= 2 && a >= 1800 && a <= 2199 &&
               b >= 1 && b <= 12 && c >= 1 && c <= 31;
    bool dmy = t->g[0] <= 2 && t->g[1] <= 2 && (t->g[2] == 2 || t->g[2] == 4) && a >= 1 &&
               b >= 1 && a <= 31 && b <= 31 && (a <= 12 || b <= 12);
    if (!(ymd || dmy))
        return false;
    return t->ng == 3 || t->g[3] <= 2; /* a fourth group: an hour */
}

static bool nanp(const numtok_t *t)
{
    unsigned o = 0;
    if (t->ng == 4 && t->d[0] == '1' && t->g[0] == 1)
        o = 1;
    else if (t->ng != 3)
        return false;
    if (t->g[o] != 3 || t->g[o + 1] != 3 || t->g[o + 2] != 4)
        return false;
    return t->d[o] >= '2' && t->d[o + 3] >= '2';
}

/* `suffix`: the token follows another number and a space, so it may be the
 * tail of a longer number that was not a phone: only telling shapes count. */
static float phone_check(const unsigned char *s, const numtok_t *t, bool suffix)
{
    if (t->n_slash || t->nd < 7 || t->nd > 15)
        return 0;
    int ctx = sy_guard_context(s, t->start, 40, 4, phone_pos, phone_neg);
    size_t b = t->start;
    while (b > 0 && b + 2 > t->start && s[b - 1] == ' ')
        b--;
    if (b > 0 && (s[b - 1] == '#' || s[b - 1] == '$' || s[b - 1] == '='))
        ctx = -1;
    if (t->plus) {
        if (t->nd < 8 || t->nd > 15 || t->d[0] == '0')
            return 0;
        return ctx < 0 ? 0.6f : 0.9f;
    }
    if (ctx < 0 || date_like(t))
        return 0;
    bool grouped = t->ng > 1;
    if (nanp(t))
        return ctx > 0 ? 0.9f : 0.75f;
    if (t->ng == 3 && t->g[0] == 3 && t->g[1] == 2 && t->g[2] == 4)
        return 0; /* the SSN shape is not a phone format */
    if (!grouped && ctx > 0 && t->nd == 10 && t->d[0] >= '2' && t->d[3] >= '2')
        return 0.8f;
    if (!grouped && ctx > 0 && t->nd == 11 && t->d[0] == '1' && t->d[1] >= '2')
        return 0.8f;
    if (suffix && ctx <= 0)
        return 0;
    if (t->d[0] == '0' && t->d[1] == '0' && t->nd >= 10 && t->nd <= 15 && grouped)
        return ctx > 0 ? 0.85f : 0.7f;
    if (t->d[0] == '0' && t->d[1] != '0' && t->nd >= 9 && t->nd <= 12) {
        bool groups_ok = grouped && !t->n_dot;
        for (unsigned k = 0; k < t->ng && groups_ok; k++)
            groups_ok = t->g[k] >= 2;
        if (grouped && t->n_dot == t->ng - 1 && t->nd == 10) /* 06.12.34.56.78 */
            groups_ok = true;
        if (groups_ok)
            return ctx > 0 ? 0.9f : 0.7f;
        if (!grouped && ctx > 0)
            return 0.8f;
    }
    if (ctx > 0 && t->nd >= 7 && t->nd <= 12)
        return 0.6f;
    return 0;
}

/* Try every numeric kind on the token at s[i]; returns the end of what was
 * found, or 0. */
static size_t numeric_at(const unsigned char *s, size_t n, size_t i, uint32_t kinds,
                         sy_guard_findings_t *out, size_t *tok_end)
{
    numtok_t t;
    t.end = i + 1;
    bool ok = numtok_read(s, n, i, &t);
    *tok_end = t.end;
    if (!ok)
        return 0;
    /* Continuation of a larger number ("1.234.567", "2024-01-15"). */
    if (i >= 2 && (s[i - 1] == '.' || s[i - 1] == ',' || s[i - 1] == '-' || s[i - 1] == '/') &&
        g_is_digit(s[i - 2]))
        return 0;
    if (i >= 1 && (s[i - 1] == '@' || s[i - 1] == '_'))
        return 0;
    bool suffix = i >= 2 && s[i - 1] == ' ' && g_is_digit(s[i - 2]);
    if ((kinds & KBIT(SY_GUARD_ES_DNI))) {
        size_t e = dni_check(s, n, &t);
        if (e) {
            sy_guard_push(out, SY_GUARD_ES_DNI, 0, t.start, e, 0.9f);
            return e;
        }
    }
    size_t e = t.end;
    if (e < n) {
        unsigned char c = s[e];
        if (g_is_alnum(c) || c == '_' || c == '@')
            return 0;
        if ((c == '.' || c == ',' || c == '-' || c == '/' || c == ':') && e + 1 < n &&
            g_is_digit(s[e + 1]))
            return 0;
    }
    float conf;
    if ((kinds & KBIT(SY_GUARD_CARD)) && (conf = card_check(&t)) > 0)
        return sy_guard_push(out, SY_GUARD_CARD, 0, t.start, e, conf), e;
    if ((kinds & KBIT(SY_GUARD_SSN)) && (conf = ssn_check(s, &t)) > 0)
        return sy_guard_push(out, SY_GUARD_SSN, 0, t.start, e, conf), e;
    if ((kinds & KBIT(SY_GUARD_FR_NIR)) && (conf = nir_check(&t)) > 0)
        return sy_guard_push(out, SY_GUARD_FR_NIR, 0, t.start, e, conf), e;
    if ((kinds & KBIT(SY_GUARD_DE_TAXID)) && (conf = de_taxid_check(s, &t, suffix)) > 0)
        return sy_guard_push(out, SY_GUARD_DE_TAXID, 0, t.start, e, conf), e;
    if ((kinds & KBIT(SY_GUARD_PHONE)) && (conf = phone_check(s, &t, suffix)) > 0)
        return sy_guard_push(out, SY_GUARD_PHONE, 0, t.start, e, conf), e;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Shapes that start with a letter                                          */
/* ------------------------------------------------------------------------ */

/* IBAN lengths by country (ISO 13616 registry): every SEPA country and the
 * other registered countries commonly seen. */
static const struct {
    char cc[3];
    uint8_t len;
} iban_lengths[] = {
    {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16},
    {"BG", 22}, {"BH", 22}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22}, {"CY", 28},
    {"CZ", 24}, {"DE", 22}, {"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24},
    {"FI", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22}, {"GE", 22}, {"GI", 23}, {"GL", 18},
    {"GR", 27}, {"GT", 28}, {"HR", 21}, {"HU", 28}, {"IE", 22}, {"IL", 23}, {"IQ", 23},
    {"IS", 26}, {"IT", 27}, {"JO", 30}, {"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LC", 32},
    {"LI", 21}, {"LT", 20}, {"LU", 20}, {"LV", 21}, {"MC", 27}, {"MD", 24}, {"ME", 22},
    {"MK", 19}, {"MR", 27}, {"MT", 31}, {"MU", 30}, {"NL", 18}, {"NO", 15}, {"PK", 24},
    {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"SA", 24},
    {"SC", 31}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"ST", 25}, {"SV", 28},
    {"TL", 23}, {"TN", 24}, {"TR", 26}, {"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20},
};

static unsigned iban_length(unsigned char a, unsigned char b)
{
    for (size_t k = 0; k < SY_ARRAY_LEN(iban_lengths); k++)
        if ((unsigned char)iban_lengths[k].cc[0] == a && (unsigned char)iban_lengths[k].cc[1] == b)
            return iban_lengths[k].len;
    return 0;
}

static size_t iban_at(const unsigned char *s, size_t n, size_t i)
{
    if (n - i < 15 || !g_is_alpha(s[i + 1]) || !g_is_digit(s[i + 2]) || !g_is_digit(s[i + 3]))
        return 0;
    unsigned len = iban_length(g_upper(s[i]), g_upper(s[i + 1]));
    if (len == 0)
        return 0;
    unsigned char v[34];
    unsigned cnt = 0, grp = 0;
    size_t j = i;
    while (cnt < len && j < n) {
        if (g_is_alnum(s[j])) {
            v[cnt++] = g_upper(s[j++]);
            grp++;
        } else if (s[j] == ' ' && grp == 4 && j + 1 < n && g_is_alnum(s[j + 1])) {
            j++;
            grp = 0;
        } else {
            break;
        }
    }
    if (cnt != len || (j < n && (g_is_alnum(s[j]) || s[j] == '_')))
        return 0;
    unsigned rem = 0;
    for (unsigned k = 0; k < len; k++) {
        unsigned char c = v[(k + 4) % len];
        if (g_is_digit(c))
            rem = (rem * 10 + (unsigned)(c - '0')) % 97;
        else
            rem = (rem * 100 + (unsigned)(c - 'A' + 10)) % 97;
    }
    return rem == 1 ? j : 0;
}

/* UK NINO: two prefix letters, six digits (pairs may be spaced), suffix A-D. */
static size_t nino_at(const unsigned char *s, size_t n, size_t i)
{
    if (n - i < 9 || !g_is_upper(s[i + 1]))
        return 0;
    unsigned char a = s[i], b = s[i + 1];
    if (strchr("DFIQUV", a) || strchr("DFIOQUV", b))
        return 0;
    static const char bad[][3] = {"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"};
    for (size_t k = 0; k < SY_ARRAY_LEN(bad); k++)
        if (a == (unsigned char)bad[k][0] && b == (unsigned char)bad[k][1])
            return 0;
    size_t j = i + 2;
    if (j < n && s[j] == ' ')
        j++;
    for (int pair = 0; pair < 3; pair++) {
        if (pair && j < n && s[j] == ' ')
            j++;
        if (j + 2 > n || !g_is_digit(s[j]) || !g_is_digit(s[j + 1]))
            return 0;
        j += 2;
    }
    if (j < n && s[j] == ' ')
        j++;
    if (j >= n || s[j] < 'A' || s[j] > 'D')
        return 0;
    j++;
    if (j < n && (g_is_alnum(s[j]) || s[j] == '_'))
        return 0;
    return j;
}

/* Italian codice fiscale: 16 characters with omocodia letters allowed in
 * digit positions, and the check character. */
static const uint8_t cf_odd[36] = {
    /* 0-9 */ 1, 0, 5, 7, 9, 13, 15, 17, 19, 21,
    /* A-Z */ 1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22,
    25, 24, 23};

static size_t cf_at(const unsigned char *s, size_t n, size_t i)
{
    if (n - i < 16)
        return 0;
    unsigned char c[16];
    for (int k = 0; k < 16; k++) {
        if (!g_is_alnum(s[i + (size_t)k]))
            return 0;
        c[k] = g_upper(s[i + (size_t)k]);
    }
    if (i + 16 < n && (g_is_alnum(s[i + 16]) || s[i + 16] == '_'))
        return 0;
    static const char omo[] = "LMNPQRSTUV";
    static const int digit_pos[] = {6, 7, 9, 10, 12, 13, 14};
    for (int k = 0; k < 6; k++)
        if (!g_is_alpha(c[k]))
            return 0;
    if (!g_is_alpha(c[8]) || !strchr("ABCDEHLMPRST", c[8]) || !g_is_alpha(c[11]) ||
        !g_is_alpha(c[15]))
        return 0;
    unsigned char dig[16];
    for (size_t k = 0; k < SY_ARRAY_LEN(digit_pos); k++) {
        unsigned char x = c[digit_pos[k]];
        const char *o = g_is_alpha(x) ? strchr(omo, x) : NULL;
        if (g_is_digit(x))
            dig[digit_pos[k]] = x;
        else if (o)
            dig[digit_pos[k]] = (unsigned char)('0' + (o - omo));
        else
            return 0;
    }
    unsigned day = (unsigned)(dig[9] - '0') * 10 + (unsigned)(dig[10] - '0');
    if (!((day >= 1 && day <= 31) || (day >= 41 && day <= 71)))
        return 0;
    unsigned sum = 0;
    for (int k = 0; k < 15; k++) {
        unsigned v = g_is_digit(c[k]) ? (unsigned)(c[k] - '0') : (unsigned)(c[k] - 'A');
        if ((k & 1) == 0) /* odd positions, counting from 1 */
            sum += cf_odd[g_is_digit(c[k]) ? v : v + 10];
        else
            sum += v;
    }
    return c[15] == 'A' + sum % 26 ? i + 16 : 0;
}

/* Spanish NIE: X, Y or Z, seven digits, the check letter. */
static size_t nie_at(const unsigned char *s, size_t n, size_t i)
{
    unsigned lead = s[i] == 'X' ? 0 : s[i] == 'Y' ? 1 : s[i] == 'Z' ? 2 : 3;
    if (lead == 3)
        return 0;
    size_t j = i + 1;
    if (j < n && s[j] == '-')
        j++;
    unsigned v = lead;
    for (int k = 0; k < 7; k++, j++) {
        if (j >= n || !g_is_digit(s[j]))
            return 0;
        v = v * 10 + (unsigned)(s[j] - '0');
    }
    if (j < n && g_is_digit(s[j]))
        return 0;
    return dni_letter(s, n, j, v);
}

/* A word starting with a letter at s[i], whose alphanumeric run ends at
 * `run`: cheap shape tests first, so ordinary words cost a few compares. */
static size_t alpha_at(const unsigned char *s, size_t n, size_t i, size_t run, uint32_t kinds,
                       sy_guard_findings_t *out)
{
    size_t e, len = run - i;
    /* IBAN: "DE89..." (the first group of a spaced one is 4 long). */
    if (len >= 4 && g_is_digit(s[i + 2]) && g_is_digit(s[i + 3]) && g_is_alpha(s[i + 1]) &&
        (kinds & KBIT(SY_GUARD_IBAN)) && (e = iban_at(s, n, i)))
        return sy_guard_push(out, SY_GUARD_IBAN, 0, i, e, 0.95f), e;
    /* NINO: "AB 12 34 56 C", "AB123456C", "AB123456 C". */
    if ((len == 2 || len == 8 || len == 9) && g_is_upper(s[i]) && g_is_upper(s[i + 1]) &&
        (kinds & KBIT(SY_GUARD_NINO)) && (e = nino_at(s, n, i)))
        return sy_guard_push(out, SY_GUARD_NINO, 0, i, e, 0.85f), e;
    /* Codice fiscale: 16 characters. */
    if (len == 16 && (kinds & KBIT(SY_GUARD_IT_CF)) && (e = cf_at(s, n, i)))
        return sy_guard_push(out, SY_GUARD_IT_CF, 0, i, e, 0.95f), e;
    /* NIE: "X1234567L", "X-1234567-L", "X1234567 L". */
    if ((len == 1 || len == 8 || len == 9) && (s[i] == 'X' || s[i] == 'Y' || s[i] == 'Z') &&
        (kinds & KBIT(SY_GUARD_ES_DNI)) && (e = nie_at(s, n, i)))
        return sy_guard_push(out, SY_GUARD_ES_DNI, 0, i, e, 0.9f), e;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* The pass                                                                 */
/* ------------------------------------------------------------------------ */

size_t sy_guard_scan_pii(sy_str_t text, uint32_t kinds, sy_guard_findings_t *out)
{
    const unsigned char *s = (const unsigned char *)text.p;
    size_t n = text.len, before = out->n;
    if (n == 0)
        return 0;
    if (kinds & KBIT(SY_GUARD_EMAIL))
        scan_emails(s, n, out);
    uint32_t numeric = KBIT(SY_GUARD_PHONE) | KBIT(SY_GUARD_CARD) | KBIT(SY_GUARD_SSN) |
                       KBIT(SY_GUARD_ES_DNI) | KBIT(SY_GUARD_DE_TAXID) | KBIT(SY_GUARD_FR_NIR);
    uint32_t alpha = KBIT(SY_GUARD_IBAN) | KBIT(SY_GUARD_NINO) | KBIT(SY_GUARD_IT_CF) |
                     KBIT(SY_GUARD_ES_DNI);
    if (!(kinds & (numeric | alpha)))
        return out->n - before;
    /* A number token that matched nothing may hide one that does after a
     * space ("2023 555-123-4567"), so later starts inside it are tried too,
     * but at most RETRIES of them: a long run of spaced digits would
     * otherwise be re-read from every digit. */
    size_t fail_end = 0;
    unsigned retries = 0;
    size_t i = 0;
    while (i < n && !out->truncated) {
        unsigned char c = s[i];
        if (!G_IS(c, G_WORD)) {
            if ((c == '+' || c == '(') && (kinds & numeric) && (i == 0 || !G_IS(s[i - 1], G_WORD))) {
                size_t tok_end, e = numeric_at(s, n, i, kinds, out, &tok_end);
                i = e > i ? e : i + 1;
                continue;
            }
            i++;
            continue;
        }
        bool start = i == 0 || !G_IS(s[i - 1], G_WORD);
        size_t e = 0;
        /* One run of word characters: tried once at its start, then skipped. */
        size_t run = i + 1;
        while (run < n && G_IS(s[run], G_WORD))
            run++;
        if (start) {
            if (g_is_digit(c)) {
                bool inside = i < fail_end;
                if ((kinds & numeric) && (!inside || retries < RETRIES)) {
                    size_t tok_end;
                    retries = inside ? retries + 1 : 0;
                    e = numeric_at(s, n, i, kinds, out, &tok_end);
                    if (e == 0 && !inside)
                        fail_end = tok_end;
                }
            } else if (c != '_' && (kinds & alpha)) {
                e = alpha_at(s, n, i, run, kinds, out);
            }
        }
        i = e > i ? e : run;
    }
    return out->n - before;
}
