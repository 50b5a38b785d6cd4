/*
 * sse.c - Server-Sent Events reader and writer (see sse.h).
 *
 * The reader works line by line. A line found whole in the caller's input
 * is handled as a view; a line cut by the end of the input is copied into
 * the caller's buffer and completed there by the next call. The buffer's
 * layout is always [data of the pending event][start of an unfinished
 * line], so completing a data line only moves its value down next to the
 * data before it: no second buffer, and the data stays contiguous.
 */
#include "http/sse.h"

#include <string.h>

static const unsigned char BOM[3] = {0xEF, 0xBB, 0xBF};

void sy_sse_reader_init(sy_sse_reader_t *r, sy_buf_t *buf, size_t max_line, size_t max_data,
                        unsigned flags)
{
    memset(r, 0, sizeof(*r));
    r->buf = buf;
    r->max_line = max_line ? max_line : SY_SSE_DEFAULT_MAX_LINE;
    r->max_data = max_data ? max_data : SY_SSE_DEFAULT_MAX_DATA;
    r->flags = flags;
    r->keep = SIZE_MAX;
    r->retry = -1;
    sy_buf_clear(buf);
}

bool sy_sse_pending(const sy_sse_reader_t *r) { return r->partial || r->has_data; }

static int fail(sy_sse_reader_t *r, int code, const char *why)
{
    r->err = code;
    r->error = why;
    return code;
}

static void buf_truncate(sy_buf_t *b, size_t n)
{
    if (n < b->len)
        b->len = n;
}

/* The first CR or LF in [p, end), or NULL. Two memchr passes beat a byte
 * loop on long data lines (base64 images travel in one data line). */
static const char *find_eol(const char *p, const char *end)
{
    const char *lf = memchr(p, '\n', (size_t)(end - p));
    const char *lim = lf ? lf : end;
    const char *cr = memchr(p, '\r', (size_t)(lim - p));
    return cr ? cr : lf;
}

enum { LINE_NEXT = 0, LINE_DISPATCH = 1 };

/* Fill *ev from the pending event and reset the per-event state. */
static void dispatch(sy_sse_reader_t *r, sy_sse_event_t *ev)
{
    ev->event = sy_str(r->event, r->event_len);
    const char *in_buf = sy_buf_ptr(r->buf);
    ev->data = r->data_in_buf ? sy_str(in_buf ? in_buf : "", r->data_len)
                              : sy_str(r->data_p ? r->data_p : "", r->data_len);
    ev->id = sy_str(r->id, r->id_len);
    ev->retry = r->retry;
    ev->comment = false;
    r->retry = -1;
    r->event_len = 0;
    r->has_data = false;
    r->data_in_buf = false;
    r->data_p = NULL;
    r->data_len = 0;
    r->keep = 0; /* the event's bytes in buf go at the next call */
}

/* Append a data line's value to the pending event's data. from_buf: the
 * line is the one completed in buf at line_off (then buf ends with it). */
static int add_data(sy_sse_reader_t *r, sy_str_t value, bool from_buf)
{
    sy_buf_t *b = r->buf;
    size_t add = (r->has_data ? 1 : 0) + value.len;
    if (r->data_len > r->max_data || add > r->max_data - r->data_len)
        return fail(r, SY_ETOOBIG, "SSE event data over the cap");
    if (!r->has_data) {
        r->has_data = true;
        r->data_len = value.len;
        if (!from_buf) {
            r->data_p = value.p; /* zero-copy until the input goes away */
            r->data_in_buf = false;
            return SY_OK;
        }
        /* buf holds only this line (line_off == 0): move the value down. */
        if (value.len)
            memmove(sy_buf_ptr(b), value.p, value.len);
        b->len = value.len;
        r->data_in_buf = true;
        return SY_OK;
    }
    if (from_buf) {
        /* buf = [data][line]; the value starts at least 5 bytes ("data:")
         * after the line start, so the move is downwards and safe. */
        char *base = sy_buf_ptr(b);
        base[r->data_len] = '\n';
        if (value.len)
            memmove(base + r->data_len + 1, value.p, value.len);
        r->data_len += 1 + value.len;
        b->len = r->data_len;
        return SY_OK;
    }
    int rc = SY_OK;
    if (!r->data_in_buf) {
        /* Second data line: the first was a view; join them in buf. */
        rc = sy_buf_append(b, r->data_p, r->data_len);
        r->data_in_buf = true;
        r->data_p = NULL;
    }
    if (rc == SY_OK)
        rc = sy_buf_append(b, "\n", 1);
    if (rc == SY_OK)
        rc = sy_buf_append(b, value.p, value.len);
    if (rc != SY_OK)
        return fail(r, rc, "SSE assembly buffer full");
    r->data_len += 1 + value.len;
    return SY_OK;
}

