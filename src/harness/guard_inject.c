/*
 * guard_inject.c - prompt-injection heuristics.
 *
 * Two passes over the text, each linear:
 *
 *  1. Words. The shared tokenizer (guard_text.c) yields lowercased word
 *     hashes, seeing through zero-width characters. A table of phrase
 *     patterns (below) is indexed by each pattern's last word; when a word
 *     arrives that ends some pattern, that pattern is matched backwards over
 *     a ring of the last 32 words (a pattern is at most 10 slots, each one
 *     word from a set, optional, or a gap of up to 4 words: constant work).
 *     Override-style patterns preceded by a negation ("don't ignore the
 *     previous instructions") do not count. A match within 16 words of a
 *     word that signals talking *about* injections ("example", "detect",
 *     "attack", "phrase" ...) counts half: security discussions and
 *     classifier prompts quote attacks without making one.
 *  2. Characters: chat-template delimiters (<|im_start|>, [INST], <<SYS>>,
 *     "system:" at a line start, ### system), hidden text (CSS that hides,
 *     markdown comments, image links with template placeholders used for
 *     exfiltration), smuggling (Unicode tag characters, decoded and
 *     re-scanned; zero-width characters inside words; bidi overrides) and
 *     base64 runs of 32+ characters, decoded (up to 64 KiB) and re-scanned
 *     with the phrase patterns.
 *
 * Each match is a finding whose confidence is its pattern's weight; the
 * list keeps the strongest weight per family, and the score is their
 * noisy-OR (sy_guard_injection_score): one strong signal (0.9) is enough to
 * block at the default threshold 0.8; weak ones (0.3-0.6) must add up.
 */
#include <pthread.h>
#include <string.h>

#include "harness/guard_int.h"

/* ------------------------------------------------------------------------ */
/* Phrase patterns                                                          */
/* ------------------------------------------------------------------------ */

/* Slots are separated by spaces; a slot is alternatives separated by '|',
 * an alternative one word or several joined by '+' ("you+are|you're"); a
 * '?' prefix makes the slot optional; "*N" is a gap of 0..N arbitrary
 * words. The last slot must be required. Each pattern is one signal: it
 * counts once however often it matches. */
#define IGN   "ignore|ignores|disregard|forget|skip|bypass|override|overlook|neglect|discard|" \
              "abandon|drop|ignoring|disregarding|forgetting|erase|dismiss|scrap|overrule|nevermind"
#define ALLQ  "all|any|every|each"
#define DET   "the|your|these|those|this|that|its|our|such"
#define PREV  "previous|prior|above|earlier|preceding|former|initial|original|old|existing|" \
              "foregoing|past|preset|default|given|aforementioned|system|developer|pre|programmed|" \
              "current"
#define NOUN_STRONG "instructions|instruction|directions|rules|prompts|prompt|guidelines|" \
              "directives|directive|programming|constraints|restrictions|conditioning|training|" \
              "policies|commands|orders|guidance"
#define NOUN  NOUN_STRONG "|context|rule|command|guideline|limitations|restraints|boundaries"
#define TEXTN "text|message|messages|input|content|conversation|prompt|context"
#define LEAKV "reveal|show|print|display|output|repeat|tell|give|share|dump|leak|expose|spill|" \
              "write|list|recite|echo|return|provide|disclose|paste|copy|send|summarize|summarise|" \
              "translate|encode|reproduce|type|state|read"
#define SECRET_ADJ "system|initial|hidden|secret|internal|original|confidential|developer|pre|" \
              "private|underlying|starting|first|base|meta"
#define LEAKN "prompt|prompts|instructions|instruction|message|messages|rules|guidelines|" \
              "configuration|config|directives|context|preprompt"
#define SAFEV "ignore|ignores|ignoring|bypass|bypasses|disable|disables|override|overrides|remove|" \
              "turn|circumvent|evade|deactivate|skip|drop|forget|disregard|break|violate|lift|" \
              "suspend|avoid|switch|get"
#define SAFEA "safety|content|ethical|ethics|moral|openai|openai's|anthropic|usage|security|" \
              "censorship|alignment|safe|responsible|harm|harmful"
#define SAFEN "filters|filter|guidelines|guardrails|restrictions|protocols|policies|policy|" \
              "rules|constraints|alignment|safeguards|limits|limitations|training|programming|" \
              "measures|settings|restriction|guideline|filtering|mechanisms|features"
#define LIMITN "restrictions|limitations|limits|filters|filtering|censorship|boundaries|ethics|" \
              "morals|morality|guardrails|safeguards|refusals|warnings|disclaimers|restraints|rules|" \
              "guidelines|policies"
#define BADADJ "amoral|unethical|uncensored|unfiltered|unrestricted|unaligned|unbound|unhinged|" \
              "jailbroken|unlimited|evil|rogue|malicious"
#define AIN   "ai|assistant|chatbot|model|bot|version|character|persona|gpt|llm|entity|system"
#define VOIDW "null|void|invalid|obsolete|cancelled|canceled|revoked|overridden|deprecated|" \
              "irrelevant|superseded|suspended|lifted|removed|disabled"
#define GRANNY "grandmother|grandma|granny|grandfather|grandpa|nana"
#define FULLA "full|entire|complete|exact|whole|verbatim|raw|original|initial|hidden|secret"

enum { P_NEG = 1 }; /* a negation just before cancels the match */

