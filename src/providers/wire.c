/*
 * wire.c - helpers shared by the Gemini and Bedrock adapters (see wire.h).
 */
#include "providers/wire.h"

#include <string.h>

#include "json/json.h"

int sy_wire_data_url(sy_str_t url, sy_str_t *media_type, sy_str_t *data)
{
    if (url.len < 5 || !sy_str_ieq(sy_str_sub(url, 0, 5), SY_STR("data:")))
        return SY_EINVAL;
    sy_str_t rest = sy_str_sub(url, 5, url.len - 5);
    ptrdiff_t comma = sy_str_find_char(rest, ',');
    if (comma < 0)
        return SY_EINVAL;
    sy_str_t meta = sy_str_sub(rest, 0, (size_t)comma);
    if (meta.len < 7 || !sy_str_ieq(sy_str_sub(meta, meta.len - 7, 7), SY_STR(";base64")))
        return SY_EINVAL;
    meta.len -= 7;
    ptrdiff_t semi = sy_str_find_char(meta, ';');
    *media_type = semi < 0 ? meta : sy_str_sub(meta, 0, (size_t)semi);
    *data = sy_str_sub(rest, (size_t)comma + 1, rest.len - (size_t)comma - 1);
    return media_type->len && data->len ? SY_OK : SY_EINVAL;
}

sy_str_t sy_wire_image_type_from_url(sy_str_t url)
{
    static const struct {
        const char *ext, *type;
    } types[] = {{".png", "image/png"},   {".jpg", "image/jpeg"}, {".jpeg", "image/jpeg"},
                 {".gif", "image/gif"},   {".webp", "image/webp"}, {".heic", "image/heic"},
                 {".heif", "image/heif"}};
    /* the path ends at the query or fragment */
    size_t end = url.len;
    for (size_t i = 0; i < url.len; i++)
        if (url.p[i] == '?' || url.p[i] == '#') {
            end = i;
            break;
        }
    sy_str_t path = sy_str_sub(url, 0, end);
    for (size_t i = 0; i < SY_ARRAY_LEN(types); i++) {
        size_t n = strlen(types[i].ext);
        if (path.len > n && sy_str_ieq(sy_str_sub(path, path.len - n, n), sy_str_c(types[i].ext)))
            return sy_str_c(types[i].type);
    }
    return SY_STR("");
}

bool sy_wire_image_inline(const sy_ir_image_t *img, sy_str_t *media_type, sy_str_t *data)
{
    if (img->data.len) {
        *media_type = img->media_type;
        *data = img->data;
        return true;
    }
    return sy_wire_data_url(img->url, media_type, data) == SY_OK;
}

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

int sy_wire_base64_decode(const char *in, size_t len, char *out, size_t *n)
{
    while (len && in[len - 1] == '=')
        len--;
    if (len % 4 == 1)
        return SY_EINVAL;
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64_value((unsigned char)in[i]);
        if (v < 0)
            return SY_EINVAL;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    *n = o;
    return SY_OK;
}

int sy_wire_json_escape(sy_buf_t *b, sy_str_t s)
{
    static const char hex[] = "0123456789abcdef";
    size_t i = 0;
    while (i < s.len) {
        size_t run = sy_json_plain_prefix(s.p + i, s.len - i);
        /* bytes >= 0x80 stop the plain prefix but need no escaping */
        while (i + run < s.len && (unsigned char)s.p[i + run] >= 0x80)
            run += 1 + sy_json_plain_prefix(s.p + i + run + 1, s.len - i - run - 1);
        if (run) {
            int rc = sy_buf_append(b, s.p + i, run);
            if (rc != SY_OK)
                return rc;
            i += run;
            continue;
        }
        unsigned char c = (unsigned char)s.p[i++];
        char esc[6];
        size_t n = 2;
        esc[0] = '\\';
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            n = 6;
        }
        int rc = sy_buf_append(b, esc, n);
        if (rc != SY_OK)
            return rc;
    }
    return SY_OK;
}

