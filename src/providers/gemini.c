/*
 * gemini.c - the Gemini adapter (Google AI generateContent, and Vertex AI
 * with an API key): the vtable and the request encoder.
 *
 * The request is POST {base_path}/v1beta/models/{model}:generateContent, or
 * :streamGenerateContent?alt=sse for a stream, with the key in
 * x-goog-api-key. A base_url whose path already names an API version
 * ("/v1", "/v1beta", Vertex's "/v1/projects/P/locations/L/publishers/google")
 * is used as is. The mapping from the IR, and what cannot be carried, is
 * written out in docs/internals/translation.md ("Gemini"); the rules that
 * need a decision are repeated at the code that makes them.
 */
#include "providers/gemini.h"

#include <string.h>

#include "providers/wire.h"

/* One Gemini part to write, gathered first so thought signatures can be
 * moved onto the part they belong to before anything is written. */
typedef enum {
    GP_TEXT,
    GP_THOUGHT,
    GP_SIGNATURE, /* a signature alone: {"text":"","thoughtSignature":...} */
    GP_IMAGE,
    GP_CALL,
    GP_RESULT,
} gp_kind_t;

typedef struct {
    gp_kind_t kind;
    bool dropped;
    const sy_ir_part_t *p;
    const sy_ir_image_t *img;
    sy_str_t sig;
    sy_str_t name; /* GP_RESULT: the function's name */
} gpart_t;

typedef struct {
    sy_arena_t *a;
    const sy_provider_ctx_t *cx;
    const sy_ir_request_t *req;
    sy_json_writer_t *w;
    sy_ir_error_t *err;
    bool dummy_signatures;
    gpart_t *parts;
    size_t nparts, cap;
} enc_t;

static int bad_request(enc_t *e, const char *msg)
{
    e->err->cls = SY_IR_ERR_BAD_REQUEST;
    e->err->status = 400;
    e->err->message = sy_str_c(msg);
    return SY_EINVAL;
}

static const char *role_of(sy_ir_role_t r)
{
    return r == SY_IR_ASSISTANT ? "model" : "user";
}

/* ---- gathering parts ---- */

static gpart_t *add_part(enc_t *e, gp_kind_t kind, const sy_ir_part_t *p)
{
    if (e->nparts == e->cap) {
        size_t ncap = e->cap ? e->cap * 2 : 16;
        e->parts = sy_arena_realloc(e->a, e->parts, e->cap * sizeof(*e->parts),
                                    ncap * sizeof(*e->parts));
        e->cap = ncap;
    }
    gpart_t *g = &e->parts[e->nparts++];
    memset(g, 0, sizeof(*g));
    g->kind = kind;
    g->p = p;
    return g;
}

/*
 * Gemini's calls carry no id unless it chooses to send one: a
 * functionResponse names the function, and responses pair with calls by
 * name and order (the ids we send along, the decoder's synthetic ones
 * included, are the optional FunctionCall.id / FunctionResponse.id, which
 * the API accepts from clients and uses to pair them). A tool result's name is
 * the name of the call with its call_id, searched from the nearest earlier
 * message back (ids the decoder synthesised repeat across turns; the nearest
 * is the one answered). A result whose id matches no call falls back to the
 * name the front door carried, else the request is refused.
 */
static sy_str_t call_name(const sy_ir_request_t *r, size_t before, sy_str_t call_id)
{
    for (size_t m = before; m-- > 0;) {
        const sy_ir_message_t *msg = &r->messages[m];
        for (size_t i = 0; i < msg->nparts; i++)
            if (msg->parts[i].kind == SY_IR_TOOL_CALL && sy_str_eq(msg->parts[i].call_id, call_id))
                return msg->parts[i].name;
    }
    return SY_STR_NULL;
}