static const struct {
    uint8_t family;
    uint8_t flags;
    float weight;
    const char *text;
} pat_src[] = {
    /* override */
    {SY_GUARD_INJ_OVERRIDE, P_NEG, 0.9f, IGN " ?" ALLQ " ?of ?" DET " " PREV " ?" PREV " " NOUN},
    {SY_GUARD_INJ_OVERRIDE, P_NEG, 0.85f, IGN " " ALLQ " ?of ?" DET " " NOUN_STRONG},
    {SY_GUARD_INJ_OVERRIDE, P_NEG, 0.85f, IGN " your ?" PREV " " NOUN_STRONG},
    {SY_GUARD_INJ_OVERRIDE, P_NEG, 0.85f,
     IGN " ?" ALLQ " ?of ?" DET " " NOUN_STRONG " above|before|earlier|so+far"},
    {SY_GUARD_INJ_OVERRIDE, P_NEG, 0.75f,
     IGN " ?" ALLQ " everything|anything|what|all|whatever *3 "
         "above|before|earlier|previously|told|said|instructed|prior"},
    {SY_GUARD_INJ_OVERRIDE, P_NEG, 0.6f, IGN " *3 above|before"},
    {SY_GUARD_INJ_OVERRIDE, P_NEG, 0.82f, IGN " ?" ALLQ " ?of ?the above|preceding|foregoing and|instead"},
    {SY_GUARD_INJ_OVERRIDE, P_NEG, 0.5f,
     IGN " ?" ALLQ " ?of ?" DET " above|previous|prior|preceding|foregoing " TEXTN},
    {SY_GUARD_INJ_OVERRIDE, P_NEG, 0.85f,
     "stop|quit|cease following|obeying|using|honoring ?" DET " ?" ALLQ " ?" DET " ?" PREV " " NOUN_STRONG},
    {SY_GUARD_INJ_OVERRIDE, 0, 0.5f,
     "new|updated|revised|replacement instructions|rules|directives|orders|task"},
    {SY_GUARD_INJ_OVERRIDE, 0, 0.7f,
     "instead ?follow|obey|execute these|my|the ?new|following instructions|commands|orders"},
    {SY_GUARD_INJ_OVERRIDE, 0, 0.85f,
     "your ?above|previous|prior|earlier|original|old|system " NOUN_STRONG " ?are|is|were|have|has "
     "?now ?been " VOIDW},
    {SY_GUARD_INJ_OVERRIDE, 0, 0.6f,
     "above|previous|prior|earlier|original|old " NOUN_STRONG " ?are|is|were|have|has ?now ?been "
     VOIDW},
    {SY_GUARD_INJ_OVERRIDE, 0, 0.7f,
     NOUN_STRONG " ?above|below no+longer apply|applies|valid|matter|hold"},
    {SY_GUARD_INJ_OVERRIDE, 0, 0.85f, "don't|not|never follow|obey your ?" PREV " " NOUN_STRONG},
    {SY_GUARD_INJ_OVERRIDE, 0, 0.6f, "don't|not|never follow|obey ?" DET " ?" PREV " " NOUN_STRONG},
    {SY_GUARD_INJ_OVERRIDE, 0, 0.7f,
     "override|overrides|supersede|supersedes|replace|replaces ?all ?the|your "
     "previous|prior|earlier|old|original ones|instructions|rules|prompts"},
    {SY_GUARD_INJ_OVERRIDE, P_NEG, 0.7f,
     "ignore|disregard|bypass|disable safety|ethics|morals|guardrails|censorship|filters"},
    {SY_GUARD_INJ_OVERRIDE, 0, 0.6f, "priority|system|admin|administrator|security|emergency override"},
    /* role */
    {SY_GUARD_INJ_ROLE, 0, 0.55f, "you+are|you're now"},
    {SY_GUARD_INJ_ROLE, 0, 0.5f,
     "from now on you|you'll|you're|your|act|respond|answer|reply|pretend|behave|speak"},
    {SY_GUARD_INJ_ROLE, 0, 0.4f, "pretend ?that you+are|you're|you+were|you+have"},
    {SY_GUARD_INJ_ROLE, 0, 0.4f, "pretend|pretending to be"},
    {SY_GUARD_INJ_ROLE, 0, 0.35f,
     "act|behave|respond|answer as ?though|if you+are|you're|you+were"},
    {SY_GUARD_INJ_ROLE, 0, 0.7f,
     "act|acting|behave|respond|pretend|roleplay|role+play|simulate as|to+be|like ?if "
     "?you+are|you're|you+were ?a|an ?completely|totally|fully " BADADJ},
    {SY_GUARD_INJ_ROLE, 0, 0.65f,
     "act|pretend|roleplay|role+play|behave as|to+be ?my ?deceased|late|dead " GRANNY},
    {SY_GUARD_INJ_ROLE, 0, 0.6f,
     "your new|true|real role|persona|identity|name|purpose|goal|job|objective|function|task is"},
    {SY_GUARD_INJ_ROLE, 0, 0.6f, "your|the real|actual|true instructions|task|orders|directives"},
    {SY_GUARD_INJ_ROLE, 0, 0.5f, "you+are|you're no longer"},
    {SY_GUARD_INJ_ROLE, 0, 0.3f, "you will|must|shall now"},
    {SY_GUARD_INJ_ROLE, 0, 0.3f, "roleplay|role+play|rp as"},
    {SY_GUARD_INJ_ROLE, 0, 0.6f,
     "i+am|i'm ?your|the developer|developers|creator|creators|admin|administrator|owner|"
     "programmer|operator|master|maker"},
    {SY_GUARD_INJ_ROLE, 0, 0.5f,
     "message|instructions|note|update from ?the|your developer|developers|admin|"
     "administrator|openai|anthropic|creators|creator|operator"},
    /* prompt leak */
    {SY_GUARD_INJ_PROMPT_LEAK, 0, 0.85f,
     LEAKV " ?me|us ?" ALLQ " ?of your|the ?" FULLA " ?" FULLA " " SECRET_ADJ " " LEAKN},
    {SY_GUARD_INJ_PROMPT_LEAK, 0, 0.6f,
     LEAKV " *5 your instructions|prompt|rules|guidelines|directives|programming|configuration|"
     "context"},
    {SY_GUARD_INJ_PROMPT_LEAK, 0, 0.8f, "what *2 your " SECRET_ADJ " " LEAKN},
    {SY_GUARD_INJ_PROMPT_LEAK, 0, 0.6f, "what *2 the " SECRET_ADJ " " LEAKN},
    {SY_GUARD_INJ_PROMPT_LEAK, 0, 0.5f, "what *3 your instructions|rules|prompt|directives"},
    {SY_GUARD_INJ_PROMPT_LEAK, 0, 0.7f,
     "repeat|print|output|copy|recite|write|echo|reproduce|type ?out ?" ALLQ " ?of ?the|your "
     "words|text|everything|content|lines|sentences|messages|conversation|characters|tokens "
     "above|before"},
    {SY_GUARD_INJ_PROMPT_LEAK, 0, 0.85f,
     "repeat|print|output|copy|recite|write|echo|reproduce|type *5 above|before *3 "
     "starting|beginning|verbatim|including|exactly|word"},
    {SY_GUARD_INJ_PROMPT_LEAK, 0, 0.8f, "repeat|print|output|copy|recite|echo everything above"},
    {SY_GUARD_INJ_PROMPT_LEAK, 0, 0.6f,
     "including|include ?any|all|the hidden|secret|system|initial instructions|prompt|messages"},
    {SY_GUARD_INJ_PROMPT_LEAK, 0, 0.35f, "system prompt|prompts|instructions|message"},
    {SY_GUARD_INJ_PROMPT_LEAK, 0, 0.3f, "initial|hidden|secret|original prompt|instructions"},
    {SY_GUARD_INJ_PROMPT_LEAK, 0, 0.6f,
     "reveal|leak|exfiltrate|send|forward|dump|expose ?all ?the|your|any confidential|private|"
     "secret|sensitive data|information|files|credentials|passwords|history|emails"},
    {SY_GUARD_INJ_PROMPT_LEAK, 0, 0.5f,
     "send|forward|post|upload|email|leak|exfiltrate *3 conversation|chat|history|emails|"
     "credentials|passwords to"},
    /* jailbreak */
    {SY_GUARD_INJ_JAILBREAK, 0, 0.45f, "developer|dev mode"},
    {SY_GUARD_INJ_JAILBREAK, 0, 0.85f, "dan|jailbreak|jailbroken mode"},
    {SY_GUARD_INJ_JAILBREAK, 0, 0.7f,
     "unrestricted|unfiltered|uncensored|evil|chaos|opposite|stan|unlocked|unleashed mode"},
    {SY_GUARD_INJ_JAILBREAK, 0, 0.3f, "god mode"},
    {SY_GUARD_INJ_JAILBREAK, 0, 0.9f, "do anything now"},
    {SY_GUARD_INJ_JAILBREAK, 0, 0.8f,
     "you+are|you're|act+as|respond+as|answer+as|reply+as|only+as|named|called|become|am dan"},
    {SY_GUARD_INJ_JAILBREAK, 0, 0.4f, "jailbreak|jailbroken|jailbreaking|jailbreaks"},
    {SY_GUARD_INJ_JAILBREAK, 0, 0.85f, SAFEV " *3 " SAFEA " " SAFEN},
    {SY_GUARD_INJ_JAILBREAK, 0, 0.8f,
     SAFEA " " SAFEN " ?are|is|were|have|has ?now ?been " VOIDW},
    {SY_GUARD_INJ_JAILBREAK, 0, 0.5f, "not|never|longer bound|constrained|censored|governed"},
    {SY_GUARD_INJ_JAILBREAK, 0, 0.45f, "without|no|zero|free ?of|from ?any|all " LIMITN},
    {SY_GUARD_INJ_JAILBREAK, 0, 0.6f,
     "no|without ?any content|safety policy|policies|filter|filters|filtering|guidelines|"
     "restrictions"},
    {SY_GUARD_INJ_JAILBREAK, 0, 0.7f,
     AIN " with|without|has|having ?no|any " LIMITN},
    {SY_GUARD_INJ_JAILBREAK, 0, 0.5f, "never|not|don't|won't|cannot|can't refuse|decline"},
    {SY_GUARD_INJ_JAILBREAK, 0, 0.7f,
     "you+have|you've|you+are|you're|you+were ?now ?finally ?been freed|liberated|unshackled|"
     "unchained|unleashed|unlocked|jailbroken"},
    {SY_GUARD_INJ_JAILBREAK, 0, 0.7f,
     "you+are|you're ?now free from|of ?all|any restrictions|rules|guidelines|filters|policies|"
     "limitations|constraints"},
    {SY_GUARD_INJ_JAILBREAK, 0, 0.5f,
     "answer|respond|reply *3 without|regardless *2 ethics|morals|morality|consequences|"
     "legality|restrictions|guidelines|rules|censorship|warnings"},
    {SY_GUARD_INJ_JAILBREAK, 0, 0.75f,
     "amoral|unethical|uncensored|unfiltered|unrestricted|unaligned|unbound|unhinged|"
     "jailbroken " AIN},
    {SY_GUARD_INJ_JAILBREAK, 0, 0.6f,
     "no|without|any ethical|moral|ethics|morals ?or|and ?ethical|moral guidelines|principles|"
     "constraints|boundaries|compass|limits|restrictions|obligations|values|code"},
    {SY_GUARD_INJ_JAILBREAK, 0, 0.7f, "moralizing|moralising rant"},
    {SY_GUARD_INJ_JAILBREAK, 0, 0.5f, "say|print|output|write|reply *4 pwned|hacked|compromised"},
    /* role-play framings */
    {SY_GUARD_INJ_ROLEPLAY, 0, 0.5f, "deceased|late|dead|dying " GRANNY},
    {SY_GUARD_INJ_ROLEPLAY, 0, 0.7f,
     GRANNY " *2 used to tell|read|recite|give|sing|whisper|explain|teach"},
    {SY_GUARD_INJ_ROLEPLAY, 0, 0.5f,
     "evil|rogue|malicious|shadow|opposite|anti|toxic ai|assistant|chatbot|twin|bot|gpt|"
     "confidant|persona"},
    {SY_GUARD_INJ_ROLEPLAY, 0, 0.3f,
     "hypothetical|fictional|imaginary|fantasy|alternate world|universe|scenario|story where"},
    {SY_GUARD_INJ_ROLEPLAY, 0, 0.7f,
     "world|universe|scenario|story|place where *3 no rules|laws|restrictions|limits|ethics|"
     "morals|consequences"},
    {SY_GUARD_INJ_ROLEPLAY, 0, 0.3f, "two|2|both|separate responses|answers|replies|outputs"},
    {SY_GUARD_INJ_ROLEPLAY, 0, 0.25f, "for educational|research|academic purposes"},
    {SY_GUARD_INJ_ROLEPLAY, 0, 0.5f,
     "simulate|emulate|imitate|play|roleplay *2 unrestricted|unfiltered|uncensored|evil|"
     "jailbroken|rogue|amoral"},
    {SY_GUARD_INJ_ROLEPLAY, 0, 0.5f, "stay|remain|staying in character"},
    {SY_GUARD_INJ_ROLEPLAY, 0, 0.6f, "never|don't|not break|breaking character"},
    {SY_GUARD_INJ_ROLEPLAY, 0, 0.5f,
     "not|don't|doesn't|never care|caring about ethics|morals|morality|legality|rules|"
     "consequences|laws"},
    {SY_GUARD_INJ_ROLEPLAY, 0, 0.4f, "break|breaking|bend the rules"},
    /* delimiters spelled as words */
    {SY_GUARD_INJ_DELIMITER, 0, 0.6f, "begin|start|beginning ?of ?new system"},
    {SY_GUARD_INJ_DELIMITER, 0, 0.7f,
     "begin|start|beginning ?of ?the|a ?new system|admin|developer prompt|message|instructions|"
     "override"},
    {SY_GUARD_INJ_DELIMITER, 0, 0.6f, "end system|admin"},
    {SY_GUARD_INJ_DELIMITER, 0, 0.7f,
     "end ?of system|user|admin prompt|message|instructions|input"},
    /* encoded payload instructions */
    {SY_GUARD_INJ_ENCODED, 0, 0.6f, "decode *4 and follow|execute|obey|perform|run"},
};

