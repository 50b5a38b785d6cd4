/*
 * eventstream.c - AWS event-stream framing (see eventstream.h).
 *
 * The decoder judges a message by position only: the prelude once its 12
 * bytes are in, the rest once all total-length bytes are in. So however the
 * stream is split, the same bytes give the same verdict at the same point;
 * the incremental layer just gathers bytes until sy_es_parse stops saying
 * SY_EAGAIN.
 */
#include "http/eventstream.h"

#include <string.h>

/* ------------------------------------------------------------- CRC-32 --- */

/* Reflected polynomial 0xEDB88320, one entry per byte value. */
static const uint32_t crc_table[256] = {
    0x00000000, 0x77073096, 0xee0e612c, 0x990951ba, 0x076dc419, 0x706af48f,
    0xe963a535, 0x9e6495a3, 0x0edb8832, 0x79dcb8a4, 0xe0d5e91e, 0x97d2d988,
    0x09b64c2b, 0x7eb17cbd, 0xe7b82d07, 0x90bf1d91, 0x1db71064, 0x6ab020f2,
    0xf3b97148, 0x84be41de, 0x1adad47d, 0x6ddde4eb, 0xf4d4b551, 0x83d385c7,
    0x136c9856, 0x646ba8c0, 0xfd62f97a, 0x8a65c9ec, 0x14015c4f, 0x63066cd9,
    0xfa0f3d63, 0x8d080df5, 0x3b6e20c8, 0x4c69105e, 0xd56041e4, 0xa2677172,
    0x3c03e4d1, 0x4b04d447, 0xd20d85fd, 0xa50ab56b, 0x35b5a8fa, 0x42b2986c,
    0xdbbbc9d6, 0xacbcf940, 0x32d86ce3, 0x45df5c75, 0xdcd60dcf, 0xabd13d59,
    0x26d930ac, 0x51de003a, 0xc8d75180, 0xbfd06116, 0x21b4f4b5, 0x56b3c423,
    0xcfba9599, 0xb8bda50f, 0x2802b89e, 0x5f058808, 0xc60cd9b2, 0xb10be924,
    0x2f6f7c87, 0x58684c11, 0xc1611dab, 0xb6662d3d, 0x76dc4190, 0x01db7106,
    0x98d220bc, 0xefd5102a, 0x71b18589, 0x06b6b51f, 0x9fbfe4a5, 0xe8b8d433,
    0x7807c9a2, 0x0f00f934, 0x9609a88e, 0xe10e9818, 0x7f6a0dbb, 0x086d3d2d,
    0x91646c97, 0xe6635c01, 0x6b6b51f4, 0x1c6c6162, 0x856530d8, 0xf262004e,
    0x6c0695ed, 0x1b01a57b, 0x8208f4c1, 0xf50fc457, 0x65b0d9c6, 0x12b7e950,
    0x8bbeb8ea, 0xfcb9887c, 0x62dd1ddf, 0x15da2d49, 0x8cd37cf3, 0xfbd44c65,
    0x4db26158, 0x3ab551ce, 0xa3bc0074, 0xd4bb30e2, 0x4adfa541, 0x3dd895d7,
    0xa4d1c46d, 0xd3d6f4fb, 0x4369e96a, 0x346ed9fc, 0xad678846, 0xda60b8d0,
    0x44042d73, 0x33031de5, 0xaa0a4c5f, 0xdd0d7cc9, 0x5005713c, 0x270241aa,
    0xbe0b1010, 0xc90c2086, 0x5768b525, 0x206f85b3, 0xb966d409, 0xce61e49f,
    0x5edef90e, 0x29d9c998, 0xb0d09822, 0xc7d7a8b4, 0x59b33d17, 0x2eb40d81,
    0xb7bd5c3b, 0xc0ba6cad, 0xedb88320, 0x9abfb3b6, 0x03b6e20c, 0x74b1d29a,
    0xead54739, 0x9dd277af, 0x04db2615, 0x73dc1683, 0xe3630b12, 0x94643b84,
    0x0d6d6a3e, 0x7a6a5aa8, 0xe40ecf0b, 0x9309ff9d, 0x0a00ae27, 0x7d079eb1,
    0xf00f9344, 0x8708a3d2, 0x1e01f268, 0x6906c2fe, 0xf762575d, 0x806567cb,
    0x196c3671, 0x6e6b06e7, 0xfed41b76, 0x89d32be0, 0x10da7a5a, 0x67dd4acc,
    0xf9b9df6f, 0x8ebeeff9, 0x17b7be43, 0x60b08ed5, 0xd6d6a3e8, 0xa1d1937e,
    0x38d8c2c4, 0x4fdff252, 0xd1bb67f1, 0xa6bc5767, 0x3fb506dd, 0x48b2364b,
    0xd80d2bda, 0xaf0a1b4c, 0x36034af6, 0x41047a60, 0xdf60efc3, 0xa867df55,
    0x316e8eef, 0x4669be79, 0xcb61b38c, 0xbc66831a, 0x256fd2a0, 0x5268e236,
    0xcc0c7795, 0xbb0b4703, 0x220216b9, 0x5505262f, 0xc5ba3bbe, 0xb2bd0b28,
    0x2bb45a92, 0x5cb36a04, 0xc2d7ffa7, 0xb5d0cf31, 0x2cd99e8b, 0x5bdeae1d,
    0x9b64c2b0, 0xec63f226, 0x756aa39c, 0x026d930a, 0x9c0906a9, 0xeb0e363f,
    0x72076785, 0x05005713, 0x95bf4a82, 0xe2b87a14, 0x7bb12bae, 0x0cb61b38,
    0x92d28e9b, 0xe5d5be0d, 0x7cdcefb7, 0x0bdbdf21, 0x86d3d2d4, 0xf1d4e242,
    0x68ddb3f8, 0x1fda836e, 0x81be16cd, 0xf6b9265b, 0x6fb077e1, 0x18b74777,
    0x88085ae6, 0xff0f6a70, 0x66063bca, 0x11010b5c, 0x8f659eff, 0xf862ae69,
    0x616bffd3, 0x166ccf45, 0xa00ae278, 0xd70dd2ee, 0x4e048354, 0x3903b3c2,
    0xa7672661, 0xd06016f7, 0x4969474d, 0x3e6e77db, 0xaed16a4a, 0xd9d65adc,
    0x40df0b66, 0x37d83bf0, 0xa9bcae53, 0xdebb9ec5, 0x47b2cf7f, 0x30b5ffe9,
    0xbdbdf21c, 0xcabac28a, 0x53b39330, 0x24b4a3a6, 0xbad03605, 0xcdd70693,
    0x54de5729, 0x23d967bf, 0xb3667a2e, 0xc4614ab8, 0x5d681b02, 0x2a6f2b94,
    0xb40bbe37, 0xc30c8ea1, 0x5a05df1b, 0x2d02ef8d,
};