static int gather_message(enc_t *e, size_t m)
{
    const sy_ir_message_t *msg = &e->req->messages[m];
    for (size_t i = 0; i < msg->nparts; i++) {
        const sy_ir_part_t *p = &msg->parts[i];
        switch (p->kind) {
        case SY_IR_TEXT:
            /* Vertex refuses empty text parts */
            if (p->text.len)
                add_part(e, GP_TEXT, p);
            break;
        case SY_IR_IMAGE:
            add_part(e, GP_IMAGE, p)->img = &p->image;
            break;
        case SY_IR_TOOL_CALL:
            if (p->name.len == 0)
                return bad_request(e, "a tool call in the conversation has no function name");
            add_part(e, GP_CALL, p)->sig = p->signature;
            break;
        case SY_IR_TOOL_RESULT: {
            sy_str_t name = call_name(e->req, m, p->call_id);
            if (name.len == 0)
                name = p->name;
            if (name.len == 0)
                return bad_request(e, "a tool result answers no earlier tool call: gemini needs "
                                      "the function's name, found from the call's id");
            add_part(e, GP_RESULT, p)->name = name;
            /* images a tool returned follow its functionResponse as parts of
             * the same turn (every Gemini version takes inline parts there) */
            for (size_t k = 0; k < p->ncontent; k++)
                if (p->content[k].kind == SY_IR_IMAGE)
                    add_part(e, GP_IMAGE, &p->content[k])->img = &p->content[k].image;
            break;
        }
        case SY_IR_THINKING:
            if (p->text.len)
                add_part(e, GP_THOUGHT, p)->sig = p->signature;
            else if (p->signature.len)
                add_part(e, GP_SIGNATURE, p)->sig = p->signature;
            break;
        case SY_IR_REDACTED_THINKING:
            break; /* another provider's opaque data: nothing Gemini can use */
        }
    }
    return SY_OK;
}

/*
 * A thinking block with a signature and no text is how the decoder carries
 * a thoughtSignature that Gemini put on a functionCall (block before the
 * call) or on a text part (block after the text). Put it back there: on the
 * next part when that is a call without a signature, else on the previous
 * text or call without one, else as an empty text part with the signature
 * (the form Gemini 3 itself streams).
 */
static void place_signatures(enc_t *e, size_t from, bool model_turn)
{
    for (size_t i = from; i < e->nparts; i++) {
        gpart_t *g = &e->parts[i];
        if (g->kind != GP_SIGNATURE)
            continue;
        gpart_t *next = i + 1 < e->nparts ? &e->parts[i + 1] : NULL;
        gpart_t *prev = NULL;
        for (size_t k = i; k-- > from;)
            if (!e->parts[k].dropped) {
                prev = &e->parts[k];
                break;
            }
        if (next && next->kind == GP_CALL && next->sig.len == 0) {
            next->sig = g->sig;
            g->dropped = true;
        } else if (prev && (prev->kind == GP_TEXT || prev->kind == GP_CALL) && prev->sig.len == 0) {
            prev->sig = g->sig;
            g->dropped = true;
        }
    }
    if (!model_turn || !e->dummy_signatures)
        return;
    for (size_t i = from; i < e->nparts; i++)
        if (e->parts[i].kind == GP_CALL) {
            if (e->parts[i].sig.len == 0)
                e->parts[i].sig = SY_STR(SY_GEMINI_DUMMY_SIGNATURE);
            break;
        }
}

/* ---- writing parts ---- */

static void write_sig(sy_json_writer_t *w, sy_str_t sig)
{
    if (sig.len) {
        sy_json_write_key(w, SY_STR("thoughtSignature"));
        sy_json_write_string(w, sig);
    }
}

static void write_image(enc_t *e, const sy_ir_image_t *img)
{
    sy_json_writer_t *w = e->w;
    sy_str_t type, data;
    if (sy_wire_image_inline(img, &type, &data)) {
        sy_json_write_key(w, SY_STR("inlineData"));
        sy_json_write_begin_object(w);
        sy_json_write_key(w, SY_STR("mimeType"));
        sy_json_write_string(w, type);
        sy_json_write_key(w, SY_STR("data"));
        sy_json_write_string(w, data);
        sy_json_write_end_object(w);
        return;
    }
    /* A URL goes as fileData (File API, gs:// on Vertex, public URLs where
     * the model may fetch them); Gemini requires its media type, taken from
     * the extension, image/jpeg when it names none. */
    type = sy_wire_image_type_from_url(img->url);
    sy_json_write_key(w, SY_STR("fileData"));
    sy_json_write_begin_object(w);
    sy_json_write_key(w, SY_STR("mimeType"));
    sy_json_write_string(w, type.len ? type : SY_STR("image/jpeg"));
    sy_json_write_key(w, SY_STR("fileUri"));
    sy_json_write_string(w, img->url);
    sy_json_write_end_object(w);
}

