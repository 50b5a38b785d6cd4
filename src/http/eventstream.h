/*
 * eventstream.h - AWS event-stream binary framing
 * (application/vnd.amazon.eventstream), as Bedrock's ConverseStream and
 * InvokeModelWithResponseStream answer with it: a decoder that takes the
 * bytes split anywhere, and an encoder. Pure functions over bytes, no I/O.
 *
 * One message on the wire (all integers big-endian):
 *
 *   total length   u32   whole message, these 4 bytes and the final CRC included
 *   headers length u32   bytes of the header block
 *   prelude CRC    u32   CRC-32 of the 8 bytes above
 *   headers        name length u8, name, value type u8, value (see sy_es_type_t)
 *   payload        total - headers - 16 bytes (JSON for Bedrock)
 *   message CRC    u32   CRC-32 of everything before it, from the first byte
 *
 * CRC-32 is ISO-HDLC (zlib's crc32), table-driven here. Both CRCs are
 * verified; the prelude CRC before the total length is believed, so a
 * damaged length cannot make the decoder wait for or buffer gigabytes.
 * Caps: the message size (max_message, default 16 MiB: AWS's own limit) and
 * the header block (SY_ES_MAX_HEADERS_LEN, 128 KiB: AWS's limit). See
 * docs/internals/eventstream.md.
 */
#ifndef SY_HTTP_EVENTSTREAM_H
#define SY_HTTP_EVENTSTREAM_H

#include "core/buf.h"
#include "core/common.h"
#include "core/str.h"

#define SY_ES_PRELUDE_LEN 12
#define SY_ES_MIN_MESSAGE 16                          /* prelude + message CRC */
#define SY_ES_DEFAULT_MAX_MESSAGE ((size_t)16 << 20)  /* 16 MiB */
#define SY_ES_MAX_MESSAGE_LIMIT ((size_t)1 << 30)     /* hard ceiling on max_message */
#define SY_ES_MAX_HEADERS_LEN ((size_t)128 << 10)     /* 128 KiB */

/* Header value types, as numbered on the wire. */
typedef enum {
    SY_ES_BOOL_TRUE = 0,  /* no value bytes */
    SY_ES_BOOL_FALSE = 1, /* no value bytes */
    SY_ES_BYTE = 2,       /* int8 */
    SY_ES_SHORT = 3,      /* int16 */
    SY_ES_INT = 4,        /* int32 */
    SY_ES_LONG = 5,       /* int64 */
    SY_ES_BYTES = 6,      /* u16 length + bytes */
    SY_ES_STRING = 7,     /* u16 length + UTF-8 */
    SY_ES_TIMESTAMP = 8,  /* int64 milliseconds since the Unix epoch */
    SY_ES_UUID = 9,       /* 16 bytes */
} sy_es_type_t;

/* One header. i holds BOOL (1/0), BYTE, SHORT, INT, LONG and TIMESTAMP
 * values; bytes holds BYTES, STRING and UUID (16 bytes) values. Decoded
 * headers are views into the message. */
typedef struct {
    sy_str_t name;
    sy_es_type_t type;
    int64_t i;
    sy_str_t bytes;
} sy_es_header_t;

/* Shorthand for building headers to encode. */
#define SY_ES_HEADER_STR(n, v) ((sy_es_header_t){SY_STR(n), SY_ES_STRING, 0, (v)})

/*
 * A decoded message. headers is the raw header block (already validated:
 * iterating it cannot fail), payload the payload bytes. The string headers
 * Bedrock uses are looked up once; each is empty when absent or not a
 * string. Views point into the decoder's input or its buffer (see
 * sy_es_next).
 */
typedef struct {
    sy_str_t headers;
    sy_str_t payload;
    uint32_t total_len;
    sy_str_t event_type;     /* ":event-type" */
    sy_str_t message_type;   /* ":message-type": "event", "exception" or "error" */
    sy_str_t content_type;   /* ":content-type" */
    sy_str_t exception_type; /* ":exception-type" */
    sy_str_t error_code;     /* ":error-code" */
    sy_str_t error_message;  /* ":error-message" */
} sy_es_message_t;

