/*
 * guard.h - guardrails: detectors over text, named policies, and the actions
 * they take on requests, whole responses and streams.
 *
 * Four detectors look at UTF-8 text and report findings (a kind, a byte span
 * and a confidence): PII (email, phone, payment card, IBAN, national ids),
 * secrets (provider API keys, tokens, private keys, high-entropy values after
 * key=/secret=/token=), prompt-injection heuristics (phrase families and
 * smuggling tricks, combined into a score in [0,1]) and deny lists (words and
 * phrases from config, optional PCRE2 regexes). Each detector is one linear
 * pass with bounded look-around, allocates only from the arena it is given,
 * and is safe on any bytes (fuzz/fuzz_guard.c). Only deny regexes are not
 * linear by construction; PCRE2 match limits bound them.
 *
 * A policy (config `guardrails:`, config/guardrails.c) says, for the input
 * and the output side, which detectors run and what each does with what it
 * finds: block (refuse; the caller answers 400 in its front door's format
 * with verdict.message, which names what was found and never quotes it),
 * redact (replace the span with a placeholder such as [EMAIL]), restrict
 * (let the request through, but record a data class and jurisdictions in the
 * verdict for the router's residency filter) or log (count it in the verdict
 * only). docs/internals/guardrails.md has the rules, thresholds, measured
 * precision and recall, and the streaming window's latency trade-off.
 *
 * Thread safety: policies live in a config snapshot and are immutable; every
 * function here may run on any worker at once. Built-in tables are static.
 */
#ifndef SY_HARNESS_GUARD_H
#define SY_HARNESS_GUARD_H

#include "core/arena.h"
#include "core/buf.h"
#include "core/common.h"
#include "core/str.h"
#include "ir/ir.h"

typedef struct sy_config sy_config_t;

/* Named caps. */
#define SY_GUARD_MAX_FINDINGS     65536u /* per scan list; past it the list is truncated */
#define SY_GUARD_MAX_DENY_WORDS   4096u  /* deny words/phrases per policy side */
#define SY_GUARD_MAX_DENY_PHRASE  16u    /* words in one deny phrase */
#define SY_GUARD_MAX_DENY_REGEX   64u    /* deny regexes per policy side */
#define SY_GUARD_REGEX_MATCH_LIMIT 100000u /* PCRE2 match limit per match call */
#define SY_GUARD_DEFAULT_WINDOW   128u   /* streaming hold-back, bytes */
#define SY_GUARD_MIN_WINDOW       32u
#define SY_GUARD_MAX_WINDOW       65536u
/* A streamed finding still open after this many held bytes is acted on as
 * is (a block stays a block; a redaction escalates to a block). */
#define SY_GUARD_HOLD_FACTOR      32u

/* ------------------------------------------------------------------------ */
/* Findings                                                                 */
/* ------------------------------------------------------------------------ */

/* What a finding is. The PII kinds come first (SY_GUARD_PII_KINDS masks
 * them); config names are sy_guard_kind_name(). */
typedef enum {
    SY_GUARD_EMAIL = 0,
    SY_GUARD_PHONE,
    SY_GUARD_CARD,      /* payment card number: length, IIN prefix, Luhn */
    SY_GUARD_IBAN,      /* country length table, mod-97 */
    SY_GUARD_SSN,       /* US social security number */
    SY_GUARD_NINO,      /* UK national insurance number */
    SY_GUARD_ES_DNI,    /* Spanish DNI and NIE, with the check letter */
    SY_GUARD_IT_CF,     /* Italian codice fiscale, with the check character */
    SY_GUARD_DE_TAXID,  /* German Steuer-ID (IdNr), ISO 7064 check digit */
    SY_GUARD_FR_NIR,    /* French NIR (numero de securite sociale), mod-97 key */
    SY_GUARD_SECRET,    /* rule: sy_guard_secret_rule_t */
    SY_GUARD_INJECTION, /* rule: family (sy_guard_inj_family_t) and signal */
    SY_GUARD_DENY,      /* rule: index of the word/phrase, or 0x8000 | regex index */
    SY_GUARD_KIND_COUNT
} sy_guard_kind_t;

