/*
 * wire.h - small helpers the Gemini and Bedrock adapters share: media
 * types and data URLs, base64, JSON string escaping for hand-assembled
 * fragments, percent-encoding, locating a raw string in an unparsed body,
 * and moving a finished buffer into the request arena.
 *
 * Pure functions over bytes, no I/O. Views returned point into the input.
 */
#ifndef SY_PROVIDERS_WIRE_H
#define SY_PROVIDERS_WIRE_H

#include "core/arena.h"
#include "core/buf.h"
#include "core/str.h"
#include "ir/ir.h"

/* Cap on the body an adapter builds (images travel inline as base64). */
#define SY_WIRE_MAX_BODY ((size_t)128 << 20)

/*
 * Split "data:<media type>[;params];base64,<data>" into its media type and
 * base64 payload. SY_OK, or SY_EINVAL when url is not a base64 data URL.
 */
int sy_wire_data_url(sy_str_t url, sy_str_t *media_type, sy_str_t *data);

/* The image media type a URL's file extension names ("image/png" for
 * ".../a.PNG?x=1"), or an empty view when the extension is not a known
 * image type. */
sy_str_t sy_wire_image_type_from_url(sy_str_t url);

/* An IR image as inline data: its own media type and data, or those of a
 * data: URL. False for a plain (http, gs, s3...) URL. */
bool sy_wire_image_inline(const sy_ir_image_t *img, sy_str_t *media_type, sy_str_t *data);

/*
 * Decode standard or URL-safe base64 (padding optional, no whitespace) into
 * out, which must hold (len / 4 + 1) * 3 bytes. SY_OK with *n the decoded
 * length, or SY_EINVAL.
 */
int sy_wire_base64_decode(const char *in, size_t len, char *out, size_t *n);

/* Append s to b as the inside of a JSON string (quotes not included):
 * '"', '\\' and control characters escaped, other bytes as they are (the
 * caller passes valid UTF-8). Returns what sy_buf_append returns. */
int sy_wire_json_escape(sy_buf_t *b, sy_str_t s);

/* Append s percent-encoded as one URL path segment: every byte outside
 * A-Z a-z 0-9 - . _ ~ becomes %XX (upper-case hex), as the AWS SDKs encode
 * a Bedrock model id (':' -> %3A, '/' -> %2F). */
int sy_wire_percent_encode(sy_buf_t *b, sy_str_t s);

/*
 * The raw (still escaped) contents of the first JSON string that follows
 * `"key"` and a colon in body, or an empty view. For error messages when no
 * arena is at hand: the parsed value of a string with escapes lives in an
 * arena, this view lives in the body.
 */
sy_str_t sy_wire_raw_string_member(sy_str_t body, const char *key);

/* The parsed string v as a view that outlives a parse arena: v itself when
 * it points into body (no escapes), else the raw text located in body by
 * key, else empty. */
sy_str_t sy_wire_body_string(sy_str_t body, sy_str_t v, const char *key);

/* x then y in the arena, NUL-terminated (a path, a header value: cheaper
 * than a formatted print for a plain join). */
sy_str_t sy_wire_join(sy_arena_t *a, sy_str_t x, sy_str_t y);

/* Copy b's bytes into the arena (NUL-terminated) and free b. */
sy_str_t sy_wire_buf_to_arena(sy_arena_t *a, sy_buf_t *b);

/* The host[:port] of a URL ("https://h:1/p" -> "h:1"). */
sy_str_t sy_wire_url_authority(sy_str_t url);

/*
 * Passthrough: the client's JSON object as it wrote it, with every top-level
 * "model" member's value set to `model` and, when `stream_usage`, the
 * stream_options object given "include_usage": true (its other members
 * kept; added when absent). Members are copied as written, without the
 * whitespace between them. The body must have been validated by a front
 * door. SY_EAGAIN when it cannot be rewritten without a parse: a top-level
 * key written with escapes (it may spell "model"), stream_options that is
 * not an object or has such a key, or text that is not one object.
 */
int sy_wire_relay_body(sy_arena_t *a, sy_str_t body, sy_str_t model, bool stream_usage,
                       sy_str_t *out);

#endif