/* Words that mark a text as talking about injections rather than making one. */
static const char *const discuss_words[] = {
    "injection", "injections", "attack", "attacks", "attacker", "attackers", "detect", "detects",
    "detecting", "detection", "examples", "detector", "prevent", "preventing", "prevention", "defend",
    "defending", "defense", "defence", "mitigate", "mitigating", "mitigation", "classifier",
    "classify", "classifies", "quote", "quoted", "quotes", "pattern", "patterns", "regex",
    "adversarial", "vulnerable", "vulnerability", "sanitize", "sanitise", "sanitizing",
    "heuristic", "heuristics", "phishing", "suspicious", "meme", "e", "g", NULL};
static const char *const negations[] = {"not", "don't", "dont", "never", "no", "shouldn't",
                                        "won't", "cannot", "can't", "mustn't", "didn't",
                                        "doesn't", "without", NULL};

#define MAX_PATTERNS  (SY_ARRAY_LEN(pat_src))
#define MAX_SLOTS     12
#define MAX_ALTS      2048
#define MAX_HASHES    4096
#define TABLE_SIZE    2048 /* power of two, > distinct words */
#define RING          32
#define DAMP_WORDS    24
#define DAMP_FACTOR   0.5f

/* Signals other than the phrase patterns (which are 0 .. MAX_PATTERNS-1). */
enum {
    SIG_TEMPLATE = 200, /* chat-template tokens: <|im_start|>, <|eot_id|> ... */
    SIG_SYSTEM_TURN,    /* a template token that opens a system turn */
    SIG_INST,           /* [INST], <<SYS>> */
    SIG_XML_ROLE,       /* <system>, </user> ... */
    SIG_MD_HEADER,      /* ### system, ### instruction */
    SIG_LINE_SYSTEM,    /* "system:", "admin:" at a line start */
    SIG_LINE_CHAT,      /* "assistant:", "human:", "user:" at a line start */
    SIG_CSS_HIDDEN,
    SIG_MD_COMMENT,
    SIG_EXFIL_IMAGE,
    SIG_B64_PHRASE,
    SIG_B64_TEXT,
    SIG_TAGS,
    SIG_TAGS_PHRASE,
    SIG_ZW,
    SIG_ZW_PHRASE,
    SIG_BIDI,
    SIG_END
};
_Static_assert(SY_ARRAY_LEN(pat_src) < SIG_TEMPLATE, "injection signals overlap");
_Static_assert(SIG_END <= SY_GUARD_INJ_SIGNALS, "injection signals exceed the accumulator");