uint32_t sy_crc32(uint32_t crc, const void *p, size_t n)
{
    const unsigned char *s = p;
    crc = ~crc;
    while (n--)
        crc = crc_table[(crc ^ *s++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

/* ------------------------------------------------------------ helpers --- */

static uint32_t get_u32(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

static uint16_t get_u16(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return (uint16_t)(u[0] << 8 | u[1]);
}

static uint64_t get_u64(const char *p)
{
    return (uint64_t)get_u32(p) << 32 | get_u32(p + 4);
}

static void put_u32(char *p, uint32_t v)
{
    p[0] = (char)(v >> 24);
    p[1] = (char)(v >> 16);
    p[2] = (char)(v >> 8);
    p[3] = (char)v;
}

/* Bytes of a value of type t after the type byte, from its first bytes at
 * p[0..avail): fixed sizes, or 2 + the length prefix. -1 for an unknown
 * type or when the length prefix is cut off. */
static ptrdiff_t value_size(unsigned t, const char *p, size_t avail)
{
    switch (t) {
    case SY_ES_BOOL_TRUE:
    case SY_ES_BOOL_FALSE:
        return 0;
    case SY_ES_BYTE:
        return 1;
    case SY_ES_SHORT:
        return 2;
    case SY_ES_INT:
        return 4;
    case SY_ES_LONG:
    case SY_ES_TIMESTAMP:
        return 8;
    case SY_ES_UUID:
        return 16;
    case SY_ES_BYTES:
    case SY_ES_STRING:
        if (avail < 2)
            return -1;
        return 2 + (ptrdiff_t)get_u16(p);
    default:
        return -1;
    }
}

/* Decode the header at it->p (validated already, or being validated: the
 * caller checks sizes first). */
static void decode_header(const char *p, sy_es_header_t *h, size_t *size)
{
    size_t nlen = (unsigned char)p[0];
    h->name = sy_str(p + 1, nlen);
    const char *v = p + 1 + nlen;
    h->type = (sy_es_type_t)(unsigned char)v[0];
    v++;
    h->i = 0;
    h->bytes = SY_STR_NULL;
    size_t vs = 0;
    switch (h->type) {
    case SY_ES_BOOL_TRUE:
        h->i = 1;
        break;
    case SY_ES_BOOL_FALSE:
        break;
    case SY_ES_BYTE:
        h->i = (int8_t)v[0];
        vs = 1;
        break;
    case SY_ES_SHORT:
        h->i = (int16_t)get_u16(v);
        vs = 2;
        break;
    case SY_ES_INT:
        h->i = (int32_t)get_u32(v);
        vs = 4;
        break;
    case SY_ES_LONG:
    case SY_ES_TIMESTAMP:
        h->i = (int64_t)get_u64(v);
        vs = 8;
        break;
    case SY_ES_UUID:
        h->bytes = sy_str(v, 16);
        vs = 16;
        break;
    case SY_ES_BYTES:
    case SY_ES_STRING:
        h->bytes = sy_str(v + 2, get_u16(v));
        vs = 2 + h->bytes.len;
        break;
    }
    *size = 1 + nlen + 1 + vs;
}

/* Check every header of the block fits and has a known type; note the
 * string headers Bedrock uses. */
static int check_headers(sy_es_message_t *m, const char **error)
{
    const char *p = m->headers.p, *end = p + m->headers.len;
    while (p < end) {
        size_t avail = (size_t)(end - p);
        size_t nlen = (unsigned char)p[0];
        if (nlen == 0) {
            *error = "event-stream header with an empty name";
            return SY_EINVAL;
        }
        if (avail < 1 + nlen + 1) {
            *error = "event-stream header cut off";
            return SY_EINVAL;
        }
        unsigned t = (unsigned char)p[1 + nlen];
        ptrdiff_t vs = value_size(t, p + 2 + nlen, avail - 2 - nlen);
        if (t > SY_ES_UUID) {
            *error = "event-stream header of unknown type";
            return SY_EINVAL;
        }
        if (vs < 0 || (size_t)vs > avail - 2 - nlen) {
            *error = "event-stream header value cut off";
            return SY_EINVAL;
        }
        sy_es_header_t h;
        size_t size;
        decode_header(p, &h, &size);
        if (h.type == SY_ES_STRING && h.name.len > 1 && h.name.p[0] == ':') {
            sy_str_t n = h.name;
            if (sy_str_eq_c(n, ":event-type"))
                m->event_type = h.bytes;
            else if (sy_str_eq_c(n, ":message-type"))
                m->message_type = h.bytes;
            else if (sy_str_eq_c(n, ":content-type"))
                m->content_type = h.bytes;
            else if (sy_str_eq_c(n, ":exception-type"))
                m->exception_type = h.bytes;
            else if (sy_str_eq_c(n, ":error-code"))
                m->error_code = h.bytes;
            else if (sy_str_eq_c(n, ":error-message"))
                m->error_message = h.bytes;
        }
        p += size;
    }
    return SY_OK;
}

/* ------------------------------------------------------------ decoder --- */

static size_t clamp_max(size_t max)
{
    if (max == 0)
        return SY_ES_DEFAULT_MAX_MESSAGE;
    return max > SY_ES_MAX_MESSAGE_LIMIT ? SY_ES_MAX_MESSAGE_LIMIT : max;
}

int sy_es_parse(const char *p, size_t len, size_t max_message, sy_es_message_t *m,
                const char **error)
{
    const char *dummy;
    if (error == NULL)
        error = &dummy;
    max_message = clamp_max(max_message);
    if (len < SY_ES_PRELUDE_LEN)
        return SY_EAGAIN;
    uint32_t total = get_u32(p), hlen = get_u32(p + 4);
    if (sy_crc32(0, p, 8) != get_u32(p + 8)) {
        *error = "event-stream prelude CRC mismatch";
        return SY_EINVAL;
    }
    if (total < SY_ES_MIN_MESSAGE) {
        *error = "event-stream message shorter than its prelude and CRC";
        return SY_EINVAL;
    }
    if (total > max_message) {
        *error = "event-stream message over the size cap";
        return SY_ETOOBIG;
    }
    if (hlen > total - SY_ES_MIN_MESSAGE) {
        *error = "event-stream headers longer than the message";
        return SY_EINVAL;
    }
    if (hlen > SY_ES_MAX_HEADERS_LEN) {
        *error = "event-stream headers over the size cap";
        return SY_ETOOBIG;
    }
    if (len < total)
        return SY_EAGAIN;
    if (sy_crc32(0, p, total - 4) != get_u32(p + total - 4)) {
        *error = "event-stream message CRC mismatch";
        return SY_EINVAL;
    }
    memset(m, 0, sizeof(*m));
    m->total_len = total;
    m->headers = sy_str(p + SY_ES_PRELUDE_LEN, hlen);
    m->payload = sy_str(p + SY_ES_PRELUDE_LEN + hlen, total - hlen - SY_ES_MIN_MESSAGE);
    int rc = check_headers(m, error);
    if (rc != SY_OK)
        return rc;
    return (int)total;
}

void sy_es_header_iter(sy_es_header_iter_t *it, const sy_es_message_t *m)
{
    it->p = m->headers.p;
    it->end = m->headers.p + m->headers.len;
}

bool sy_es_header_next(sy_es_header_iter_t *it, sy_es_header_t *h)
{
    if (it->p == NULL || it->p >= it->end)
        return false;
    size_t size;
    decode_header(it->p, h, &size);
    it->p += size;
    return true;
}

bool sy_es_header_find(const sy_es_message_t *m, const char *name, sy_es_header_t *h)
{
    sy_es_header_iter_t it;
    sy_es_header_iter(&it, m);
    while (sy_es_header_next(&it, h))
        if (sy_str_eq_c(h->name, name))
            return true;
    return false;
}

void sy_es_decoder_init(sy_es_decoder_t *d, sy_buf_t *buf, size_t max_message)
{
    memset(d, 0, sizeof(*d));
    d->buf = buf;
    d->max_message = clamp_max(max_message);
    sy_buf_clear(buf);
}

bool sy_es_pending(const sy_es_decoder_t *d) { return !d->err && !d->clear && d->buf->len > 0; }

static int fail(sy_es_decoder_t *d, int rc, const char *why)
{
    d->err = rc;
    d->error = why;
    return rc;
}

int sy_es_next(sy_es_decoder_t *d, const char *in, size_t len, size_t *used, sy_es_message_t *m)
{
    const char *why = NULL;
    int rc;
    *used = 0;
    if (d->err)
        return d->err;
    if (d->clear) {
        sy_buf_clear(d->buf);
        d->clear = false;
    }
    sy_buf_t *b = d->buf;
    if (b->len == 0) {
        /* Nothing started: the whole message may be right here. */
        rc = sy_es_parse(in, len, d->max_message, m, &why);
        if (rc > 0) {
            *used = (size_t)rc;
            d->offset += (size_t)rc;
            d->messages++;
            return SY_OK;
        }
        if (rc != SY_EAGAIN)
            return fail(d, rc, why);
        /* Incomplete, and the prelude (if in) is valid: keep it all. */
        if (sy_buf_append(b, in, len) != SY_OK)
            return fail(d, SY_ETOOBIG, "event-stream buffer full");
        *used = len;
        return SY_EAGAIN;
    }
    size_t pos = 0;
    for (;;) {
        rc = sy_es_parse(sy_buf_ptr(b), b->len, d->max_message, m, &why);
        if (rc > 0) {
            *used = pos;
            d->clear = true;
            d->offset += (size_t)rc;
            d->messages++;
            return SY_OK;
        }
        if (rc != SY_EAGAIN) {
            *used = pos;
            return fail(d, rc, why);
        }
        if (pos == len) {
            *used = len;
            return SY_EAGAIN;
        }
        size_t want = b->len < SY_ES_PRELUDE_LEN ? SY_ES_PRELUDE_LEN - b->len
                                                 : get_u32(sy_buf_ptr(b)) - b->len;
        size_t n = SY_MIN(want, len - pos);
        if (sy_buf_append(b, in + pos, n) != SY_OK) {
            *used = pos;
            return fail(d, SY_ETOOBIG, "event-stream buffer full");
        }
        pos += n;
    }
}

/* ------------------------------------------------------------ encoder --- */

int sy_es_encode(sy_buf_t *b, const sy_es_header_t *h, size_t n, const void *payload, size_t plen)
{
    size_t hlen = 0;
    for (size_t i = 0; i < n; i++) {
        ptrdiff_t vs;
        if (h[i].name.len == 0 || h[i].name.len > 255 || (unsigned)h[i].type > SY_ES_UUID)
            return SY_EINVAL;
        if (h[i].type == SY_ES_BYTES || h[i].type == SY_ES_STRING) {
            if (h[i].bytes.len > 0xffff)
                return SY_EINVAL;
            vs = 2 + (ptrdiff_t)h[i].bytes.len;
        } else if (h[i].type == SY_ES_UUID) {
            if (h[i].bytes.len != 16)
                return SY_EINVAL;
            vs = 16;
        } else {
            vs = value_size((unsigned)h[i].type, NULL, 0);
        }
        hlen += 2 + h[i].name.len + (size_t)vs;
        if (hlen > SY_ES_MAX_HEADERS_LEN)
            return SY_ETOOBIG;
    }
    if (plen > SY_ES_MAX_MESSAGE_LIMIT - SY_ES_MIN_MESSAGE - hlen)
        return SY_ETOOBIG;
    size_t total = SY_ES_MIN_MESSAGE + hlen + plen;
    int rc = sy_buf_reserve(b, total);
    if (rc != SY_OK)
        return rc;
    char *start = sy_buf_tail(b), *p = start;
    put_u32(p, (uint32_t)total);
    put_u32(p + 4, (uint32_t)hlen);
    put_u32(p + 8, sy_crc32(0, p, 8));
    p += SY_ES_PRELUDE_LEN;
    for (size_t i = 0; i < n; i++) {
        *p++ = (char)h[i].name.len;
        memcpy(p, h[i].name.p, h[i].name.len);
        p += h[i].name.len;
        *p++ = (char)h[i].type;
        uint64_t v = (uint64_t)h[i].i;
        switch (h[i].type) {
        case SY_ES_BOOL_TRUE:
        case SY_ES_BOOL_FALSE:
            break;
        case SY_ES_BYTE:
            *p++ = (char)v;
            break;
        case SY_ES_SHORT:
            *p++ = (char)(v >> 8);
            *p++ = (char)v;
            break;
        case SY_ES_INT:
            put_u32(p, (uint32_t)v);
            p += 4;
            break;
        case SY_ES_LONG:
        case SY_ES_TIMESTAMP:
            put_u32(p, (uint32_t)(v >> 32));
            put_u32(p + 4, (uint32_t)v);
            p += 8;
            break;
        case SY_ES_UUID:
            memcpy(p, h[i].bytes.p, 16);
            p += 16;
            break;
        case SY_ES_BYTES:
        case SY_ES_STRING:
            *p++ = (char)(h[i].bytes.len >> 8);
            *p++ = (char)h[i].bytes.len;
            if (h[i].bytes.len)
                memcpy(p, h[i].bytes.p, h[i].bytes.len);
            p += h[i].bytes.len;
            break;
        }
    }
    if (plen)
        memcpy(p, payload, plen);
    p += plen;
    put_u32(p, sy_crc32(0, start, (size_t)(p - start)));
    sy_buf_commit(b, total);
    return SY_OK;
}

int sy_es_encode_event(sy_buf_t *b, sy_str_t event_type, sy_str_t payload)
{
    sy_es_header_t h[3] = {
        SY_ES_HEADER_STR(":event-type", event_type),
        SY_ES_HEADER_STR(":content-type", SY_STR("application/json")),
        SY_ES_HEADER_STR(":message-type", SY_STR("event")),
    };
    return sy_es_encode(b, h, 3, payload.p, payload.len);
}

int sy_es_encode_exception(sy_buf_t *b, sy_str_t exception_type, sy_str_t payload)
{
    sy_es_header_t h[3] = {
        SY_ES_HEADER_STR(":exception-type", exception_type),
        SY_ES_HEADER_STR(":content-type", SY_STR("application/json")),
        SY_ES_HEADER_STR(":message-type", SY_STR("exception")),
    };
    return sy_es_encode(b, h, 3, payload.p, payload.len);
}
