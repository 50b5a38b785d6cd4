/*
 * chunked.c - the chunked transfer coding (RFC 9112 section 7.1).
 *
 * The decoder is a state machine that takes one byte at a time outside
 * chunk data and whole runs inside it, so it gives the same body and the same
 * verdict however the wire bytes are split. Framing is judged strictly:
 * disagreeing with another HTTP implementation about where a chunk ends is
 * how chunked smuggling works ("0x5", "5 ", bare LF, a lone CR in an
 * extension all have been read differently by different servers).
 */
#include "http/parse.h"

#include <string.h>

enum {
    S_SIZE_FIRST,  /* first hex digit of a chunk size */
    S_SIZE,        /* more hex digits, ';', BWS or CR */
    S_EXT_SEMI,    /* BWS before the ';' of an extension */
    S_EXT_NAME0,   /* BWS, then the first byte of an extension name */
    S_EXT_NAME,    /* extension name */
    S_EXT_EQ,      /* BWS after a name: '=' or the next ';' */
    S_EXT_VAL0,    /* BWS, then a token or a quoted string */
    S_EXT_VAL,     /* token value */
    S_EXT_QVAL,    /* quoted-string value */
    S_EXT_QESC,    /* after a backslash in a quoted string */
    S_EXT_QEND,    /* after the closing quote */
    S_SIZE_LF,     /* LF ending the chunk-size line */
    S_DATA,        /* chunk data: `remaining` bytes */
    S_DATA_CR,     /* CRLF after chunk data */
    S_DATA_LF,
    S_TRAILER,     /* start of a trailer line, or the final CRLF */
    S_TRL_NAME,    /* trailer field name */
    S_TRL_VALUE,   /* trailer field value up to CR */
    S_TRL_LF,      /* LF ending a trailer line */
    S_END_LF,      /* LF of the final empty line */
    S_DONE,
    S_ERROR,
};

/* tchar (RFC 9110 5.6.2) */
static bool tchar(unsigned char c)
{
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
        return true;
    if (c >= '0' && c <= '9')
        return true;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* field-vchar, SP, HTAB: bytes allowed in a trailer value */
static bool value_char(unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }

/* qdtext and the bytes allowed after a backslash, minus '"' and '\\' */
static bool qd_char(unsigned char c) { return value_char(c) && c != '"' && c != '\\'; }

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
        return (c | 0x20) - 'a' + 10;
    return -1;
}

void sy_http_chunked_init(sy_http_chunked_t *d, size_t max_ext, size_t max_trailer)
{
    memset(d, 0, sizeof(*d));
    d->state = S_SIZE_FIRST;
    d->max_ext = max_ext ? max_ext : SY_HTTP_DEFAULT_MAX_CHUNK_EXT;
    d->max_trailer = max_trailer ? max_trailer : SY_HTTP_DEFAULT_MAX_TRAILER;
}

bool sy_http_chunked_done(const sy_http_chunked_t *d) { return d->state == S_DONE; }

static int fail(sy_http_chunked_t *d, int rc, const char *msg)
{
    d->state = S_ERROR;
    d->err = (int8_t)rc;
    d->error = msg;
    return rc;
}

static bool is_ws(unsigned char c) { return c == ' ' || c == '\t'; }

/* One framing byte (never chunk data). Returns SY_EAGAIN to go on, SY_OK
 * when the message is complete, or an error. */