static bool all_digits(sy_str_t s)
{
    if (s.len == 0)
        return false;
    for (size_t i = 0; i < s.len; i++)
        if (s.p[i] < '0' || s.p[i] > '9')
            return false;
    return true;
}

/* Interpret one complete line (terminator removed). Returns LINE_NEXT,
 * LINE_DISPATCH (with *ev filled) or an error. */
static int process_line(sy_sse_reader_t *r, sy_str_t line, bool from_buf, sy_sse_event_t *ev)
{
    if (line.len == 0) {
        if (r->has_data) {
            dispatch(r, ev);
            return LINE_DISPATCH;
        }
        r->event_len = 0; /* spec: no data, no event; the type resets */
        return LINE_NEXT;
    }
    ptrdiff_t colon = sy_str_find_char(line, ':');
    sy_str_t name = line, value = SY_STR_NULL;
    if (colon >= 0) {
        name = sy_str(line.p, (size_t)colon);
        value = sy_str(line.p + colon + 1, line.len - (size_t)colon - 1);
        if (value.len && value.p[0] == ' ') {
            value.p++;
            value.len--;
        }
    }
    int rc = LINE_NEXT;
    if (colon == 0) {
        if (r->flags & SY_SSE_COMMENTS) {
            /* The caller may drop its input after this returns: pending
             * data that is still a view into it moves to buf first (buf is
             * empty then: the line is not in it). */
            if (r->has_data && !r->data_in_buf) {
                if (sy_buf_append(r->buf, r->data_p, r->data_len) != SY_OK)
                    return fail(r, SY_ETOOBIG, "SSE assembly buffer full");
                r->data_in_buf = true;
                r->data_p = NULL;
            }
            *ev = (sy_sse_event_t){.data = value, .retry = -1, .comment = true};
            if (from_buf)
                r->keep = r->line_off; /* drop the line, keep pending data */
            r->partial = false;
            return LINE_DISPATCH;
        }
    } else if (sy_str_eq_c(name, "data")) {
        rc = add_data(r, value, from_buf);
        if (rc == SY_OK && from_buf) {
            r->partial = false;
            return LINE_NEXT; /* add_data already trimmed buf */
        }
    } else if (sy_str_eq_c(name, "event")) {
        if (value.len > SY_SSE_MAX_EVENT)
            return fail(r, SY_ETOOBIG, "SSE event type over the cap");
        if (value.len)
            memcpy(r->event, value.p, value.len);
        r->event_len = value.len;
    } else if (sy_str_eq_c(name, "id")) {
        if (memchr(value.p ? value.p : "", '\0', value.len) == NULL) {
            if (value.len > SY_SSE_MAX_ID)
                return fail(r, SY_ETOOBIG, "SSE event id over the cap");
            if (value.len)
                memcpy(r->id, value.p, value.len);
            r->id_len = value.len;
        }
    } else if (sy_str_eq_c(name, "retry")) {
        uint64_t v;
        if (all_digits(value) && sy_str_to_u64(value, INT64_MAX, &v) == SY_OK)
            r->retry = (int64_t)v;
    }
    if (rc < 0)
        return rc;
    if (from_buf) {
        buf_truncate(r->buf, r->line_off);
        r->partial = false;
    }
    return LINE_NEXT;
}

/* End of the input without an event: copy what must survive into buf. */
static int spill(sy_sse_reader_t *r, const char *rest, size_t n)
{
    sy_buf_t *b = r->buf;
    if (r->has_data && !r->data_in_buf) {
        /* No partial line exists here: buf is empty. */
        if (sy_buf_append(b, r->data_p, r->data_len) != SY_OK)
            return fail(r, SY_ETOOBIG, "SSE assembly buffer full");
        r->data_in_buf = true;
        r->data_p = NULL;
    }
    if (n == 0)
        return SY_OK;
    if (!r->partial) {
        r->partial = true;
        r->line_off = b->len;
    }
    if (b->len - r->line_off + n > r->max_line)
        return fail(r, SY_ETOOBIG, "SSE line over the cap");
    if (sy_buf_append(b, rest, n) != SY_OK)
        return fail(r, SY_ETOOBIG, "SSE assembly buffer full");
    return SY_OK;
}