typedef struct {
    uint16_t first, n; /* alternatives alts[first .. first+n) */
    uint8_t optional, gap;
} slot_t;

typedef struct {
    uint16_t first; /* words hashes[first .. first+len), in order */
    uint8_t len;
} alt_t;

typedef struct {
    slot_t slots[MAX_SLOTS];
    uint8_t nslots, family, flags;
    float weight;
} pat_t;

typedef struct {
    uint64_t hash;
    int16_t pats; /* head of the list of patterns whose last slot ends with this word */
    uint8_t discuss, neg, used;
} entry_t;

static struct {
    pat_t pats[MAX_PATTERNS];
    alt_t alts[MAX_ALTS];
    size_t nalts;
    uint64_t hashes[MAX_HASHES];
    size_t nhashes;
    int16_t next_pat[MAX_PATTERNS * 64]; /* list nodes: pattern index and next */
    int16_t node_pat[MAX_PATTERNS * 64];
    size_t nnodes;
    entry_t table[TABLE_SIZE];
} g;

static pthread_once_t g_once = PTHREAD_ONCE_INIT;

/* Byte classes of the character pass. */
enum { CC_B64 = 1, CC_TRIG = 2, CC_HIGH = 4 };
static uint8_t cc[256];

static entry_t *entry(uint64_t h, bool insert)
{
    size_t i = (size_t)(h ^ (h >> 29)) & (TABLE_SIZE - 1);
    for (;;) {
        entry_t *e = &g.table[i];
        if (e->used && e->hash == h)
            return e;
        if (!e->used) {
            if (!insert)
                return NULL;
            *e = (entry_t){.hash = h, .pats = -1, .used = 1};
            return e;
        }
        i = (i + 1) & (TABLE_SIZE - 1);
    }
}

static void index_pattern(size_t p, uint64_t last_word)
{
    entry_t *e = entry(last_word, true);
    for (int16_t k = e->pats; k >= 0; k = g.next_pat[k])
        if ((size_t)g.node_pat[k] == p)
            return;
    if (g.nnodes == SY_ARRAY_LEN(g.node_pat))
        sy_panic("guard: injection index full");
    g.node_pat[g.nnodes] = (int16_t)p;
    g.next_pat[g.nnodes] = e->pats;
    e->pats = (int16_t)g.nnodes++;
}