static int step(sy_http_chunked_t *d, unsigned char c)
{
    if (d->state >= S_EXT_SEMI && d->state <= S_EXT_QEND && c != '\r' &&
        ++d->ext_bytes > d->max_ext)
        return fail(d, SY_ETOOBIG, "chunk extensions too long");
    if (d->state >= S_TRAILER && d->state <= S_END_LF && ++d->trailer_bytes > d->max_trailer)
        return fail(d, SY_ETOOBIG, "trailer section too large");

    switch (d->state) {
    case S_SIZE_FIRST:
        if (hex_value(c) < 0)
            return fail(d, SY_EINVAL, "invalid chunk size (expected hex digits)");
        d->size = (uint64_t)hex_value(c);
        d->digits = 1;
        d->state = S_SIZE;
        return SY_EAGAIN;
    case S_SIZE:
        if (hex_value(c) >= 0) {
            if (d->digits == 16)
                return fail(d, SY_ETOOBIG, "chunk size too large (more than 16 hex digits)");
            d->size = d->size << 4 | (uint64_t)hex_value(c);
            d->digits++;
            return SY_EAGAIN;
        }
        if (c == '\r') {
            d->state = S_SIZE_LF;
            return SY_EAGAIN;
        }
        if (c != ';' && !is_ws(c))
            return fail(d, SY_EINVAL, "invalid character after chunk size");
        if (++d->ext_bytes > d->max_ext)
            return fail(d, SY_ETOOBIG, "chunk extensions too long");
        d->state = c == ';' ? S_EXT_NAME0 : S_EXT_SEMI;
        return SY_EAGAIN;

    /* chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ) */
    case S_EXT_SEMI:
        if (c == ';')
            d->state = S_EXT_NAME0;
        else if (!is_ws(c))
            return fail(d, SY_EINVAL, "invalid chunk extension");
        return SY_EAGAIN;
    case S_EXT_NAME0:
        if (tchar(c))
            d->state = S_EXT_NAME;
        else if (!is_ws(c))
            return fail(d, SY_EINVAL, "invalid chunk extension name");
        return SY_EAGAIN;
    case S_EXT_NAME:
    case S_EXT_VAL:
        if (tchar(c))
            return SY_EAGAIN;
        if (c == '=' && d->state == S_EXT_NAME)
            d->state = S_EXT_VAL0;
        else if (is_ws(c))
            d->state = d->state == S_EXT_NAME ? S_EXT_EQ : S_EXT_SEMI;
        else if (c == ';')
            d->state = S_EXT_NAME0;
        else if (c == '\r')
            d->state = S_SIZE_LF;
        else
            return fail(d, SY_EINVAL, "invalid character in chunk extension");
        return SY_EAGAIN;
    case S_EXT_EQ:
        if (c == '=')
            d->state = S_EXT_VAL0;
        else if (c == ';')
            d->state = S_EXT_NAME0;
        else if (!is_ws(c))
            return fail(d, SY_EINVAL, "invalid chunk extension");
        return SY_EAGAIN;
    case S_EXT_VAL0:
        if (c == '"')
            d->state = S_EXT_QVAL;
        else if (tchar(c))
            d->state = S_EXT_VAL;
        else if (!is_ws(c))
            return fail(d, SY_EINVAL, "invalid chunk extension value");
        return SY_EAGAIN;
    case S_EXT_QVAL:
        if (c == '"')
            d->state = S_EXT_QEND;
        else if (c == '\\')
            d->state = S_EXT_QESC;
        else if (!qd_char(c))
            return fail(d, SY_EINVAL, "invalid character in chunk extension value");
        return SY_EAGAIN;
    case S_EXT_QESC:
        if (!value_char(c))
            return fail(d, SY_EINVAL, "invalid character in chunk extension value");
        d->state = S_EXT_QVAL;
        return SY_EAGAIN;
    case S_EXT_QEND:
        if (c == ';')
            d->state = S_EXT_NAME0;
        else if (is_ws(c))
            d->state = S_EXT_SEMI;
        else if (c == '\r')
            d->state = S_SIZE_LF;
        else
            return fail(d, SY_EINVAL, "invalid chunk extension");
        return SY_EAGAIN;

    case S_SIZE_LF:
        if (c != '\n')
            return fail(d, SY_EINVAL, "chunk size line not ended by CRLF");
        if (d->size == 0) {
            d->state = S_TRAILER;
        } else {
            d->remaining = d->size;
            d->state = S_DATA;
        }
        return SY_EAGAIN;
    case S_DATA_CR:
        if (c != '\r')
            return fail(d, SY_EINVAL, "chunk data not followed by CRLF");
        d->state = S_DATA_LF;
        return SY_EAGAIN;
    case S_DATA_LF:
        if (c != '\n')
            return fail(d, SY_EINVAL, "chunk data not followed by CRLF");
        d->state = S_SIZE_FIRST;
        return SY_EAGAIN;

    /* trailer-section = *( field-line CRLF ) CRLF: parsed, checked, dropped */
    case S_TRAILER:
        if (c == '\r')
            d->state = S_END_LF;
        else if (tchar(c))
            d->state = S_TRL_NAME;
        else if (is_ws(c))
            return fail(d, SY_EINVAL, "trailer line starting with whitespace (obs-fold)");
        else
            return fail(d, SY_EINVAL, "invalid trailer field");
        return SY_EAGAIN;
    case S_TRL_NAME:
        if (c == ':')
            d->state = S_TRL_VALUE;
        else if (!tchar(c))
            return fail(d, SY_EINVAL, "invalid character in trailer field name");
        return SY_EAGAIN;
    case S_TRL_VALUE:
        if (c == '\r')
            d->state = S_TRL_LF;
        else if (!value_char(c))
            return fail(d, SY_EINVAL, "invalid character in trailer field value");
        return SY_EAGAIN;
    case S_TRL_LF:
        if (c != '\n')
            return fail(d, SY_EINVAL, "trailer line not ended by CRLF");
        d->state = S_TRAILER;
        return SY_EAGAIN;
    case S_END_LF:
        if (c != '\n')
            return fail(d, SY_EINVAL, "chunked body not ended by CRLF");
        d->state = S_DONE;
        return SY_OK;
    }
    return fail(d, SY_EINVAL, "chunked decoder in a bad state");
}