int sy_sse_next(sy_sse_reader_t *r, const char *in, size_t len, size_t *used,
                sy_sse_event_t *ev)
{
    size_t pos = 0;
    int rc;
    *used = 0;
    if (r->err)
        return r->err;
    if (r->keep != SIZE_MAX) {
        buf_truncate(r->buf, r->keep);
        r->keep = SIZE_MAX;
    }
    /* A UTF-8 BOM at the very start is skipped; a partial match that turns
     * out not to be one is the start of the first line. */
    while (r->bom >= 0 && pos < len) {
        if ((unsigned char)in[pos] == BOM[r->bom]) {
            pos++;
            if (++r->bom == 3)
                r->bom = -1;
            continue;
        }
        if (r->bom > 0 && (rc = spill(r, (const char *)BOM, (size_t)r->bom)) < 0)
            return rc;
        r->bom = -1;
    }
    if (r->skip_lf && pos < len) {
        if (in[pos] == '\n')
            pos++;
        r->skip_lf = false;
    }
    while (pos < len) {
        const char *eol = find_eol(in + pos, in + len);
        if (eol == NULL)
            break;
        size_t llen = (size_t)(eol - (in + pos));
        sy_str_t line;
        bool from_buf = r->partial;
        if (from_buf) {
            sy_buf_t *b = r->buf;
            if (b->len - r->line_off + llen > r->max_line) {
                *used = pos;
                return fail(r, SY_ETOOBIG, "SSE line over the cap");
            }
            if (sy_buf_append(b, in + pos, llen) != SY_OK) {
                *used = pos;
                return fail(r, SY_ETOOBIG, "SSE assembly buffer full");
            }
            line = sy_str(sy_buf_ptr(b) + r->line_off, b->len - r->line_off);
        } else {
            if (llen > r->max_line) {
                *used = pos;
                return fail(r, SY_ETOOBIG, "SSE line over the cap");
            }
            line = sy_str(in + pos, llen);
        }
        pos += llen + 1;
        if (*eol == '\r') {
            if (pos < len) {
                if (in[pos] == '\n')
                    pos++;
            } else {
                r->skip_lf = true;
            }
        }
        rc = process_line(r, line, from_buf, ev);
        if (rc == LINE_DISPATCH) {
            *used = pos;
            return SY_OK;
        }
        if (rc < 0) {
            *used = pos;
            return rc;
        }
    }
    rc = spill(r, in + pos, len - pos);
    *used = len;
    return rc < 0 ? rc : SY_EAGAIN;
}

int sy_sse_finish(sy_sse_reader_t *r, sy_sse_event_t *ev)
{
    int rc;
    if (r->err)
        return r->err;
    if (r->keep != SIZE_MAX) {
        buf_truncate(r->buf, r->keep);
        r->keep = SIZE_MAX;
    }
    if (r->bom > 0 && (rc = spill(r, (const char *)BOM, (size_t)r->bom)) < 0)
        return rc;
    r->bom = -1;
    if (r->partial) {
        sy_buf_t *b = r->buf;
        rc = process_line(r, sy_str(sy_buf_ptr(b) + r->line_off, b->len - r->line_off), true, ev);
        if (rc < 0)
            return rc;
        if (rc == LINE_DISPATCH)
            return SY_OK;
    }
    if (r->has_data) {
        dispatch(r, ev);
        return SY_OK;
    }
    return SY_EAGAIN;
}

/* ------------------------------------------------------------- writer --- */

static bool has_crlf(sy_str_t s)
{
    return s.len && (memchr(s.p, '\n', s.len) != NULL || memchr(s.p, '\r', s.len) != NULL);
}

int sy_sse_write(sy_buf_t *b, sy_str_t event, sy_str_t data)
{
    if (has_crlf(event))
        return SY_EINVAL;
    size_t start = b->len;
    int rc = SY_OK;
    if (event.len) {
        rc = sy_buf_append(b, "event: ", 7);
        if (rc == SY_OK)
            rc = sy_buf_append_str(b, event);
        if (rc == SY_OK)
            rc = sy_buf_append(b, "\n", 1);
    }
    const char *p = data.p ? data.p : "";
    const char *end = p + data.len;
    for (;;) {
        if (rc != SY_OK)
            break;
        const char *eol = find_eol(p, end);
        const char *stop = eol ? eol : end;
        rc = sy_buf_append(b, "data: ", 6);
        if (rc == SY_OK)
            rc = sy_buf_append(b, p, (size_t)(stop - p));
        if (rc == SY_OK)
            rc = sy_buf_append(b, "\n", 1);
        if (eol == NULL)
            break;
        p = eol + 1;
        if (*eol == '\r' && p < end && *p == '\n')
            p++;
    }
    if (rc == SY_OK)
        rc = sy_buf_append(b, "\n", 1);
    if (rc != SY_OK)
        b->len = start;
    return rc;
}

int sy_sse_write_comment(sy_buf_t *b, sy_str_t text)
{
    if (has_crlf(text))
        return SY_EINVAL;
    size_t start = b->len;
    int rc = sy_buf_append(b, ": ", 2);
    if (rc == SY_OK)
        rc = sy_buf_append_str(b, text);
    if (rc == SY_OK)
        rc = sy_buf_append(b, "\n", 1);
    if (rc != SY_OK)
        b->len = start;
    return rc;
}