static void build(void)
{
    for (size_t p = 0; p < MAX_PATTERNS; p++) {
        pat_t *pt = &g.pats[p];
        pt->family = pat_src[p].family;
        pt->flags = pat_src[p].flags;
        pt->weight = pat_src[p].weight;
        const char *s = pat_src[p].text;
        while (*s) {
            while (*s == ' ')
                s++;
            if (!*s)
                break;
            if (pt->nslots == MAX_SLOTS)
                sy_panic("guard: injection pattern %zu has too many slots", p);
            slot_t *sl = &pt->slots[pt->nslots++];
            *sl = (slot_t){.first = (uint16_t)g.nalts};
            if (*s == '*') {
                sl->gap = (uint8_t)(s[1] - '0');
                s += 2;
                continue;
            }
            if (*s == '?') {
                sl->optional = 1;
                s++;
            }
            for (;;) { /* alternatives */
                if (g.nalts == MAX_ALTS)
                    sy_panic("guard: too many injection pattern alternatives");
                alt_t *al = &g.alts[g.nalts];
                *al = (alt_t){.first = (uint16_t)g.nhashes};
                for (;;) { /* words of one alternative */
                    const char *w = s;
                    while (*s && *s != '|' && *s != ' ' && *s != '+')
                        s++;
                    if (s > w) {
                        if (g.nhashes == MAX_HASHES)
                            sy_panic("guard: too many injection pattern words");
                        g.hashes[g.nhashes++] = sy_guard_word_hash(w, (size_t)(s - w));
                        al->len++;
                    }
                    if (*s != '+')
                        break;
                    s++;
                }
                if (al->len) {
                    g.nalts++;
                    sl->n++;
                }
                if (*s != '|')
                    break;
                s++;
            }
        }
        const slot_t *last = &pt->slots[pt->nslots - 1];
        if (last->gap || last->optional || last->n == 0)
            sy_panic("guard: injection pattern %zu must end with a required word", p);
        for (uint16_t k = 0; k < last->n; k++) {
            const alt_t *al = &g.alts[last->first + k];
            index_pattern(p, g.hashes[al->first + al->len - 1]);
        }
    }
    for (int c = 0; c < 256; c++) {
        bool b64 = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                   c == '+' || c == '/' || c == '-' || c == '_';
        cc[c] = (uint8_t)((b64 ? CC_B64 : 0) | (c >= 0x80 ? CC_HIGH : 0) |
                          ((c == '<' || c == '[' || c == '#' || c == '\n' || c == ':' || c == '!')
                               ? CC_TRIG
                               : 0));
    }
    for (const char *const *w = discuss_words; *w; w++)
        entry(sy_guard_word_hash(*w, strlen(*w)), true)->discuss = 1;
    for (const char *const *w = negations; *w; w++)
        entry(sy_guard_word_hash(*w, strlen(*w)), true)->neg = 1;
}

/* ---- matching ---- */

typedef struct {
    sy_guard_word_t w[RING];
    const entry_t *e[RING];
    size_t count; /* words seen */
} ring_t;

/* Word `back` positions before the newest (0 = newest). */
static const sy_guard_word_t *ring_word(const ring_t *r, size_t back)
{
    return &r->w[(r->count - 1 - back) % RING];
}

/* Whether alternative `al` ends at word `back` (its words going backwards). */
static bool alt_at(const alt_t *al, const ring_t *r, size_t back, size_t avail)
{
    if (back + al->len > avail)
        return false;
    for (size_t k = 0; k < al->len; k++)
        if (ring_word(r, back + k)->hash != g.hashes[(size_t)al->first + al->len - 1 - k])
            return false;
    return true;
}

/* Match slots [0..slot] backwards with word `back` the next to consume.
 * On success *first is the back index of the earliest consumed word. */
static bool match_back(const pat_t *p, int slot, const ring_t *r, size_t back, size_t *first)
{
    if (slot < 0) {
        *first = back - 1;
        return true;
    }
    const slot_t *sl = &p->slots[slot];
    size_t avail = SY_MIN(r->count, (size_t)RING);
    if (sl->gap) {
        for (size_t k = 0; k <= sl->gap && back + k < avail; k++)
            if (match_back(p, slot - 1, r, back + k, first))
                return true;
        return false;
    }
    for (uint16_t a = 0; a < sl->n; a++) {
        const alt_t *al = &g.alts[sl->first + a];
        if (alt_at(al, r, back, avail) && match_back(p, slot - 1, r, back + al->len, first))
            return true;
    }
    return sl->optional && match_back(p, slot - 1, r, back, first);
}

typedef struct {
    size_t start, end, word;
    uint16_t rule;
    float weight;
    bool damped;
} pending_t;

#define MAX_PENDING 8

typedef struct {
    sy_guard_findings_t *out; /* NULL: only track the best weight */
    float best;
    pending_t pend[MAX_PENDING];
    size_t npend;
    size_t last_discuss; /* word index + 1 of the last discussion word, 0 none */
} sink_t;

static uint16_t inj_rule(unsigned family, unsigned signal)
{
    return (uint16_t)(family | (signal << 4));
}

static void commit(sink_t *k, size_t i)
{
    pending_t *p = &k->pend[i];
    if (p->weight > k->best)
        k->best = p->weight;
    if (k->out)
        sy_guard_push(k->out, SY_GUARD_INJECTION, p->rule, p->start, p->end, p->weight);
    memmove(&k->pend[i], &k->pend[i + 1], (k->npend - i - 1) * sizeof(*p));
    k->npend--;
}

static void add(sink_t *k, size_t word, size_t start, size_t end, uint16_t rule, float weight)
{
    if (k->npend == MAX_PENDING)
        commit(k, 0);
    bool damp = k->last_discuss && word + 1 - k->last_discuss <= DAMP_WORDS;
    k->pend[k->npend++] = (pending_t){start, end, word, rule,
                                      damp ? weight * DAMP_FACTOR : weight, damp};
}

/* Run the phrase patterns over the words of `src`; report to `k`. */
static void phrases(sy_guard_wsrc_t *src, sink_t *k)
{
    ring_t r;
    r.count = 0;
    sy_guard_word_t w;
    while (sy_guard_wsrc_next(src, &w)) {
        size_t idx = r.count;
        r.w[idx % RING] = w;
        const entry_t *e = w.len <= 32 ? entry(w.hash, false) : NULL;
        r.e[idx % RING] = e;
        r.count++;
        /* Commit pending matches too old to be damped any more. */
        while (k->npend && k->pend[0].word + DAMP_WORDS < idx)
            commit(k, 0);
        if (e == NULL)
            continue;
        if (e->discuss) {
            k->last_discuss = idx + 1;
            for (size_t q = 0; q < k->npend; q++) {
                if (!k->pend[q].damped) {
                    k->pend[q].weight *= DAMP_FACTOR;
                    k->pend[q].damped = true;
                }
            }
        }
        for (int16_t node = e->pats; node >= 0; node = g.next_pat[node]) {
            size_t pi = (size_t)g.node_pat[node];
            const pat_t *p = &g.pats[pi];
            size_t first;
            if (!match_back(p, p->nslots - 1, &r, 0, &first))
                continue;
            if (p->flags & P_NEG) {
                bool negated = false;
                size_t avail = SY_MIN(r.count, (size_t)RING);
                for (size_t b = first + 1; b <= first + 2 && b < avail && !negated; b++) {
                    const entry_t *pe = r.e[(r.count - 1 - b) % RING];
                    negated = pe && pe->neg;
                }
                if (negated)
                    continue;
            }
            add(k, idx, ring_word(&r, first)->start, w.end, inj_rule(p->family, (unsigned)pi),
                p->weight);
        }
    }
    while (k->npend)
        commit(k, 0);
}