int sy_http_chunked_next(sy_http_chunked_t *d, const char *in, size_t len, size_t *used,
                         sy_str_t *data)
{
    size_t i = 0;
    int rc = SY_EAGAIN;
    *data = sy_str(in, 0);
    if (d->state == S_DONE || d->state == S_ERROR) {
        *used = 0;
        return d->state == S_DONE ? SY_OK : d->err;
    }
    while (i < len) {
        if (d->state == S_DATA) {
            size_t n = len - i;
            if ((uint64_t)n > d->remaining)
                n = (size_t)d->remaining;
            *data = sy_str(in + i, n);
            i += n;
            d->remaining -= n;
            if (d->remaining == 0)
                d->state = S_DATA_CR;
            break;
        }
        rc = step(d, (unsigned char)in[i++]);
        if (rc != SY_EAGAIN)
            break;
    }
    *used = i;
    return rc;
}

int sy_http_chunked_decode(sy_http_chunked_t *d, const char *in, size_t len, size_t *used,
                           char *out, size_t *out_len)
{
    size_t i = 0, o = 0;
    int rc;
    do {
        size_t n = 0;
        sy_str_t data;
        rc = sy_http_chunked_next(d, in + i, len - i, &n, &data);
        if (data.len) {
            memmove(out + o, data.p, data.len);
            o += data.len;
        }
        i += n;
    } while (rc == SY_EAGAIN && i < len);
    *used = i;
    *out_len = o;
    return rc;
}

/* ---- encoding ----------------------------------------------------------- */

size_t sy_http_chunk_header(char *out, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    char tmp[16];
    size_t k = 0;
    do {
        tmp[k++] = hex[n & 15];
        n >>= 4;
    } while (n);
    for (size_t i = 0; i < k; i++)
        out[i] = tmp[k - 1 - i];
    out[k] = '\r';
    out[k + 1] = '\n';
    return k + 2;
}

int sy_http_chunk_append(sy_buf_t *b, const void *data, size_t n)
{
    char head[SY_HTTP_CHUNK_HEADER_MAX];
    if (n == 0)
        return SY_OK;
    size_t hn = sy_http_chunk_header(head, n);
    if (n > SIZE_MAX - hn - 2)
        return SY_ETOOBIG;
    int rc = sy_buf_reserve(b, hn + n + 2);
    if (rc != SY_OK)
        return rc;
    char *t = sy_buf_tail(b);
    memcpy(t, head, hn);
    memcpy(t + hn, data, n);
    memcpy(t + hn + n, "\r\n", 2);
    sy_buf_commit(b, hn + n + 2);
    return SY_OK;
}

int sy_http_chunk_append_last(sy_buf_t *b)
{
    return sy_buf_append(b, SY_HTTP_CHUNK_LAST, sizeof(SY_HTTP_CHUNK_LAST) - 1);
}