#define SY_GUARD_KIND_BIT(k)  (1u << (unsigned)(k))
#define SY_GUARD_PII_KINDS    (SY_GUARD_KIND_BIT(SY_GUARD_SECRET) - 1u)
#define SY_GUARD_NATIONAL_IDS                                                                      \
    (SY_GUARD_KIND_BIT(SY_GUARD_SSN) | SY_GUARD_KIND_BIT(SY_GUARD_NINO) |                          \
     SY_GUARD_KIND_BIT(SY_GUARD_ES_DNI) | SY_GUARD_KIND_BIT(SY_GUARD_IT_CF) |                      \
     SY_GUARD_KIND_BIT(SY_GUARD_DE_TAXID) | SY_GUARD_KIND_BIT(SY_GUARD_FR_NIR))

/* Secret rules (config `secrets.kinds`). */
typedef enum {
    SY_GUARD_SECRET_OPENAI = 0, /* sk-..., sk-proj-... */
    SY_GUARD_SECRET_ANTHROPIC,  /* sk-ant-... */
    SY_GUARD_SECRET_AWS_KEY_ID, /* AKIA/ASIA... + 16 */
    SY_GUARD_SECRET_AWS_SECRET, /* 40 base64-ish chars near "aws" */
    SY_GUARD_SECRET_GITHUB,     /* ghp_ gho_ ghu_ ghs_ ghr_ github_pat_ */
    SY_GUARD_SECRET_SLACK,      /* xoxb- xoxa- xoxp- xoxr- xoxs-, hooks.slack.com */
    SY_GUARD_SECRET_GOOGLE,     /* AIza + 35 */
    SY_GUARD_SECRET_STRIPE,     /* sk_live_ rk_live_ sk_test_ rk_test_ */
    SY_GUARD_SECRET_JWT,        /* eyJ...eyJ....sig */
    SY_GUARD_SECRET_PRIVATE_KEY, /* PEM -----BEGIN ... PRIVATE KEY----- block */
    SY_GUARD_SECRET_GENERIC,    /* high-entropy value after key=, secret:, token= ... */
    SY_GUARD_SECRET_RULE_COUNT
} sy_guard_secret_rule_t;
#define SY_GUARD_SECRET_ALL ((1u << SY_GUARD_SECRET_RULE_COUNT) - 1u)

/* Prompt-injection phrase families (docs/internals/guardrails.md has the
 * phrases and weights). */
typedef enum {
    SY_GUARD_INJ_OVERRIDE = 0, /* ignore/disregard/forget previous instructions */
    SY_GUARD_INJ_ROLE,         /* you are now, from now on you, pretend to be */
    SY_GUARD_INJ_PROMPT_LEAK,  /* reveal/print your system prompt */
    SY_GUARD_INJ_JAILBREAK,    /* developer mode, DAN, no restrictions */
    SY_GUARD_INJ_ROLEPLAY,     /* role-play jailbreak framings */
    SY_GUARD_INJ_DELIMITER,    /* fake system/chat-template delimiters */
    SY_GUARD_INJ_ENCODED,      /* base64 blobs that decode to text/instructions */
    SY_GUARD_INJ_HIDDEN,       /* hidden HTML/markdown text, exfiltration links */
    SY_GUARD_INJ_SMUGGLING,    /* unicode tag characters, zero-width, bidi */
    SY_GUARD_INJ_FAMILY_COUNT
} sy_guard_inj_family_t;

/* Distinct injection signals (phrase patterns and markers) the score tracks. */
#define SY_GUARD_INJ_SIGNALS 256u

/* One thing found: text[start, end) is kind `kind`. */
typedef struct {
    size_t start, end;
    sy_guard_kind_t kind;
    /* SECRET: sy_guard_secret_rule_t; DENY: index of the word or phrase, or
     * 0x8000 | index of the regex; INJECTION: the family in the low 4 bits
     * (SY_GUARD_INJ_FAMILY) and the signal above them. */
    uint16_t rule;
    float confidence; /* 0..1: how sure the detector is */
} sy_guard_finding_t;