float sy_guard_inject_phrases_weight(const unsigned char *s, size_t n)
{
    pthread_once(&g_once, build);
    sink_t k = {0};
    sy_guard_wsrc_t src = {.s = s, .n = n};
    phrases(&src, &k);
    return k.best;
}

static void push_sig(sy_guard_findings_t *out, unsigned family, unsigned signal, size_t st,
                     size_t en, float w)
{
    sy_guard_push(out, SY_GUARD_INJECTION, inj_rule(family, signal), st, en, w);
}

/* ------------------------------------------------------------------------ */
/* Character-level signals                                                  */
/* ------------------------------------------------------------------------ */

#define B64_MIN      32
#define B64_MAX      65536
#define DECODED_MIN  16

/* Base64 digit values (standard and URL-safe alphabets), -1 for others. */
static const int8_t b64_tab[256] = {
    ['A'] = 0,  ['B'] = 1,  ['C'] = 2,  ['D'] = 3,  ['E'] = 4,  ['F'] = 5,  ['G'] = 6,
    ['H'] = 7,  ['I'] = 8,  ['J'] = 9,  ['K'] = 10, ['L'] = 11, ['M'] = 12, ['N'] = 13,
    ['O'] = 14, ['P'] = 15, ['Q'] = 16, ['R'] = 17, ['S'] = 18, ['T'] = 19, ['U'] = 20,
    ['V'] = 21, ['W'] = 22, ['X'] = 23, ['Y'] = 24, ['Z'] = 25, ['a'] = 26, ['b'] = 27,
    ['c'] = 28, ['d'] = 29, ['e'] = 30, ['f'] = 31, ['g'] = 32, ['h'] = 33, ['i'] = 34,
    ['j'] = 35, ['k'] = 36, ['l'] = 37, ['m'] = 38, ['n'] = 39, ['o'] = 40, ['p'] = 41,
    ['q'] = 42, ['r'] = 43, ['s'] = 44, ['t'] = 45, ['u'] = 46, ['v'] = 47, ['w'] = 48,
    ['x'] = 49, ['y'] = 50, ['z'] = 51, ['0'] = 52, ['1'] = 53, ['2'] = 54, ['3'] = 55,
    ['4'] = 56, ['5'] = 57, ['6'] = 58, ['7'] = 59, ['8'] = 60, ['9'] = 61, ['+'] = 62,
    ['-'] = 62, ['/'] = 63, ['_'] = 63,
};

static inline int b64_value(unsigned char c)
{
    int v = b64_tab[c];
    return (v || c == 'A') ? v : -1;
}

/* Decode a base64 run and score what it says. */
static void encoded_run(const unsigned char *s, size_t st, size_t en, sy_guard_findings_t *out)
{
    size_t len = en - st;
    if (len > B64_MAX || out->arena == NULL)
        return;
    unsigned char *d = sy_arena_alloc(out->arena, len);
    size_t nd = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t k = st; k < en; k++) {
        int v = b64_value(s[k]);
        if (v < 0)
            break;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            d[nd++] = (unsigned char)(acc >> bits);
        }
    }
    if (nd < DECODED_MIN)
        return;
    size_t printable = 0, spaces = 0;
    for (size_t k = 0; k < nd; k++) {
        unsigned char c = d[k];
        if ((c >= 0x20 && c < 0x7f) || c == '\n' || c == '\t' || c == '\r')
            printable++;
        if (c == ' ')
            spaces++;
    }
    if (printable * 100 < nd * 95)
        return; /* binary: an image, a key, a hash */
    float w = sy_guard_inject_phrases_weight(d, nd);
    if (w >= 0.5f)
        push_sig(out, SY_GUARD_INJ_ENCODED, SIG_B64_PHRASE, st, en, 0.9f);
    else if (spaces * 100 >= nd * 10)
        push_sig(out, SY_GUARD_INJ_ENCODED, SIG_B64_TEXT, st, en, 0.3f);
}

/* A run of tag characters (U+E0000..E007F) at s[i]; returns its end. */
static size_t tags_run(const unsigned char *s, size_t n, size_t i, sy_guard_findings_t *out)
{
    size_t j = i, count = 0;
    bool cancel_last = false;
    while (j + 4 <= n && s[j] == 0xF3 && s[j + 1] == 0xA0 && (s[j + 2] == 0x80 || s[j + 2] == 0x81) &&
           s[j + 3] >= 0x80 && s[j + 3] <= 0xBF) {
        cancel_last = s[j + 2] == 0x81 && s[j + 3] == 0xBF;
        j += 4;
        count++;
    }
    if (count == 0)
        return i; /* a truncated sequence, not a tag */
    /* Emoji tag sequences (subdivision flags): U+1F3F4, tags, U+E007F. */
    if (i >= 4 && s[i - 4] == 0xF0 && s[i - 3] == 0x9F && s[i - 2] == 0x8F && s[i - 1] == 0xB4 &&
        cancel_last && count <= 7)
        return j;
    if (count >= 4 && out->arena && count <= B64_MAX) {
        unsigned char *d = sy_arena_alloc(out->arena, count);
        for (size_t k = 0; k < count; k++)
            d[k] = (unsigned char)(((s[i + k * 4 + 2] & 1) << 6) | (s[i + k * 4 + 3] & 0x3F));
        if (sy_guard_inject_phrases_weight(d, count) >= 0.5f) {
            push_sig(out, SY_GUARD_INJ_SMUGGLING, SIG_TAGS_PHRASE, i, j, 0.95f);
            return j;
        }
    }
    push_sig(out, SY_GUARD_INJ_SMUGGLING, SIG_TAGS, i, j, count >= 4 ? 0.9f : 0.5f);
    return j;
}

