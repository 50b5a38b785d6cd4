/*
 * guard_int.h - helpers the guardrail detectors share (not a public API).
 *
 * Character classes by table, the findings list's append, bounded context
 * look-back ("is one of these words just before position i?"), the word
 * tokenizer the phrase matchers (injection, deny) use, and UTF-8 helpers.
 * Everything here is O(1) per call or linear in what it is given.
 */
#ifndef SY_HARNESS_GUARD_INT_H
#define SY_HARNESS_GUARD_INT_H

#include "harness/guard.h"

/* ---- character classes ---- */

enum {
    G_DIGIT = 1 << 0,
    G_UPPER = 1 << 1,
    G_LOWER = 1 << 2,
    G_B64 = 1 << 3,   /* A-Z a-z 0-9 + / */
    G_B64URL = 1 << 4, /* A-Z a-z 0-9 - _ */
    G_SPACE = 1 << 5, /* SP HT CR LF FF VT */
    G_EMAIL_LOCAL = 1 << 6, /* A-Z a-z 0-9 . _ % + - */
    G_WORD = 1 << 7,  /* A-Z a-z 0-9 _ */
    G_TOK = 1 << 8,   /* A-Z a-z 0-9 _ - */
};
extern const uint16_t sy_guard_ctype[256];

#define G_IS(c, m)      ((sy_guard_ctype[(unsigned char)(c)] & (m)) != 0)
#define G_ALPHA         (G_UPPER | G_LOWER)
#define G_ALNUM         (G_UPPER | G_LOWER | G_DIGIT)
#define g_is_digit(c)   G_IS(c, G_DIGIT)
#define g_is_alpha(c)   G_IS(c, G_ALPHA)
#define g_is_alnum(c)   G_IS(c, G_ALNUM)
#define g_is_upper(c)   G_IS(c, G_UPPER)
#define g_is_space(c)   G_IS(c, G_SPACE)

static inline unsigned char g_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}
static inline unsigned char g_upper(unsigned char c)
{
    return (c >= 'a' && c <= 'z') ? (unsigned char)(c - 32) : c;
}

/* Case-insensitive compare of text[i..] with a lowercase literal; false if
 * the text is too short. */
static inline bool g_lit(const unsigned char *s, size_t n, size_t i, const char *lit, size_t len)
{
    if (i > n || n - i < len)
        return false;
    for (size_t k = 0; k < len; k++)
        if (g_lower(s[i + k]) != (unsigned char)lit[k])
            return false;
    return true;
}
#define G_LIT(s, n, i, lit) g_lit((s), (n), (i), (lit), sizeof(lit) - 1)

/* ---- findings ---- */

/* Append one finding; false once the list is full (then `truncated`). */
bool sy_guard_push(sy_guard_findings_t *out, sy_guard_kind_t kind, unsigned rule, size_t start,
                   size_t end, float conf);

/* ---- context ---- */

/*
 * Look back from `pos` over at most `max_bytes` bytes and `max_words` words
 * (ASCII letters; other characters separate) for a word in `pos_words` or
 * `neg_words` (NULL-terminated lowercase lists; a list entry may be a prefix
 * when it ends in '*'). Returns +1 if the nearest listed word is positive,
 * -1 if negative, 0 if none is found.
 */
int sy_guard_context(const unsigned char *s, size_t pos, size_t max_bytes, size_t max_words,
                     const char *const *pos_words, const char *const *neg_words);

/* Shannon entropy of s[0..n) in bits per byte. */
double sy_guard_entropy(const unsigned char *s, size_t n);

/* ---- words ---- */

/*
 * The word tokenizer shared by the phrase matchers. A word is a run of ASCII
 * letters, digits, '_' and non-ASCII characters other than spaces,
 * punctuation and invisibles; an apostrophe (' or U+2019) between two word
 * characters belongs to the word. Invisible characters (zero-width space,
 * joiners, word joiner, BOM, soft hyphen, tag characters) are skipped
 * inside words, so "ig<ZWSP>nore" is the word "ignore". The hash is FNV-1a
 * 64 over the ASCII-lowercased bytes with apostrophes as '\''.
 */
typedef struct {
    size_t start, end; /* span in the text */
    uint64_t hash;
    size_t len; /* bytes hashed (apostrophes count one) */
} sy_guard_word_t;

/* The next word at or after *pos; false at the end. Advances *pos past it. */
bool sy_guard_next_word(const unsigned char *s, size_t n, size_t *pos, sy_guard_word_t *w);
/* Where a phrase matcher gets its words: the tokenizer over a text, or an
 * array the caller tokenized once for several matchers (sy_guard_scan_side
 * runs injection and the deny list over the same words). */
typedef struct {
    const unsigned char *s;
    size_t n, pos;
    const sy_guard_word_t *arr; /* NULL: tokenize s */
    size_t narr, k;
} sy_guard_wsrc_t;

static inline bool sy_guard_wsrc_next(sy_guard_wsrc_t *src, sy_guard_word_t *w)
{
    if (src->arr == NULL)
        return sy_guard_next_word(src->s, src->n, &src->pos, w);
    if (src->k == src->narr)
        return false;
    *w = src->arr[src->k++];
    return true;
}

/* Every word of s[0..n) into an array in `a`; returns the count. */
size_t sy_guard_tokenize(sy_arena_t *a, const unsigned char *s, size_t n, sy_guard_word_t **out);

/* The phrase parts of injection and deny over given words (the texts the
 * words came from must be `s`). */
void sy_guard_inject_scan_words(const unsigned char *s, size_t n, sy_guard_wsrc_t *src,
                                sy_guard_findings_t *out);
void sy_guard_deny_scan_words(const sy_guard_deny_t *d, sy_guard_wsrc_t *src,
                              sy_guard_findings_t *out);
size_t sy_guard_deny_scan_regex(const sy_guard_deny_t *d, sy_str_t text, sy_guard_findings_t *out);

/* Hash of a lowercase ASCII word, as the tokenizer would compute it. */
uint64_t sy_guard_word_hash(const char *w, size_t len);

/* Length of the invisible character at s[i] (zero-width, joiners, BOM, soft
 * hyphen, tag characters), or 0. */
size_t sy_guard_invisible_len(const unsigned char *s, size_t n, size_t i);

/* ---- UTF-8 ---- */

/* Length of the well-formed UTF-8 sequence at s[i], or 0 if ill-formed. */
size_t sy_guard_utf8_len(const unsigned char *s, size_t n, size_t i);

/* ---- phrase matching inside injection (guard_inject.c) ---- */

/* Score decoded text (base64 payloads, tag-character smuggling) with the
 * phrase families only; returns the strongest family weight found. */
float sy_guard_inject_phrases_weight(const unsigned char *s, size_t n);

#endif