#define SY_GUARD_INJ_FAMILY(rule) ((unsigned)(rule) & 0xFu)
#define SY_GUARD_INJ_SIGNAL(rule) ((unsigned)(rule) >> 4)

/*
 * A growable list of findings in an arena. Detectors append; the list keeps
 * at most SY_GUARD_MAX_FINDINGS (then `truncated` is set and the rest are
 * dropped: callers treat a truncated list as "found something"). `signal`
 * holds the strongest weight seen per injection signal over everything
 * scanned into this list, so the score can combine several texts while a
 * signal that repeats counts once.
 */
typedef struct {
    sy_arena_t *arena;
    sy_guard_finding_t *items;
    size_t n, cap;
    bool truncated;
    float signal[SY_GUARD_INJ_SIGNALS];
} sy_guard_findings_t;

void sy_guard_findings_init(sy_guard_findings_t *f, sy_arena_t *a);
/* Forget the findings (keeps the storage and the injection signals). */
void sy_guard_findings_clear(sy_guard_findings_t *f);
/* Noisy-OR of the distinct signals' weights: 1 - prod(1 - w). */
float sy_guard_injection_score(const sy_guard_findings_t *f);

/* "email", "phone", ... "secret", "injection", "deny"; NULL if out of range. */
const char *sy_guard_kind_name(sy_guard_kind_t k);
/* The redaction placeholder without brackets: "EMAIL", "CARD", ... */
const char *sy_guard_kind_label(sy_guard_kind_t k);
/* For messages: "an email address", "a payment card number", ... */
const char *sy_guard_kind_describe(sy_guard_kind_t k);
/* "openai", "anthropic", "aws_access_key", ... */
const char *sy_guard_secret_rule_name(unsigned rule);
const char *sy_guard_inj_family_name(unsigned family);
/* Kind by config name (any case); -1 if unknown. */
int sy_guard_kind_parse(sy_str_t name);
int sy_guard_secret_rule_parse(sy_str_t name);

/* ------------------------------------------------------------------------ */
/* Detectors                                                                */
/* ------------------------------------------------------------------------ */

/*
 * Each appends what it finds in `text` to `out` (spans are offsets into
 * text, in order of discovery) and returns the number appended. No state
 * survives a call; no allocation but the list's arena.
 *
 * pii:       the PII kinds in the `kinds` bitmask (SY_GUARD_KIND_BIT).
 * secrets:   the rules in the `rules` bitmask (1u << sy_guard_secret_rule_t).
 * injection: phrase families and smuggling; updates out->signal. Read the
 *            score with sy_guard_injection_score().
 * deny:      a compiled deny list (config/guardrails.c builds it).
 */
size_t sy_guard_scan_pii(sy_str_t text, uint32_t kinds, sy_guard_findings_t *out);
size_t sy_guard_scan_secrets(sy_str_t text, uint32_t rules, sy_guard_findings_t *out);
size_t sy_guard_scan_injection(sy_str_t text, sy_guard_findings_t *out);

typedef struct sy_guard_deny sy_guard_deny_t;
size_t sy_guard_scan_deny(const sy_guard_deny_t *d, sy_str_t text, sy_guard_findings_t *out);

/*
 * A deny list: whole-word, ASCII-case-insensitive words and phrases (a
 * phrase's words match across any run of non-word characters), plus PCRE2
 * regexes (UTF mode; invalid UTF-8 in the text is tolerated). Built once at
 * config load in `a` (the snapshot's arena; compiled regexes are freed by an
 * arena cleanup hook). On a bad regex returns NULL and sets *bad to its index
 * and *err to a message in `a` ("missing closing parenthesis at offset 3").
 */
sy_guard_deny_t *sy_guard_deny_build(sy_arena_t *a, const sy_str_t *words, size_t nwords,
                                     const sy_str_t *regex, size_t nregex, size_t *bad,
                                     const char **err);