/* The text of a tool result: its text parts joined by newlines. */
static sy_str_t result_text(sy_arena_t *a, const sy_ir_part_t *p)
{
    size_t n = 0, count = 0;
    sy_str_t only = SY_STR("");
    for (size_t i = 0; i < p->ncontent; i++)
        if (p->content[i].kind == SY_IR_TEXT && p->content[i].text.len) {
            n += p->content[i].text.len + 1;
            only = p->content[i].text;
            count++;
        }
    if (count <= 1)
        return only;
    char *buf = sy_arena_alloc(a, n);
    size_t o = 0;
    for (size_t i = 0; i < p->ncontent; i++)
        if (p->content[i].kind == SY_IR_TEXT && p->content[i].text.len) {
            if (o)
                buf[o++] = '\n';
            memcpy(buf + o, p->content[i].text.p, p->content[i].text.len);
            o += p->content[i].text.len;
        }
    return sy_str(buf, o);
}

static int write_part(enc_t *e, const gpart_t *g)
{
    sy_json_writer_t *w = e->w;
    sy_json_write_begin_object(w);
    switch (g->kind) {
    case GP_TEXT:
    case GP_THOUGHT:
        sy_json_write_key(w, SY_STR("text"));
        sy_json_write_string(w, g->p->text);
        if (g->kind == GP_THOUGHT) {
            sy_json_write_key(w, SY_STR("thought"));
            sy_json_write_bool(w, true);
        }
        write_sig(w, g->sig);
        break;
    case GP_SIGNATURE:
        sy_json_write_key(w, SY_STR("text"));
        sy_json_write_string(w, SY_STR(""));
        write_sig(w, g->sig);
        break;
    case GP_IMAGE:
        write_image(e, g->img);
        break;
    case GP_CALL: {
        /* args must be an object: the IR carries the arguments as JSON text */
        sy_json_t *args = NULL;
        sy_str_t text = g->p->arguments;
        if (sy_str_trim(text).len == 0)
            text = SY_STR("{}");
        if (sy_json_parse(e->a, text.p, text.len, NULL, &args, NULL) != SY_OK ||
            !sy_json_is(args, SY_JSON_OBJECT))
            return bad_request(e, "a tool call's arguments are not a JSON object (gemini takes "
                                  "function-call args as an object)");
        sy_json_write_key(w, SY_STR("functionCall"));
        sy_json_write_begin_object(w);
        if (g->p->call_id.len) {
            sy_json_write_key(w, SY_STR("id"));
            sy_json_write_string(w, g->p->call_id);
        }
        sy_json_write_key(w, SY_STR("name"));
        sy_json_write_string(w, g->p->name);
        sy_json_write_key(w, SY_STR("args"));
        sy_json_write_value(w, args);
        sy_json_write_end_object(w);
        write_sig(w, g->sig);
        break;
    }
    case GP_RESULT:
        /* response must be an object: text is wrapped as {"result": text},
         * an error result as {"error": text} (Gemini reads an "error" key as
         * the function's failure). */
        sy_json_write_key(w, SY_STR("functionResponse"));
        sy_json_write_begin_object(w);
        if (g->p->call_id.len) {
            sy_json_write_key(w, SY_STR("id"));
            sy_json_write_string(w, g->p->call_id);
        }
        sy_json_write_key(w, SY_STR("name"));
        sy_json_write_string(w, g->name);
        sy_json_write_key(w, SY_STR("response"));
        sy_json_write_begin_object(w);
        sy_json_write_key(w, g->p->is_error ? SY_STR("error") : SY_STR("result"));
        sy_json_write_string(w, result_text(e->a, g->p));
        sy_json_write_end_object(w);
        sy_json_write_end_object(w);
        break;
    }
    sy_json_write_end_object(w);
    return SY_OK;
}

/* ---- contents ---- */

/* Does a message give Gemini any part? (System messages are written as
 * systemInstruction; another provider's redacted reasoning is dropped.) */
static bool message_emits(const sy_ir_message_t *m)
{
    if (m->role == SY_IR_SYSTEM)
        return false;
    for (size_t i = 0; i < m->nparts; i++) {
        const sy_ir_part_t *p = &m->parts[i];
        switch (p->kind) {
        case SY_IR_TEXT:
            if (p->text.len)
                return true;
            break;
        case SY_IR_THINKING:
            if (p->text.len || p->signature.len)
                return true;
            break;
        case SY_IR_REDACTED_THINKING:
            break;
        default:
            return true;
        }
    }
    return false;
}