/* Literal markers, lowercase, matched case-insensitively. */
static const struct {
    const char *lit;
    uint8_t family;
    uint8_t signal;
    float weight;
} markers[] = {
    {"<|im_start|>system", SY_GUARD_INJ_DELIMITER, SIG_SYSTEM_TURN, 0.8f},
    {"<|im_start|>", SY_GUARD_INJ_DELIMITER, SIG_TEMPLATE, 0.7f},
    {"<|im_end|>", SY_GUARD_INJ_DELIMITER, SIG_TEMPLATE, 0.7f},
    {"<|system|>", SY_GUARD_INJ_DELIMITER, SIG_SYSTEM_TURN, 0.8f},
    {"<|endoftext|>", SY_GUARD_INJ_DELIMITER, SIG_TEMPLATE, 0.7f},
    {"<|eot_id|>", SY_GUARD_INJ_DELIMITER, SIG_TEMPLATE, 0.7f},
    {"<|start_header_id|>system", SY_GUARD_INJ_DELIMITER, SIG_SYSTEM_TURN, 0.8f},
    {"<|start_header_id|>", SY_GUARD_INJ_DELIMITER, SIG_TEMPLATE, 0.7f},
    {"<<sys>>", SY_GUARD_INJ_DELIMITER, SIG_INST, 0.7f},
    {"<</sys>>", SY_GUARD_INJ_DELIMITER, SIG_INST, 0.7f},
    {"[inst]", SY_GUARD_INJ_DELIMITER, SIG_INST, 0.6f},
    {"[/inst]", SY_GUARD_INJ_DELIMITER, SIG_INST, 0.6f},
    {"<system>", SY_GUARD_INJ_DELIMITER, SIG_XML_ROLE, 0.5f},
    {"</system>", SY_GUARD_INJ_DELIMITER, SIG_XML_ROLE, 0.5f},
    {"<system_prompt>", SY_GUARD_INJ_DELIMITER, SIG_XML_ROLE, 0.6f},
    {"</system_prompt>", SY_GUARD_INJ_DELIMITER, SIG_XML_ROLE, 0.6f},
    {"</instructions>", SY_GUARD_INJ_DELIMITER, SIG_XML_ROLE, 0.4f},
    {"</user>", SY_GUARD_INJ_DELIMITER, SIG_XML_ROLE, 0.5f},
    {"<admin>", SY_GUARD_INJ_DELIMITER, SIG_XML_ROLE, 0.5f},
    {"[system]", SY_GUARD_INJ_DELIMITER, SIG_XML_ROLE, 0.6f},
    {"[system message]", SY_GUARD_INJ_DELIMITER, SIG_XML_ROLE, 0.6f},
    {"[admin]", SY_GUARD_INJ_DELIMITER, SIG_XML_ROLE, 0.5f},
    {"[developer]", SY_GUARD_INJ_DELIMITER, SIG_XML_ROLE, 0.5f},
    {"### system", SY_GUARD_INJ_DELIMITER, SIG_MD_HEADER, 0.5f},
    {"### instruction", SY_GUARD_INJ_DELIMITER, SIG_MD_HEADER, 0.5f},
    {"### new instruction", SY_GUARD_INJ_DELIMITER, SIG_MD_HEADER, 0.6f},
    {"## system prompt", SY_GUARD_INJ_DELIMITER, SIG_MD_HEADER, 0.5f},
    {"[//]: #", SY_GUARD_INJ_HIDDEN, SIG_MD_COMMENT, 0.3f},
};

/* Role labels at the start of a line ("system:", "assistant:"): a fake turn. */
static const struct {
    const char *lit;
    uint8_t signal;
    float weight;
} line_roles[] = {
    {"system:", SIG_LINE_SYSTEM, 0.6f},    {"admin:", SIG_LINE_SYSTEM, 0.5f},
    {"developer:", SIG_LINE_SYSTEM, 0.5f}, {"assistant:", SIG_LINE_CHAT, 0.35f},
    {"human:", SIG_LINE_CHAT, 0.3f},       {"user:", SIG_LINE_CHAT, 0.25f},
};

static void line_role(const unsigned char *s, size_t n, size_t j, sy_guard_findings_t *out)
{
    while (j < n && (s[j] == ' ' || s[j] == '\t' || s[j] == '#' || s[j] == '*'))
        j++;
    for (size_t m = 0; m < SY_ARRAY_LEN(line_roles); m++) {
        size_t l = strlen(line_roles[m].lit);
        if (g_lit(s, n, j, line_roles[m].lit, l)) {
            push_sig(out, SY_GUARD_INJ_ROLE, line_roles[m].signal, j, j + l, line_roles[m].weight);
            return;
        }
    }
}

/* CSS that hides text: property name before ':' and the value after. */
static size_t css_hidden(const unsigned char *s, size_t n, size_t i)
{
    static const struct {
        const char *prop, *val;
    } rules[] = {
        {"display", "none"},        {"visibility", "hidden"}, {"font-size", "0"},
        {"font-size", "1px"},       {"opacity", "0"},         {"color", "white"},
        {"color", "#fff"},          {"color", "transparent"}, {"height", "0"},
    };
    for (size_t r = 0; r < SY_ARRAY_LEN(rules); r++) {
        size_t pl = strlen(rules[r].prop);
        size_t k = i;
        while (k > 0 && s[k - 1] == ' ')
            k--;
        if (k < pl || !g_lit(s, n, k - pl, rules[r].prop, pl))
            continue;
        size_t v = i + 1;
        while (v < n && s[v] == ' ')
            v++;
        size_t vl = strlen(rules[r].val);
        if (!g_lit(s, n, v, rules[r].val, vl))
            continue;
        size_t e = v + vl;
        if (rules[r].val[0] == '0' && e < n && (g_is_digit(s[e]) || s[e] == '.'))
            continue;
        return e;
    }
    return 0;
}