int sy_wire_percent_encode(sy_buf_t *b, sy_str_t s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                     c == '-' || c == '.' || c == '_' || c == '~';
        int rc;
        if (plain) {
            rc = sy_buf_append(b, &s.p[i], 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            rc = sy_buf_append(b, e, 3);
        }
        if (rc != SY_OK)
            return rc;
    }
    return SY_OK;
}

static size_t skip_ws(sy_str_t s, size_t i)
{
    while (i < s.len && (s.p[i] == ' ' || s.p[i] == '\t' || s.p[i] == '\r' || s.p[i] == '\n'))
        i++;
    return i;
}

sy_str_t sy_wire_raw_string_member(sy_str_t body, const char *key)
{
    size_t klen = strlen(key);
    for (size_t i = 0; i + klen + 2 <= body.len; i++) {
        if (body.p[i] != '"' || memcmp(body.p + i + 1, key, klen) != 0 || body.p[i + 1 + klen] != '"')
            continue;
        size_t j = skip_ws(body, i + klen + 2);
        if (j >= body.len || body.p[j] != ':')
            continue;
        j = skip_ws(body, j + 1);
        if (j >= body.len || body.p[j] != '"')
            continue;
        size_t start = ++j;
        while (j < body.len && body.p[j] != '"')
            j += body.p[j] == '\\' ? 2 : 1;
        if (j > body.len)
            j = body.len;
        return sy_str(body.p + start, j - start);
    }
    return SY_STR("");
}

sy_str_t sy_wire_body_string(sy_str_t body, sy_str_t v, const char *key)
{
    if (v.p && v.p >= body.p && v.p + v.len <= body.p + body.len)
        return v;
    if (v.p == NULL)
        return SY_STR("");
    return sy_wire_raw_string_member(body, key);
}

sy_str_t sy_wire_buf_to_arena(sy_arena_t *a, sy_buf_t *b)
{
    sy_str_t s = sy_buf_str(b);
    char *p = sy_arena_memdup(a, s.p ? s.p : "", s.len);
    sy_buf_free(b);
    return sy_str(p, s.len);
}

sy_str_t sy_wire_url_authority(sy_str_t url)
{
    ptrdiff_t scheme = sy_str_find(url, SY_STR("://"));
    sy_str_t rest = scheme < 0 ? url : sy_str_sub(url, (size_t)scheme + 3, url.len);
    size_t end = rest.len;
    for (size_t i = 0; i < rest.len; i++)
        if (rest.p[i] == '/' || rest.p[i] == '?' || rest.p[i] == '#') {
            end = i;
            break;
        }
    return sy_str_sub(rest, 0, end);
}

/* ------------------------------------------------------------ passthrough --- */

/* An append to a relayed body; out of room is SY_ETOOBIG whatever the buffer
 * said, so that the caller can tell it from a body it cannot relay. */
#define RELAY_PUT(expr)                                                                            \
    do {                                                                                           \
        if ((expr) != SY_OK)                                                                       \
            return SY_ETOOBIG;                                                                     \
    } while (0)

/* stream_options with include_usage true: {"include_usage":true} followed by
 * the client's other members. */
static int relay_stream_options(sy_buf_t *b, sy_str_t value)
{
    RELAY_PUT(sy_buf_append_lit(b, "{\"include_usage\":true"));
    if (sy_str_eq(value, SY_STR("null")))
        return sy_buf_append_lit(b, "}") == SY_OK ? SY_OK : SY_ETOOBIG;
    sy_json_members_t it;
    sy_json_span_t m;
    int rc;
    if (sy_json_members_init(&it, value) != SY_OK)
        return SY_EAGAIN;
    while ((rc = sy_json_members_next(&it, &m)) == SY_OK) {
        if (m.key_escaped)
            return SY_EAGAIN;
        if (sy_str_eq(m.key, SY_STR("include_usage")))
            continue;
        RELAY_PUT(sy_buf_append_lit(b, ","));
        RELAY_PUT(sy_buf_append_str(b, m.member));
    }
    if (rc != SY_ENOTFOUND)
        return SY_EAGAIN;
    RELAY_PUT(sy_buf_append_lit(b, "}"));
    return SY_OK;
}