/* Consecutive messages that map to the same Gemini role (tool results and
 * the user's next words, say) become one content: Gemini expects turns to
 * alternate. Messages that leave no part are skipped. */
static int write_contents(enc_t *e)
{
    const sy_ir_request_t *r = e->req;
    sy_json_writer_t *w = e->w;
    sy_json_write_key(w, SY_STR("contents"));
    sy_json_write_begin_array(w);
    size_t m = 0;
    while (m < r->nmessages) {
        if (!message_emits(&r->messages[m])) {
            m++;
            continue;
        }
        const char *role = role_of(r->messages[m].role);
        size_t from = e->nparts;
        for (; m < r->nmessages; m++) {
            if (!message_emits(&r->messages[m]))
                continue; /* system messages go to systemInstruction */
            if (strcmp(role_of(r->messages[m].role), role) != 0)
                break;
            int rc = gather_message(e, m);
            if (rc != SY_OK)
                return rc;
        }
        place_signatures(e, from, strcmp(role, "model") == 0);
        size_t live = 0;
        for (size_t i = from; i < e->nparts; i++)
            live += !e->parts[i].dropped;
        if (live == 0)
            continue;
        sy_json_write_begin_object(w);
        sy_json_write_key(w, SY_STR("role"));
        sy_json_write_string(w, sy_str_c(role));
        sy_json_write_key(w, SY_STR("parts"));
        sy_json_write_begin_array(w);
        for (size_t i = from; i < e->nparts; i++) {
            if (e->parts[i].dropped)
                continue;
            int rc = write_part(e, &e->parts[i]);
            if (rc != SY_OK)
                return rc;
        }
        sy_json_write_end_array(w);
        sy_json_write_end_object(w);
    }
    sy_json_write_end_array(w);
    return SY_OK;
}

static void write_system(enc_t *e)
{
    const sy_ir_request_t *r = e->req;
    sy_json_writer_t *w = e->w;
    size_t n = 0;
    for (size_t i = 0; i < r->nsystem; i++)
        n += r->system[i].kind == SY_IR_TEXT && r->system[i].text.len;
    for (size_t m = 0; m < r->nmessages; m++)
        if (r->messages[m].role == SY_IR_SYSTEM)
            n += r->messages[m].nparts;
    if (n == 0)
        return;
    sy_json_write_key(w, SY_STR("systemInstruction"));
    sy_json_write_begin_object(w);
    sy_json_write_key(w, SY_STR("parts"));
    sy_json_write_begin_array(w);
    for (size_t i = 0; i < r->nsystem; i++)
        if (r->system[i].kind == SY_IR_TEXT && r->system[i].text.len) {
            sy_json_write_begin_object(w);
            sy_json_write_key(w, SY_STR("text"));
            sy_json_write_string(w, r->system[i].text);
            sy_json_write_end_object(w);
        }
    for (size_t m = 0; m < r->nmessages; m++) {
        const sy_ir_message_t *msg = &r->messages[m];
        if (msg->role != SY_IR_SYSTEM)
            continue;
        for (size_t i = 0; i < msg->nparts; i++)
            if (msg->parts[i].kind == SY_IR_TEXT && msg->parts[i].text.len) {
                sy_json_write_begin_object(w);
                sy_json_write_key(w, SY_STR("text"));
                sy_json_write_string(w, msg->parts[i].text);
                sy_json_write_end_object(w);
            }
    }
    sy_json_write_end_array(w);
    sy_json_write_end_object(w);
}

/* ---- tools and generation settings ---- */