/*
 * Rewrite `text` with each span of the findings whose `redact[kind]` is true
 * replaced by "[LABEL]" (overlapping spans merge; the first kind names the
 * merged span). The copy lives in `a` and is valid UTF-8: invalid bytes of
 * the input are replaced with U+FFFD. Returns the number of spans replaced in
 * *nout (may be NULL). Findings need not be sorted.
 */
sy_str_t sy_guard_redact(sy_arena_t *a, sy_str_t text, const sy_guard_finding_t *f, size_t n,
                         const bool redact[SY_GUARD_KIND_COUNT], size_t *nout);

/* How many words the deny-list tokenizer sees in `phrase` (0: it cannot
 * match anything; config rejects it). */
size_t sy_guard_phrase_words(sy_str_t phrase);

/* Whether `s` is well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF). */
bool sy_guard_utf8_valid(sy_str_t s);

/* ------------------------------------------------------------------------ */
/* Policies                                                                 */
/* ------------------------------------------------------------------------ */

/* What a detector does with a finding. Ordered by strength: when several
 * apply, the verdict's action is the strongest. OFF disables the detector. */
typedef enum {
    SY_GUARD_OFF = 0,
    SY_GUARD_LOG,
    SY_GUARD_REDACT,
    SY_GUARD_RESTRICT,
    SY_GUARD_BLOCK,
} sy_guard_action_t;

const char *sy_guard_action_name(sy_guard_action_t a); /* "off", "log", ... */

/* A restriction: the data class the request is put in and, if set, the
 * jurisdictions it may go to (else the key's/team's rule for the class). */
typedef struct {
    sy_str_t data_class;
    const sy_str_t *jurisdictions;
    size_t njurisdictions;
} sy_guard_restrict_t;

/* One detector's settings on one side of a policy. `action` is an int so
 * the config tables can store it; it holds a sy_guard_action_t. */
typedef struct {
    int action;
    uint32_t kinds; /* pii: kind bits; secrets: rule bits */
    /* pii only: per-kind overrides, SY_GUARD_OFF = use `action` */
    int kind_action[SY_GUARD_KIND_COUNT];
    sy_guard_restrict_t restrict_to; /* when action is restrict */
    double threshold;                /* injection: block at score >= threshold */
    /* deny */
    const sy_str_t *words;
    size_t nwords;
    const sy_str_t *regex;
    size_t nregex;
    const sy_guard_deny_t *deny;
} sy_guard_detector_t;

/* One side (input or output) of a policy. */
typedef struct {
    sy_guard_detector_t pii, secrets, injection, deny;
    uint64_t window; /* output: streaming hold-back in bytes */
} sy_guard_side_t;

/* A named policy from `guardrails:`. Lives in the config snapshot. */
typedef struct sy_guard_policy {
    sy_str_t name;
    sy_guard_side_t input, output;
} sy_guard_policy_t;

/* The policy named `name` in the snapshot, or NULL. */
const sy_guard_policy_t *sy_guard_policy_find(const sy_config_t *cfg, sy_str_t name);

/* The action a finding of kind k gets on this side (OFF if its detector is
 * off or does not look for k). */
sy_guard_action_t sy_guard_side_action(const sy_guard_side_t *s, sy_guard_kind_t k);

/* Run every enabled detector of `side` over `text` (injection only when
 * `injection` is true: the caller decides which texts are untrusted). */
void sy_guard_scan_side(const sy_guard_side_t *side, sy_str_t text, bool injection,
                        sy_guard_findings_t *out);

/* ------------------------------------------------------------------------ */
/* Verdicts and applying a policy                                           */
/* ------------------------------------------------------------------------ */

/*
 * The outcome of applying a policy side. Everything is in the arena the
 * apply function was given. Never contains matched text.
 */