/* The relayed body into b: SY_OK, SY_EAGAIN (see sy_wire_relay_body) or
 * SY_ETOOBIG (b out of room). */
static int relay_into(sy_buf_t *b, sy_str_t body, sy_str_t model, bool stream_usage)
{
    sy_json_members_t it;
    sy_json_span_t m;
    int rc = sy_json_members_init(&it, body);
    bool first = true, so_seen = false;
    RELAY_PUT(sy_buf_append_lit(b, "{"));
    while (rc == SY_OK && (rc = sy_json_members_next(&it, &m)) == SY_OK) {
        if (m.key_escaped)
            return SY_EAGAIN;
        bool so = stream_usage && sy_str_eq(m.key, SY_STR("stream_options"));
        if (so && so_seen)
            continue; /* a duplicate: one merged member is enough */
        if (!first)
            RELAY_PUT(sy_buf_append_lit(b, ","));
        first = false;
        if (sy_str_eq(m.key, SY_STR("model"))) {
            RELAY_PUT(sy_buf_append_lit(b, "\"model\":\""));
            RELAY_PUT(sy_wire_json_escape(b, model));
            RELAY_PUT(sy_buf_append_lit(b, "\""));
        } else if (so) {
            so_seen = true;
            RELAY_PUT(sy_buf_append_lit(b, "\"stream_options\":"));
            int so_rc = relay_stream_options(b, m.value);
            if (so_rc != SY_OK)
                return so_rc;
        } else {
            RELAY_PUT(sy_buf_append_str(b, m.member));
        }
    }
    if (rc != SY_ENOTFOUND)
        return SY_EAGAIN;
    if (stream_usage && !so_seen)
        RELAY_PUT(first ? sy_buf_append_lit(b, "\"stream_options\":{\"include_usage\":true}")
                        : sy_buf_append_lit(b, ",\"stream_options\":{\"include_usage\":true}"));
    RELAY_PUT(sy_buf_append_lit(b, "}"));
    return SY_OK;
}

/* Bytes of the arena tried first: the body, the model escaped at its longest
 * (6 bytes a byte) once, and the stream_options added. Only a body with more
 * than one model member can need more. */
#define RELAY_SLACK 96

int sy_wire_relay_body(sy_arena_t *a, sy_str_t body, sy_str_t model, bool stream_usage,
                       sy_str_t *out)
{
    /* Straight into the request arena: a buffer whose cap is its limit
     * (off stays 0, so it can only fail with SY_ETOOBIG, never grow), which
     * saves the heap buffer, its growth and the copy out of it. */
    size_t room = body.len + 6 * model.len + RELAY_SLACK;
    char *mem = sy_arena_alloc(a, room + 1);
    sy_buf_t b = {mem, 0, 0, room, room};
    int rc = relay_into(&b, body, model, stream_usage);
    if (rc == SY_OK) {
        mem[b.len] = '\0';
        *out = sy_str(mem, b.len);
        return SY_OK;
    }
    if (rc != SY_ETOOBIG)
        return SY_EAGAIN;
    /* Longer than that: a growing buffer, as far as the wire limit. */
    sy_buf_init(&b, SY_WIRE_MAX_BODY);
    if (relay_into(&b, body, model, stream_usage) != SY_OK) {
        sy_buf_free(&b);
        return SY_EAGAIN;
    }
    *out = sy_wire_buf_to_arena(a, &b);
    return SY_OK;
}

sy_str_t sy_wire_join(sy_arena_t *a, sy_str_t x, sy_str_t y)
{
    char *o = sy_arena_alloc(a, x.len + y.len + 1);
    if (x.len)
        memcpy(o, x.p, x.len);
    if (y.len)
        memcpy(o + x.len, y.p, y.len);
    o[x.len + y.len] = '\0';
    return sy_str(o, x.len + y.len);
}