static void write_tools(enc_t *e)
{
    const sy_ir_request_t *r = e->req;
    sy_json_writer_t *w = e->w;
    if (r->ntools == 0)
        return;
    sy_json_write_key(w, SY_STR("tools"));
    sy_json_write_begin_array(w);
    sy_json_write_begin_object(w);
    sy_json_write_key(w, SY_STR("functionDeclarations"));
    sy_json_write_begin_array(w);
    for (size_t i = 0; i < r->ntools; i++) {
        const sy_ir_tool_t *t = &r->tools[i];
        sy_json_write_begin_object(w);
        sy_json_write_key(w, SY_STR("name"));
        sy_json_write_string(w, t->name);
        if (t->description.len) {
            sy_json_write_key(w, SY_STR("description"));
            sy_json_write_string(w, t->description);
        }
        /* Gemini refuses an object schema without properties: a function
         * that takes nothing is declared without parameters */
        if (!sy_gemini_schema_is_empty_object(t->parameters)) {
            sy_json_write_key(w, SY_STR("parameters"));
            sy_gemini_write_schema(w, t->parameters);
        }
        sy_json_write_end_object(w);
    }
    sy_json_write_end_array(w);
    sy_json_write_end_object(w);
    sy_json_write_end_array(w);

    const char *mode = NULL;
    switch (r->tool_choice) {
    case SY_IR_TOOL_CHOICE_UNSET:
        break;
    case SY_IR_TOOL_CHOICE_AUTO:
        mode = "AUTO";
        break;
    case SY_IR_TOOL_CHOICE_NONE:
        mode = "NONE";
        break;
    case SY_IR_TOOL_CHOICE_REQUIRED:
    case SY_IR_TOOL_CHOICE_NAMED:
        mode = "ANY";
        break;
    }
    if (!mode)
        return;
    sy_json_write_key(w, SY_STR("toolConfig"));
    sy_json_write_begin_object(w);
    sy_json_write_key(w, SY_STR("functionCallingConfig"));
    sy_json_write_begin_object(w);
    sy_json_write_key(w, SY_STR("mode"));
    sy_json_write_string(w, sy_str_c(mode));
    if (r->tool_choice == SY_IR_TOOL_CHOICE_NAMED) {
        sy_json_write_key(w, SY_STR("allowedFunctionNames"));
        sy_json_write_begin_array(w);
        sy_json_write_string(w, r->tool_choice_name);
        sy_json_write_end_array(w);
    }
    sy_json_write_end_object(w);
    sy_json_write_end_object(w);
}

/* Gemini 3 models take a thinking level; 2.5 and earlier a token budget. */
static bool is_gemini3_or_later(sy_str_t model)
{
    return sy_str_find(model, SY_STR("gemini-1")) < 0 && sy_str_find(model, SY_STR("gemini-2")) < 0;
}

static void write_thinking(enc_t *e)
{
    const sy_ir_request_t *r = e->req;
    sy_json_writer_t *w = e->w;
    if (r->thinking_budget == 0 && r->effort == SY_IR_EFFORT_UNSET)
        return;
    sy_json_write_key(w, SY_STR("thinkingConfig"));
    sy_json_write_begin_object(w);
    if (r->thinking_budget) {
        sy_json_write_key(w, SY_STR("thinkingBudget"));
        sy_json_write_u64(w, r->thinking_budget);
    } else if (is_gemini3_or_later(e->cx->model)) {
        /* Gemini 3 Pro knows "low" and "high" only */
        bool low = r->effort == SY_IR_EFFORT_MINIMAL || r->effort == SY_IR_EFFORT_LOW;
        sy_json_write_key(w, SY_STR("thinkingLevel"));
        sy_json_write_string(w, low ? SY_STR("low") : SY_STR("high"));
    } else {
        static const uint64_t budgets[] = {0, 512, 1024, 8192, 24576};
        sy_json_write_key(w, SY_STR("thinkingBudget"));
        sy_json_write_u64(w, budgets[r->effort]);
    }
    /* thought summaries come back as thinking blocks */
    sy_json_write_key(w, SY_STR("includeThoughts"));
    sy_json_write_bool(w, true);
    sy_json_write_end_object(w);
}