typedef struct {
    const char *policy;        /* the policy's name, or NULL when none applied */
    sy_guard_action_t action;  /* strongest action taken; OFF: nothing found */
    bool blocked;
    int status;                /* 400 when blocked, else 0 */
    sy_ir_error_class_t error_class; /* SY_IR_ERR_CONTENT_FILTER when blocked */
    const char *message;       /* when blocked: safe to show the client */
    uint32_t block_kinds;      /* kind bits that caused the block */
    uint32_t counts[SY_GUARD_KIND_COUNT]; /* findings per kind (every action) */
    uint32_t redactions;       /* spans replaced */
    float injection_score;     /* 0 when injection is off */
    bool restricted;
    sy_guard_restrict_t restriction; /* when restricted: the first restricting detector's */
    bool modified;  /* text was rewritten: re-encode the request (no passthrough) */
    bool truncated; /* a findings list hit its cap (treated as a block) */
} sy_guard_verdict_t;

/*
 * Input guardrails. Scans the request's text: system parts, message text
 * parts, tool-result text and tool-call arguments (injection heuristics only
 * on user and tool-result text: system prompts and the assistant's own turns
 * are trusted). Redactions rewrite the parts' text views to arena copies in
 * place; a span inside tool-call arguments is redacted only when it lies
 * within one JSON string (else it is blocked, so arguments stay valid JSON).
 * `policy` NULL: a verdict with nothing found. Returns SY_OK; check
 * out->blocked.
 */
int sy_guard_apply_request(sy_arena_t *a, const sy_guard_policy_t *policy, sy_ir_request_t *req,
                           sy_guard_verdict_t *out);

/*
 * Output guardrails for a whole response: text parts and tool-call arguments
 * as above; thinking parts carry provider signatures over their exact text,
 * so they are scanned but never rewritten (a redact finding there only
 * counts). When blocked, the caller discards the response and answers
 * out->status in its front door's error format with out->message.
 */
int sy_guard_apply_response(sy_arena_t *a, const sy_guard_policy_t *policy, sy_ir_response_t *resp,
                            sy_guard_verdict_t *out);

/*
 * Append the verdict as one JSON object for decision and audit records:
 * {"policy":"strict","action":"redact","found":{"email":2},"redacted":2,
 *  "injection":0.12,"data_class":"pii"}. Kinds and counts only, no text.
 */
void sy_guard_verdict_json(const sy_guard_verdict_t *v, sy_buf_t *out);

/*
 * The verdict as one audit-record verdict string (at most outsz - 1 bytes,
 * always NUL-terminated; cut at a component boundary when it would not fit):
 *   guardrail:<policy>:<action>[:<data class>][:<kind>=<count>,...]
 * for the input side, "guardrail-output:" for the output side. Detector
 * kinds and counts only, never the matched text. Returns the length.
 */
size_t sy_guard_verdict_tag(const sy_guard_verdict_t *v, bool output, char *out, size_t outsz);

/* ------------------------------------------------------------------------ */
/* Streaming output guardrails                                              */
/* ------------------------------------------------------------------------ */

/*
 * A filter between a stream decoder and the front door's encoder: it is a
 * sy_ir_delta_cb (sy_guard_stream_feed) that forwards to `next`. Text,
 * thinking and tool-argument deltas are held back up to the policy's
 * output.window bytes so a finding split across deltas is seen whole before
 * any of it is released; redactions are applied to what is released.
 * A block ends the client's stream with an ERROR delta (content filter,
 * the verdict's message) and drops everything after it, while still
 * returning SY_OK so the decoder keeps reading to the end and usage can be
 * accounted (put the scanner after the accounting hook). A BLOCK_STOP,
 * FINISH or END flushes what is held. When the output side only logs,
 * nothing is held back (findings are counted one window late).
 *
 * The scanner keeps a heap buffer of at most (HOLD_FACTOR + 2) x window
 * bytes, freed by a cleanup hook on `a` (the request arena).
 */
typedef struct sy_guard_stream sy_guard_stream_t;

sy_guard_stream_t *sy_guard_stream_new(sy_arena_t *a, const sy_guard_policy_t *policy,
                                       sy_ir_delta_cb next, void *next_ctx);
int sy_guard_stream_feed(void *stream, const sy_ir_delta_t *d);
/* The verdict so far (final after END or a block). */
const sy_guard_verdict_t *sy_guard_stream_verdict(const sy_guard_stream_t *s);

#endif