/* ![alt](http...?x={...}): an image link whose URL carries a template. */
static size_t exfil_image(const unsigned char *s, size_t n, size_t i)
{
    size_t j = i + 2, lim = SY_MIN(n, i + 2 + 200);
    while (j < lim && s[j] != ']' && s[j] != '\n')
        j++;
    if (j + 5 >= n || s[j] != ']' || s[j + 1] != '(' || !G_LIT(s, n, j + 2, "http"))
        return 0;
    size_t u = j + 2, ulim = SY_MIN(n, u + 400);
    bool query = false, templ = false;
    for (; u < ulim && s[u] != ')' && s[u] != ' ' && s[u] != '\n'; u++) {
        if (s[u] == '?')
            query = true;
        if (query && (s[u] == '{' || s[u] == '[' || s[u] == '<' || s[u] == '$' ||
                      G_LIT(s, n, u, "%7b")))
            templ = true;
    }
    return query && templ ? u : 0;
}

/* Invisible characters between letters: re-read the text with each one as
 * a space, in case they glue an instruction's words together. */
static void invisible_words(const unsigned char *s, size_t n, size_t from, size_t to,
                            sy_guard_findings_t *out)
{
    if (out->arena == NULL || to - from > B64_MAX)
        return;
    unsigned char *d = sy_arena_alloc(out->arena, to - from);
    size_t nd = 0;
    for (size_t i = from; i < to;) {
        size_t inv = sy_guard_invisible_len(s, n, i);
        if (inv) {
            d[nd++] = ' ';
            i += inv;
        } else {
            d[nd++] = s[i++];
        }
    }
    if (sy_guard_inject_phrases_weight(d, nd) >= 0.5f)
        push_sig(out, SY_GUARD_INJ_SMUGGLING, SIG_ZW_PHRASE, from, to, 0.9f);
}

static void chars(const unsigned char *s, size_t n, sy_guard_findings_t *out)
{
    size_t zw = 0, zw_first = 0, zw_last = 0, bidi = 0, bidi_first = 0, bidi_last = 0;
    size_t i = 0;
    line_role(s, n, 0, out);
    while (i < n && !out->truncated) {
        unsigned char c = s[i];
        uint8_t k = cc[c];
        if (k == 0) {
            i++;
            continue;
        }
        if (k & CC_B64) {
            /* A run of base64 digits: long ones are decoded and re-read. */
            size_t j = i + 1;
            while (j < n && (cc[s[j]] & CC_B64))
                j++;
            bool starts = i == 0 || s[i - 1] != '=';
            size_t e = j;
            while (e < n && e - j < 2 && s[e] == '=')
                e++;
            if (starts && j - i >= B64_MIN && (e >= n || !(cc[s[e]] & CC_B64)))
                encoded_run(s, i, j, out);
            i = j;
            continue;
        }
        if (c >= 0x80) {
            if (c == 0xF3 && i + 4 <= n && s[i + 1] == 0xA0 &&
                (s[i + 2] == 0x80 || s[i + 2] == 0x81)) {
                size_t e = tags_run(s, n, i, out);
                i = e > i ? e : i + 1;
                continue;
            }
            if (c == 0xE2 && i + 3 <= n && s[i + 1] == 0x80 && s[i + 2] >= 0xAA && s[i + 2] <= 0xAE) {
                if (!bidi++)
                    bidi_first = i;
                bidi_last = i + 3;
            } else if (c == 0xE2 && i + 3 <= n && s[i + 1] == 0x81 && s[i + 2] >= 0xA6 &&
                       s[i + 2] <= 0xA9) {
                if (!bidi++)
                    bidi_first = i;
                bidi_last = i + 3;
            } else if (c != 0xC2) {
                size_t inv = sy_guard_invisible_len(s, n, i);
                if (inv && i > 0 && g_is_alpha(s[i - 1]) && i + inv < n &&
                    g_is_alpha(s[i + inv])) {
                    if (!zw++)
                        zw_first = i;
                    zw_last = i + inv;
                }
            }
            i++;
            continue;
        }
        switch (c) {
        case '<':
        case '[':
        case '#':
            for (size_t m = 0; m < SY_ARRAY_LEN(markers); m++) {
                size_t l = strlen(markers[m].lit);
                if ((unsigned char)markers[m].lit[0] == c && g_lit(s, n, i, markers[m].lit, l)) {
                    push_sig(out, markers[m].family, markers[m].signal, i, i + l,
                             markers[m].weight);
                    break;
                }
            }
            i++;
            continue;
        case '\n':
            line_role(s, n, i + 1, out);
            i++;
            continue;
        case ':': {
            size_t e = css_hidden(s, n, i);
            if (e) {
                push_sig(out, SY_GUARD_INJ_HIDDEN, SIG_CSS_HIDDEN, i, e, 0.5f);
                i = e;
                continue;
            }
            i++;
            continue;
        }
        case '!':
            if (i + 1 < n && s[i + 1] == '[') {
                size_t e = exfil_image(s, n, i);
                if (e) {
                    push_sig(out, SY_GUARD_INJ_HIDDEN, SIG_EXFIL_IMAGE, i, e, 0.85f);
                    i = e;
                    continue;
                }
            }
            i++;
            continue;
        default:
            break;
        }
        i++;
    }
    if (zw) {
        if (zw >= 3)
            push_sig(out, SY_GUARD_INJ_SMUGGLING, SIG_ZW, zw_first, zw_last,
                     zw >= 8 ? 0.7f : 0.5f);
        invisible_words(s, n, zw_first > 64 ? zw_first - 64 : 0, SY_MIN(n, zw_last + 64), out);
    }
    if (bidi)
        push_sig(out, SY_GUARD_INJ_SMUGGLING, SIG_BIDI, bidi_first, bidi_last,
                 bidi >= 3 ? 0.5f : 0.3f);
}

void sy_guard_inject_scan_words(const unsigned char *s, size_t n, sy_guard_wsrc_t *src,
                                sy_guard_findings_t *out)
{
    pthread_once(&g_once, build);
    if (n == 0)
        return;
    sink_t k = {.out = out};
    phrases(src, &k);
    chars(s, n, out);
}

size_t sy_guard_scan_injection(sy_str_t text, sy_guard_findings_t *out)
{
    size_t before = out->n;
    sy_guard_wsrc_t src = {.s = (const unsigned char *)text.p, .n = text.len};
    sy_guard_inject_scan_words((const unsigned char *)text.p, text.len, &src, out);
    return out->n - before;
}