static void write_generation(enc_t *e)
{
    const sy_ir_request_t *r = e->req;
    sy_json_writer_t *w = e->w;
    bool any = r->max_tokens || r->has_temperature || r->has_top_p || r->has_top_k || r->has_seed ||
               r->has_presence || r->has_frequency || r->nstop || r->format != SY_IR_FORMAT_TEXT ||
               r->thinking_budget || r->effort != SY_IR_EFFORT_UNSET;
    if (!any)
        return;
    sy_json_write_key(w, SY_STR("generationConfig"));
    sy_json_write_begin_object(w);
    if (r->max_tokens) {
        sy_json_write_key(w, SY_STR("maxOutputTokens"));
        sy_json_write_u64(w, r->max_tokens);
    }
    if (r->has_temperature) {
        sy_json_write_key(w, SY_STR("temperature"));
        sy_json_write_double(w, r->temperature);
    }
    if (r->has_top_p) {
        sy_json_write_key(w, SY_STR("topP"));
        sy_json_write_double(w, r->top_p);
    }
    if (r->has_top_k) {
        sy_json_write_key(w, SY_STR("topK"));
        sy_json_write_i64(w, r->top_k);
    }
    if (r->has_seed) {
        sy_json_write_key(w, SY_STR("seed"));
        sy_json_write_i64(w, r->seed);
    }
    if (r->has_presence) {
        sy_json_write_key(w, SY_STR("presencePenalty"));
        sy_json_write_double(w, r->presence_penalty);
    }
    if (r->has_frequency) {
        sy_json_write_key(w, SY_STR("frequencyPenalty"));
        sy_json_write_double(w, r->frequency_penalty);
    }
    if (r->nstop) {
        sy_json_write_key(w, SY_STR("stopSequences"));
        sy_json_write_begin_array(w);
        for (size_t i = 0; i < r->nstop && i < SY_IR_MAX_STOP; i++)
            sy_json_write_string(w, r->stop[i]);
        sy_json_write_end_array(w);
    }
    if (r->format != SY_IR_FORMAT_TEXT) {
        sy_json_write_key(w, SY_STR("responseMimeType"));
        sy_json_write_string(w, SY_STR("application/json"));
        if (r->format == SY_IR_FORMAT_JSON_SCHEMA && r->schema) {
            sy_json_write_key(w, SY_STR("responseSchema"));
            sy_gemini_write_schema(w, r->schema);
        }
    }
    write_thinking(e);
    sy_json_write_end_object(w);
}

/* ---- the request ---- */

static bool path_has_version(sy_str_t base_path)
{
    return sy_str_find(base_path, SY_STR("/v1")) >= 0;
}

static int gemini_encode(sy_arena_t *a, const sy_provider_ctx_t *cx, const sy_ir_request_t *req,
                         sy_upstream_req_t *out, sy_ir_error_t *err)
{
    memset(out, 0, sizeof(*out));
    if (cx->model.len == 0) {
        err->cls = SY_IR_ERR_BAD_REQUEST;
        err->status = 400;
        err->message = SY_STR("gemini: the deployment names no model");
        return SY_EINVAL;
    }
    sy_buf_t body;
    sy_buf_init(&body, SY_WIRE_MAX_BODY);
    sy_json_writer_t w;
    sy_json_writer_init(&w, &body, 0);
    enc_t e = {.a = a, .cx = cx, .req = req, .w = &w, .err = err};
    e.dummy_signatures = is_gemini3_or_later(cx->model);

    sy_json_write_begin_object(&w);
    int rc = write_contents(&e);
    if (rc == SY_OK) {
        write_system(&e);
        write_tools(&e);
        write_generation(&e);
        sy_json_write_end_object(&w);
        if (sy_json_write_finish(&w) != SY_OK) {
            err->cls = SY_IR_ERR_BAD_REQUEST;
            err->status = 413;
            err->message = SY_STR("gemini: the request is too large to encode");
            rc = SY_ETOOBIG;
        }
    }
    if (rc != SY_OK) {
        sy_buf_free(&body);
        return rc;
    }
    out->body = sy_wire_buf_to_arena(a, &body);

    sy_str_t model = cx->model;
    if (sy_str_starts_with(model, SY_STR("models/")))
        model = sy_str_sub(model, 7, model.len - 7);
    sy_buf_t path;
    sy_buf_init(&path, 4096);
    sy_buf_append_str(&path, cx->base_path);
    if (!path_has_version(cx->base_path))
        sy_buf_append_c(&path, "/v1beta");
    sy_buf_append_c(&path, "/models/");
    sy_wire_percent_encode(&path, model);
    sy_buf_append_c(&path, req->stream ? ":streamGenerateContent?alt=sse" : ":generateContent");
    out->path = sy_wire_buf_to_arena(a, &path);

    out->method = "POST";
    out->content_type = SY_STR("application/json");
    out->stream = req->stream;
    if (cx->api_key.len)
        sy_upstream_add_header(a, out, "x-goog-api-key", cx->api_key);
    return SY_OK;
}

const sy_provider_vt_t sy_provider_gemini = {
    .kind = "gemini",
    .native = SY_FORMAT_NONE,
    .encode = gemini_encode,
    .decode = sy_gemini_decode,
    .stream_new = sy_gemini_stream_new,
    .stream_feed = sy_gemini_stream_feed,
    .stream_end = sy_gemini_stream_end,
    .map_error = sy_gemini_map_error,
};