/*
 * Parse one complete message at p[0..len). Returns its total length (> 0)
 * with *m filled, SY_EAGAIN if more bytes are needed (the prelude, when
 * len >= 12, was checked and is valid), SY_EINVAL (bad CRC, inconsistent
 * lengths, malformed header) or SY_ETOOBIG (over max_message, which 0
 * selects the default for, or over the header cap). *error (if error is not
 * NULL) gets a static sentence on failure.
 */
int sy_es_parse(const char *p, size_t len, size_t max_message, sy_es_message_t *m,
                const char **error);

/* Iterate a message's headers in wire order. */
typedef struct {
    const char *p, *end;
} sy_es_header_iter_t;

void sy_es_header_iter(sy_es_header_iter_t *it, const sy_es_message_t *m);
bool sy_es_header_next(sy_es_header_iter_t *it, sy_es_header_t *h);
/* The first header with this name (exact, case-sensitive as AWS), or false. */
bool sy_es_header_find(const sy_es_message_t *m, const char *name, sy_es_header_t *h);

/*
 * Incremental decoder. Feed the stream split anywhere; the same messages
 * and the same verdict come out. A message found whole in the bytes of one
 * call (and not started in an earlier one) is returned as views into them;
 * otherwise it is assembled in the caller's buf (capped by max_message) and
 * the views point there, valid until the next call. Before returning
 * SY_EAGAIN the decoder has copied what it needs, so the caller may reuse
 * its read buffer.
 *
 * After an error, offset is the stream offset of the message that failed
 * and messages the number decoded before it; error says why.
 */
typedef struct {
    sy_buf_t *buf;
    size_t max_message;
    int err;
    const char *error;
    bool clear;        /* buf holds the last message returned: drop it next call */
    uint64_t offset;   /* stream offset of the message being read */
    uint64_t messages; /* messages decoded so far */
} sy_es_decoder_t;

/* max_message 0 selects SY_ES_DEFAULT_MAX_MESSAGE; clamped to the limit. */
void sy_es_decoder_init(sy_es_decoder_t *d, sy_buf_t *buf, size_t max_message);

/* Returns SY_OK with *m and *used (bytes consumed: call again with
 * in + *used), SY_EAGAIN (all of in consumed, message incomplete), or the
 * sticky SY_EINVAL / SY_ETOOBIG. */
int sy_es_next(sy_es_decoder_t *d, const char *in, size_t len, size_t *used, sy_es_message_t *m);

/* True when part of a message is buffered (and no error occurred): at the
 * end of the stream, the stream was cut short. */
bool sy_es_pending(const sy_es_decoder_t *d);

/*
 * Encoder. Append one message with headers h[0..n) and the payload to b.
 * Names must be 1..255 bytes, BYTES/STRING values up to 65535 bytes, UUID
 * exactly 16. All or nothing: SY_EINVAL for a bad header, SY_ETOOBIG past
 * SY_ES_MAX_HEADERS_LEN / SY_ES_MAX_MESSAGE_LIMIT or b's cap; b unchanged.
 */
int sy_es_encode(sy_buf_t *b, const sy_es_header_t *h, size_t n, const void *payload, size_t plen);

/* A Bedrock event: :event-type event_type, :content-type application/json,
 * :message-type event, then the JSON payload. */
int sy_es_encode_event(sy_buf_t *b, sy_str_t event_type, sy_str_t payload);

/* A modeled exception mid-stream, as Bedrock sends one (e.g.
 * "throttlingException"): :exception-type, :content-type application/json,
 * :message-type exception, payload {"message":...}. */
int sy_es_encode_exception(sy_buf_t *b, sy_str_t exception_type, sy_str_t payload);

/* CRC-32/ISO-HDLC (zlib's crc32): pass 0 to start, the previous result to
 * continue. */
uint32_t sy_crc32(uint32_t crc, const void *p, size_t n);

#endif
