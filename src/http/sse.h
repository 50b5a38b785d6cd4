/*
 * sse.h - Server-Sent Events (text/event-stream): an incremental reader and
 * a writer, as pure functions over bytes. No I/O.
 *
 * The reader follows the WHATWG HTML "event stream interpretation" rules the
 * way provider streams use them: lines end in LF, CRLF or CR (a CRLF split
 * across two reads is still one line end); "field:value" with or without one
 * space after the colon; event, data (several data lines joined with LF), id
 * (the last event id persists across events, ids containing NUL are
 * ignored), retry (digits only); lines starting with ':' are comments
 * (OpenRouter keepalives); unknown fields and lines without a colon that
 * name no known field are ignored; a blank line dispatches the event if it
 * had at least one data line; a leading UTF-8 BOM is skipped. Bytes are
 * passed through as they are (no UTF-8 decoding).
 *
 * Incremental and split-proof: the caller may feed the stream cut anywhere,
 * one byte per call included, and gets the same events and the same
 * verdict. Zero-copy when possible: an event whose single data line lies in
 * the bytes of the current call comes out as a view into those bytes;
 * otherwise (several data lines, or an event spread over several reads) the
 * reader assembles it in the caller's sy_buf_t. Everything the reader keeps
 * between calls is copied out of the caller's input before it returns
 * SY_EAGAIN, so the caller may reuse its read buffer after that.
 *
 * Every input-driven size is capped: one line (max_line), the data of one
 * event (max_data), the event type (SY_SSE_MAX_EVENT) and the id
 * (SY_SSE_MAX_ID). Past a cap the reader fails with SY_ETOOBIG and stays
 * failed; the buffer never grows past max_line + max_data (+1).
 * docs/internals/sse.md has the details.
 */
#ifndef SY_HTTP_SSE_H
#define SY_HTTP_SSE_H

#include "core/buf.h"
#include "core/common.h"
#include "core/str.h"

#define SY_SSE_DEFAULT_MAX_LINE ((size_t)1 << 20) /* one line, terminator not counted */
#define SY_SSE_DEFAULT_MAX_DATA ((size_t)8 << 20) /* data of one event, joined */
#define SY_SSE_MAX_EVENT 128                      /* bytes of an event type */
#define SY_SSE_MAX_ID 256                         /* bytes of an event id */

/* Reader flags. */
#define SY_SSE_COMMENTS 0x1u /* report comment lines as events (comment = true) */

/*
 * One dispatched event. Views are valid until the next call on the reader
 * (and, for data, as long as the input bytes of this call: data may point
 * into them). event is empty when the stream gave no event: line (the
 * browser would call it "message"). data is the data lines joined with LF,
 * without a final LF. id is the last event id seen so far in the stream
 * (empty if none). retry is the value of a valid retry: field seen since the
 * previous event, or -1. With SY_SSE_COMMENTS, a comment line comes out as
 * an event with comment = true and data = the text after the ':' (one
 * leading space removed); event and id are then empty.
 */
typedef struct {
    sy_str_t event;
    sy_str_t data;
    sy_str_t id;
    int64_t retry;
    bool comment;
} sy_sse_event_t;

/* Reader state: initialise with sy_sse_reader_init; the fields are private. */
typedef struct {
    sy_buf_t *buf;
    size_t max_line, max_data;
    unsigned flags;
    int err;             /* sticky error code once failed */
    const char *error;   /* static sentence once failed */
    int8_t bom;          /* BOM bytes matched at the stream start; -1 once past it */
    bool skip_lf;        /* the last line ended in CR: an LF next belongs to it */
    bool partial;        /* buf[line_off..] holds the start of an unfinished line */
    bool has_data;       /* the pending event has at least one data line */
    bool data_in_buf;    /* its data is buf[0..data_len); else data_p[0..data_len) */
    size_t keep;         /* at the next call, truncate buf to this (SIZE_MAX: no-op) */
    size_t line_off;
    const char *data_p;
    size_t data_len;
    int64_t retry;       /* retry: value pending for the next event, or -1 */
    size_t event_len, id_len;
    char event[SY_SSE_MAX_EVENT];
    char id[SY_SSE_MAX_ID];
} sy_sse_reader_t;

/*
 * Start reading a new stream. buf is the caller's assembly buffer (its
 * contents are the reader's until the reader is done; give it a cap of at
 * least max_line + max_data + 1, or 0). 0 for a cap selects its default.
 */
void sy_sse_reader_init(sy_sse_reader_t *r, sy_buf_t *buf, size_t max_line, size_t max_data,
                        unsigned flags);

/*
 * Read from in[0..len) up to the next event. Returns SY_OK with *ev filled
 * and *used the bytes consumed (through the blank line that dispatched it):
 * call again with in + *used. Returns SY_EAGAIN when all the bytes were
 * consumed (*used == len) without completing an event: wait for more.
 * Returns SY_ETOOBIG when a cap was exceeded (r->error says which); the
 * error is sticky. The same events come out however the input is split.
 */
int sy_sse_next(sy_sse_reader_t *r, const char *in, size_t len, size_t *used,
                sy_sse_event_t *ev);

/* True when the reader holds the start of an event that has not been
 * dispatched (a partial line or data lines without their blank line): at
 * the end of the stream, that means the stream was cut short. */
bool sy_sse_pending(const sy_sse_reader_t *r);

/*
 * End of the stream: some servers end the last event without its blank
 * line ("data: [DONE]\n" and EOF). WHATWG discards such an event; a
 * gateway usually wants it. This treats the end as a line end followed by
 * a blank line: a partial line is completed, pending data is dispatched.
 * Returns SY_OK with *ev (call again: a partial comment line may come out
 * before the data), SY_EAGAIN when nothing was pending, or the sticky
 * error. Call it only once the input has ended.
 */
int sy_sse_finish(sy_sse_reader_t *r, sy_sse_event_t *ev);

/*
 * Writer. Append one event to b: "event: NAME\n" when event is not empty,
 * then one "data: LINE\n" per line of data (data split at CRLF, CR and LF;
 * it reads back identical, with its line ends as LF), then "\n". All or nothing: on SY_ETOOBIG
 * (b's cap) b is unchanged. SY_EINVAL if event contains CR or LF.
 */
int sy_sse_write(sy_buf_t *b, sy_str_t event, sy_str_t data);

/* Append a comment line ": TEXT\n" (a keepalive). SY_EINVAL if text holds CR or LF. */
int sy_sse_write_comment(sy_buf_t *b, sy_str_t text);

#endif
