/*
 * file.c - the audit log as one append-only file (audit.store: file:PATH).
 *
 * Why: the SQLite store writes a record three times over (into a WAL frame,
 * then the WAL checkpoint reads the frame back and writes the page into the
 * database file), and the writer thread spends ~40% of its time in those
 * system calls. Here a batch is one frame appended with one write(), and one
 * fdatasync() with audit.synchronous: full (with normal, one at close).
 * Nothing is rewritten, except the bytes of an append that failed. With
 * synchronous: full the synced pages are dropped from the page cache
 * (posix_fadvise DONTNEED): a log is written once and seldom read.
 *
 * Layout (integers little-endian):
 *   file header  "SYAUDIT1", u32 version (1), u32 zero            16 bytes
 *   frame        u32 magic "SYFR", u32 type, u64 payload length,
 *                u32 CRC-32C of type, length and payload,
 *                u32 CRC-32C of the header's first 20 bytes       24 bytes
 *                then the payload
 *   batch (1)    u64 first seq, u32 rows, u32 frontier length,
 *                u32 has checkpoint, u32 zero; the frontier (the compact
 *                range after the rows, sy_merkle_frontier_encode); the
 *                checkpoint when present (u64 tree size, root[32],
 *                u64 time_ms, key id[16], signature[64]); then each row:
 *                u64 time_ms, leaf[32], u32 request id length,
 *                u32 record length, the request id, the record
 *   meta (2)     u32 key length, u32 value length, key, value (the last
 *                frame for a key holds its value)
 *
 * A batch is whole or absent. A header is trusted (its length read) only
 * when its own CRC holds; a payload only when its CRC holds. Where the
 * whole frames end, what follows is one of (walk): a frame being appended
 * (a valid header, the payload not all there yet), a crash's leftovers (no
 * valid frame there nor anywhere after), or damage (no valid frame there,
 * but a whole one later). Readers stop quietly at the first two and report
 * the third. The writer, on opening, moves a crash's leftovers to
 * PATH.damaged-OFFSET (a new name if that exists), says so in the log, and
 * appends after the last whole frame: those bytes were never an
 * acknowledged batch. Damage it refuses to start on: appending would give
 * new records the numbers of those after the damage and fork the log.
 *
 * One process writes a file (an exclusive flock; a second gateway pointed at
 * it is refused). Readers take no lock. The writer answers count, frontier,
 * checkpoint and meta from memory; a read-only handle reads the file for
 * every question, so it sees what was appended since it opened. Opening
 * reads the whole file once (its CRCs), as SQLite's count(*) reads every
 * page.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/crc.h"
#include "core/log.h"
#include "store/store.h"

#define FILE_MAGIC "SYAUDIT1"
#define FILE_HEADER 16
#define FRAME_MAGIC 0x52465953u /* "SYFR" */
#define FRAME_HEADER 24
#define FRAME_BATCH 1u
#define FRAME_META 2u
#define BATCH_FIXED 24
#define CKPT_LEN (8 + SY_HASH_LEN + 8 + 16 + SY_ED25519_SIG_LEN)
#define ROW_FIXED (8 + SY_HASH_LEN + 4 + 4)
#define READ_CHUNK (256u << 10)

typedef struct {
    char *key;
    uint8_t *value;
    size_t len;
} meta_t;

/* What the frames say, read once by the writer, on every query by a reader. */
typedef struct {
    uint64_t count;
    uint8_t frontier[SY_STORE_FRONTIER_MAX];
    size_t frontier_len;
    bool has_cp;
    sy_store_checkpoint_t cp;
    meta_t *meta;
    size_t nmeta;
} state_t;

/* A window on the file for sequential reads. */
typedef struct {
    uint8_t *buf;
    size_t cap, len;
    uint64_t base;
} window_t;

typedef struct {
    sy_store_t base;
    int fd;
    char *path;
    bool readonly, sync_full;
    uint64_t end;     /* writer: where the next frame goes */
    bool cut_pending; /* writer: a failed append's bytes are still past end */
    bool unsynced;    /* writer: appended without fdatasync (synchronous: normal) */
    uint64_t dropped; /* writer: the page cache was told to drop [0, dropped) */
    state_t st;   /* writer only */
    window_t win;
    /* writer: the frame being built */
    uint8_t *frame;
    size_t frame_len, frame_cap;
} file_store_t;

/* ---- little-endian fields ---- */

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static int sys_fail(file_store_t *s, const char *what, char *err, size_t errsz)
{
    snprintf(err, errsz, "audit file %s: %s: %s", s->path, what, strerror(errno));
    return SY_ERR;
}

/* ---- reading ---- */

/* n bytes at off, or NULL when the file ends first (errno 0) or a read
 * fails (errno set). */
static const uint8_t *window_get(file_store_t *s, uint64_t off, size_t n)
{
    window_t *w = &s->win;
    if (off >= w->base && off - w->base <= w->len && w->len - (off - w->base) >= n)
        return w->buf + (off - w->base);
    if (n > w->cap) {
        w->cap = SY_MAX(n, (size_t)READ_CHUNK);
        free(w->buf);
        w->buf = sy_malloc(w->cap);
    }
    w->base = off;
    w->len = 0;
    while (w->len < w->cap) {
        ssize_t r = pread(s->fd, w->buf + w->len, w->cap - w->len, (off_t)(off + w->len));
        if (r < 0) {
            if (errno == EINTR)
                continue;
            w->len = 0;
            return NULL;
        }
        if (r == 0)
            break;
        w->len += (size_t)r;
    }
    errno = 0;
    return w->len >= n ? w->buf : NULL;
}

typedef int (*frame_cb)(void *ctx, uint32_t type, const uint8_t *p, uint64_t len, uint64_t off,
                        char *err, size_t errsz);

/* How the frames end (walk). */
typedef enum {
    END_CLEAN,   /* the last whole frame ends the file */
    END_PARTIAL, /* then a frame being appended: fewer bytes than a header, or a valid
                    header whose payload the file does not hold yet */
    END_GARBAGE, /* then bytes that are no frame, and no whole frame after them: what a
                    crash during an append leaves */
    END_DAMAGED, /* then bytes that are no frame, with a whole frame after them: the file
                    was changed or damaged in the middle */
} frame_end_t;

static bool header_ok(const uint8_t *h)
{
    return get32(h) == FRAME_MAGIC && sy_crc32c(0, h, 20) == get32(h + 20);
}

/* The payload of a valid frame at off (off < size), its type and length,
 * or NULL (errno set on a read error). */
static const uint8_t *frame_at(file_store_t *s, uint64_t off, uint64_t size, uint32_t *type,
                               uint64_t *len)
{
    errno = 0;
    if (size - off < FRAME_HEADER)
        return NULL;
    const uint8_t *h = window_get(s, off, FRAME_HEADER);
    if (h == NULL || !header_ok(h))
        return NULL;
    *type = get32(h + 4);
    *len = get64(h + 8);
    uint32_t want = get32(h + 16), crc = sy_crc32c(0, h + 4, 12);
    if (*len > size - off - FRAME_HEADER)
        return NULL;
    const uint8_t *p = window_get(s, off + FRAME_HEADER, (size_t)*len);
    return p && sy_crc32c(crc, p, (size_t)*len) == want ? p : NULL;
}

/* Whether a whole, valid frame starts anywhere after off. */
static bool frame_after(file_store_t *s, uint64_t off, uint64_t size)
{
    for (uint64_t at = off + 1; at < size && size - at >= FRAME_HEADER; at++) {
        const uint8_t *h = window_get(s, at, 4);
        uint32_t type;
        uint64_t len;
        if (h && get32(h) == FRAME_MAGIC && frame_at(s, at, size, &type, &len))
            return true;
    }
    return false;
}

/*
 * Visit every whole frame. *good_end is where the last whole frame ends and
 * *end says what follows it. Every frame's header carries its own CRC, so a
 * length is trusted only when the header is intact. A visitor's non-OK
 * result stops the walk and is returned.
 */
static int walk(file_store_t *s, frame_cb cb, void *ctx, uint64_t *good_end, frame_end_t *end,
                char *err, size_t errsz)
{
    struct stat sb;
    if (fstat(s->fd, &sb) != 0)
        return sys_fail(s, "stat", err, errsz);
    uint64_t size = (uint64_t)sb.st_size, off = FILE_HEADER;
    for (;;) {
        *good_end = off;
        *end = END_CLEAN;
        if (off >= size)
            return SY_OK;
        uint32_t type = 0;
        uint64_t len = 0;
        const uint8_t *p = frame_at(s, off, size, &type, &len);
        if (p == NULL) {
            if (errno)
                return sys_fail(s, "read", err, errsz);
            const uint8_t *h = size - off >= FRAME_HEADER ? window_get(s, off, FRAME_HEADER) : NULL;
            if (size - off < FRAME_HEADER ||
                (h && header_ok(h) && get64(h + 8) > size - off - FRAME_HEADER))
                *end = END_PARTIAL;
            else
                *end = frame_after(s, off, size) ? END_DAMAGED : END_GARBAGE;
            return SY_OK;
        }
        int rc = cb(ctx, type, p, len, off, err, errsz);
        if (rc != SY_OK)
            return rc;
        off += FRAME_HEADER + len;
    }
}

static int malformed(file_store_t *s, uint64_t off, char *err, size_t errsz)
{
    snprintf(err, errsz, "audit file %s: the frame at byte %llu is malformed", s->path,
             (unsigned long long)off);
    return SY_EINVAL;
}

/* A batch frame's fixed part, frontier and checkpoint; *rows points at its
 * first row. */
typedef struct {
    uint64_t first;
    uint32_t nrows;
    const uint8_t *frontier;
    size_t frontier_len;
    bool has_cp;
    sy_store_checkpoint_t cp;
    const uint8_t *rows, *end;
} batch_t;

static bool batch_read(const uint8_t *p, uint64_t len, batch_t *b)
{
    if (len < BATCH_FIXED)
        return false;
    b->first = get64(p);
    b->nrows = get32(p + 8);
    b->frontier_len = get32(p + 12);
    b->has_cp = get32(p + 16) != 0;
    uint64_t need = BATCH_FIXED + (uint64_t)b->frontier_len + (b->has_cp ? CKPT_LEN : 0);
    if (b->frontier_len > SY_STORE_FRONTIER_MAX || need > len)
        return false;
    b->frontier = p + BATCH_FIXED;
    const uint8_t *q = b->frontier + b->frontier_len;
    if (b->has_cp) {
        memset(&b->cp, 0, sizeof(b->cp));
        b->cp.tree_size = get64(q);
        memcpy(b->cp.root.b, q + 8, SY_HASH_LEN);
        b->cp.time_ms = get64(q + 8 + SY_HASH_LEN);
        memcpy(b->cp.key_id, q + 16 + SY_HASH_LEN, 16);
        b->cp.key_id[16] = '\0';
        memcpy(b->cp.sig, q + 32 + SY_HASH_LEN, SY_ED25519_SIG_LEN);
        q += CKPT_LEN;
    }
    b->rows = q;
    b->end = p + len;
    return true;
}

/* The row at *q (advanced past it), or false when it overruns the batch. */
static bool row_read(const uint8_t **q, const uint8_t *end, uint64_t seq, sy_store_row_t *r)
{
    const uint8_t *p = *q;
    if ((size_t)(end - p) < ROW_FIXED)
        return false;
    uint32_t rl = get32(p + 8 + SY_HASH_LEN), cl = get32(p + 12 + SY_HASH_LEN);
    if ((uint64_t)(end - p) - ROW_FIXED < (uint64_t)rl + cl)
        return false;
    r->seq = seq;
    r->time_ms = get64(p);
    memcpy(r->leaf.b, p + 8, SY_HASH_LEN);
    r->request_id = sy_str((const char *)p + ROW_FIXED, rl);
    r->record = sy_str((const char *)p + ROW_FIXED + rl, cl);
    *q = p + ROW_FIXED + rl + cl;
    return true;
}

static void meta_put(state_t *st, const char *key, size_t klen, const uint8_t *v, size_t n)
{
    meta_t *m = NULL;
    for (size_t i = 0; i < st->nmeta; i++)
        if (strlen(st->meta[i].key) == klen && memcmp(st->meta[i].key, key, klen) == 0)
            m = &st->meta[i];
    if (m == NULL) {
        st->meta = sy_realloc(st->meta, (st->nmeta + 1) * sizeof(*st->meta));
        m = &st->meta[st->nmeta++];
        m->key = sy_malloc(klen + 1);
        memcpy(m->key, key, klen);
        m->key[klen] = '\0';
    } else {
        free(m->value);
    }
    m->value = sy_malloc(n ? n : 1);
    memcpy(m->value, v, n);
    m->len = n;
}

static const meta_t *meta_find(const state_t *st, const char *key)
{
    for (size_t i = 0; i < st->nmeta; i++)
        if (strcmp(st->meta[i].key, key) == 0)
            return &st->meta[i];
    return NULL;
}

static void state_free(state_t *st)
{
    for (size_t i = 0; i < st->nmeta; i++) {
        free(st->meta[i].key);
        free(st->meta[i].value);
    }
    free(st->meta);
    memset(st, 0, sizeof(*st));
}

typedef struct {
    file_store_t *s;
    state_t *st;
} state_ctx_t;

static int state_frame(void *ctx, uint32_t type, const uint8_t *p, uint64_t len, uint64_t off,
                       char *err, size_t errsz)
{
    state_ctx_t *c = ctx;
    state_t *st = c->st;
    if (type == FRAME_META) {
        if (len < 8 || get32(p) == 0 || (uint64_t)get32(p) + get32(p + 4) > len - 8)
            return malformed(c->s, off, err, errsz);
        meta_put(st, (const char *)p + 8, get32(p), p + 8 + get32(p), get32(p + 4));
        return SY_OK;
    }
    if (type != FRAME_BATCH)
        return SY_OK; /* a later format's frame: not ours to read */
    batch_t b;
    if (!batch_read(p, len, &b))
        return malformed(c->s, off, err, errsz);
    if (b.first != st->count) {
        snprintf(err, errsz,
                 "audit file %s: the batch at byte %llu starts at record %llu where %llu was "
                 "expected",
                 c->s->path, (unsigned long long)off, (unsigned long long)b.first,
                 (unsigned long long)st->count);
        return SY_EINVAL;
    }
    st->count += b.nrows;
    if (b.frontier_len) {
        memcpy(st->frontier, b.frontier, b.frontier_len);
        st->frontier_len = b.frontier_len;
    }
    if (b.has_cp) {
        st->has_cp = true;
        st->cp = b.cp;
    }
    return SY_OK;
}

static int damaged_error(file_store_t *s, uint64_t at, char *err, size_t errsz)
{
    snprintf(err, errsz,
             "audit file %s is damaged at byte %llu: no valid frame starts there, yet whole "
             "frames follow (the file was changed, or its storage damaged). Nothing is appended "
             "to it: to go on after the last whole batch before the damage and keep the rest "
             "for inspection, move the file aside and copy its first %llu bytes back "
             "(head -c %llu)",
             s->path, (unsigned long long)at, (unsigned long long)at, (unsigned long long)at);
    return SY_ERR;
}

/* A reader's walk: damage in the middle is an error; an unfinished frame or
 * a crash's leftovers at the end are where the log ends. */
static int read_walk(file_store_t *s, frame_cb cb, void *ctx, char *err, size_t errsz)
{
    uint64_t good_end;
    frame_end_t end;
    int rc = walk(s, cb, ctx, &good_end, &end, err, errsz);
    if (rc == SY_OK && end == END_DAMAGED)
        return damaged_error(s, good_end, err, errsz);
    return rc;
}

/* The state: the writer's own, or read from the file now. */
static int state_get(file_store_t *s, state_t *tmp, const state_t **out, char *err, size_t errsz)
{
    if (!s->readonly) {
        *out = &s->st;
        return SY_OK;
    }
    memset(tmp, 0, sizeof(*tmp));
    state_ctx_t c = {s, tmp};
    int rc = read_walk(s, state_frame, &c, err, errsz);
    *out = tmp;
    return rc;
}

/* ---- the vtable ---- */

static int load_frontier(sy_store_t *base, uint8_t *out, size_t cap, size_t *len, char *err,
                         size_t errsz)
{
    file_store_t *s = (file_store_t *)base;
    state_t tmp;
    const state_t *st;
    *len = 0;
    int rc = state_get(s, &tmp, &st, err, errsz);
    if (rc == SY_OK && st->frontier_len <= cap) {
        memcpy(out, st->frontier, st->frontier_len);
        *len = st->frontier_len;
    }
    if (s->readonly)
        state_free(&tmp);
    return rc;
}

static int last_checkpoint(sy_store_t *base, sy_store_checkpoint_t *out, char *err, size_t errsz)
{
    file_store_t *s = (file_store_t *)base;
    state_t tmp;
    const state_t *st;
    int rc = state_get(s, &tmp, &st, err, errsz);
    if (rc == SY_OK)
        rc = st->has_cp ? SY_OK : SY_ENOTFOUND;
    if (rc == SY_OK)
        *out = st->cp;
    if (s->readonly)
        state_free(&tmp);
    return rc;
}

static int count(sy_store_t *base, uint64_t *n, char *err, size_t errsz)
{
    file_store_t *s = (file_store_t *)base;
    state_t tmp;
    const state_t *st;
    int rc = state_get(s, &tmp, &st, err, errsz);
    *n = rc == SY_OK ? st->count : 0;
    if (s->readonly)
        state_free(&tmp);
    return rc;
}

static int meta_get(sy_store_t *base, const char *key, sy_buf_t *out, char *err, size_t errsz)
{
    file_store_t *s = (file_store_t *)base;
    state_t tmp;
    const state_t *st;
    int rc = state_get(s, &tmp, &st, err, errsz);
    if (rc == SY_OK) {
        const meta_t *m = meta_find(st, key);
        if (m)
            sy_buf_append(out, m->value, m->len);
        else
            rc = SY_ENOTFOUND;
    }
    if (s->readonly)
        state_free(&tmp);
    return rc;
}

typedef struct {
    file_store_t *s;
    uint64_t from;
    sy_store_row_cb row;
    sy_store_checkpoint_cb cp;
    void *ctx;
} scan_ctx_t;

static int scan_frame(void *ctx, uint32_t type, const uint8_t *p, uint64_t len, uint64_t off,
                      char *err, size_t errsz)
{
    scan_ctx_t *c = ctx;
    if (type != FRAME_BATCH)
        return SY_OK;
    batch_t b;
    if (!batch_read(p, len, &b))
        return malformed(c->s, off, err, errsz);
    if (c->cp)
        return b.has_cp ? c->cp(c->ctx, &b.cp) : SY_OK;
    if (b.first + b.nrows <= c->from)
        return SY_OK;
    const uint8_t *q = b.rows;
    for (uint32_t i = 0; i < b.nrows; i++) {
        sy_store_row_t r;
        if (!row_read(&q, b.end, b.first + i, &r))
            return malformed(c->s, off, err, errsz);
        if (r.seq < c->from)
            continue;
        int rc = c->row(c->ctx, &r);
        if (rc != SY_OK)
            return rc;
    }
    return SY_OK;
}

static int scan_records(sy_store_t *base, uint64_t from, sy_store_row_cb cb, void *ctx, char *err,
                        size_t errsz)
{
    file_store_t *s = (file_store_t *)base;
    scan_ctx_t c = {s, from, cb, NULL, ctx};
    return read_walk(s, scan_frame, &c, err, errsz);
}

static int scan_checkpoints(sy_store_t *base, sy_store_checkpoint_cb cb, void *ctx, char *err,
                            size_t errsz)
{
    file_store_t *s = (file_store_t *)base;
    scan_ctx_t c = {s, 0, NULL, cb, ctx};
    return read_walk(s, scan_frame, &c, err, errsz);
}

typedef struct {
    sy_str_t id;
    uint64_t seq;
    bool found;
} find_ctx_t;

static int find_row(void *ctx, const sy_store_row_t *row)
{
    find_ctx_t *f = ctx;
    if (!sy_str_eq(row->request_id, f->id))
        return SY_OK;
    f->seq = row->seq;
    f->found = true;
    return SY_ENOTFOUND; /* stops the walk; told apart by f->found */
}

static int find(sy_store_t *base, sy_str_t request_id, uint64_t *seq, char *err, size_t errsz)
{
    find_ctx_t f = {request_id, 0, false};
    int rc = scan_records(base, 0, find_row, &f, err, errsz);
    if (f.found) {
        *seq = f.seq;
        return SY_OK;
    }
    return rc == SY_OK ? SY_ENOTFOUND : rc;
}

/* ---- writing ---- */

static int write_all(int fd, const uint8_t *p, size_t n, uint64_t off)
{
    while (n) {
        ssize_t w = pwrite(fd, p, n, (off_t)off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return SY_ERR;
        }
        p += w;
        n -= (size_t)w;
        off += (uint64_t)w;
    }
    return SY_OK;
}

/* Append the frame in s->frame (header included), fdatasync with
 * synchronous: full. On failure the file is cut back to where it ended; if
 * even that fails, every later append tries the cut again first, so a frame
 * never follows the remains of a failed one. */
static int frame_commit(file_store_t *s, uint32_t type, const char *what, char *err, size_t errsz)
{
    uint8_t *f = s->frame;
    size_t n = s->frame_len;
    if (s->cut_pending) {
        if (ftruncate(s->fd, (off_t)s->end) != 0)
            return sys_fail(s, "cut back a failed append", err, errsz);
        s->cut_pending = false;
    }
    put32(f, FRAME_MAGIC);
    put32(f + 4, type);
    put64(f + 8, n - FRAME_HEADER);
    put32(f + 16, sy_crc32c(sy_crc32c(0, f + 4, 12), f + FRAME_HEADER, n - FRAME_HEADER));
    put32(f + 20, sy_crc32c(0, f, 20));
    if (write_all(s->fd, f, n, s->end) != SY_OK || (s->sync_full && fdatasync(s->fd) != 0)) {
        int e = errno;
        s->cut_pending = ftruncate(s->fd, (off_t)s->end) != 0;
        errno = e;
        return sys_fail(s, what, err, errsz);
    }
    s->end += n;
    s->unsynced = !s->sync_full;
    if (s->sync_full) {
        /* The pages just synced are clean and rarely read again (by an
         * `audit verify` now and then): let the kernel drop them rather
         * than fill the page cache with the whole log. Measured on this
         * project's 2-vCPU VM: without it, once the cache had grown by
         * ~2 GB, copying a record into new cache pages cost 2.4 us instead
         * of 0.45 (BENCHMARKS.md); with it the cost stays flat. Advisory:
         * an error changes nothing. The last partial page stays until it
         * is full. */
        uint64_t upto = s->end & ~(uint64_t)4095;
        if (upto > s->dropped &&
            posix_fadvise(s->fd, (off_t)s->dropped, (off_t)(upto - s->dropped),
                          POSIX_FADV_DONTNEED) == 0)
            s->dropped = upto;
    }
    return SY_OK;
}

/* n more bytes of the frame being built. */
static uint8_t *frame_room(file_store_t *s, size_t n)
{
    if (s->frame_cap - s->frame_len < n) {
        s->frame_cap = SY_MAX(s->frame_len + n, 2 * s->frame_cap);
        s->frame = sy_realloc(s->frame, s->frame_cap);
    }
    uint8_t *p = s->frame + s->frame_len;
    s->frame_len += n;
    return p;
}

static int append(sy_store_t *base, const sy_store_batch_t *b, char *err, size_t errsz)
{
    file_store_t *s = (file_store_t *)base;
    if (s->readonly) {
        snprintf(err, errsz, "audit file %s: opened read-only", s->path);
        return SY_ERR;
    }
    if (b->nrows == 0 && b->frontier_len == 0 && b->checkpoint == NULL)
        return SY_OK;
    if (b->frontier_len > SY_STORE_FRONTIER_MAX) {
        snprintf(err, errsz, "audit file %s: a compact range of %zu bytes", s->path,
                 b->frontier_len);
        return SY_ERR;
    }
    size_t need = FRAME_HEADER + BATCH_FIXED + b->frontier_len + (b->checkpoint ? CKPT_LEN : 0);
    for (size_t i = 0; i < b->nrows; i++) {
        const sy_store_row_t *r = &b->rows[i];
        if (r->seq != s->st.count + i) {
            snprintf(err, errsz,
                     "audit file %s: insert record: record %llu where %llu was expected",
                     s->path, (unsigned long long)r->seq,
                     (unsigned long long)(s->st.count + i));
            return SY_ERR;
        }
        if (r->request_id.len > UINT32_MAX || r->record.len > UINT32_MAX) {
            snprintf(err, errsz, "audit file %s: insert record: record %llu is over 4 GiB",
                     s->path, (unsigned long long)r->seq);
            return SY_ERR;
        }
        need += ROW_FIXED + r->request_id.len + r->record.len;
    }
    s->frame_len = 0;
    frame_room(s, need);
    s->frame_len = 0;
    frame_room(s, FRAME_HEADER);
    uint8_t *p = frame_room(s, BATCH_FIXED);
    put64(p, s->st.count);
    put32(p + 8, (uint32_t)b->nrows);
    put32(p + 12, (uint32_t)b->frontier_len);
    put32(p + 16, b->checkpoint != NULL);
    put32(p + 20, 0);
    if (b->frontier_len)
        memcpy(frame_room(s, b->frontier_len), b->frontier, b->frontier_len);
    if (b->checkpoint) {
        const sy_store_checkpoint_t *c = b->checkpoint;
        p = frame_room(s, CKPT_LEN);
        put64(p, c->tree_size);
        memcpy(p + 8, c->root.b, SY_HASH_LEN);
        put64(p + 8 + SY_HASH_LEN, c->time_ms);
        memset(p + 16 + SY_HASH_LEN, 0, 16);
        memcpy(p + 16 + SY_HASH_LEN, c->key_id, strnlen(c->key_id, 16));
        memcpy(p + 32 + SY_HASH_LEN, c->sig, SY_ED25519_SIG_LEN);
    }
    for (size_t i = 0; i < b->nrows; i++) {
        const sy_store_row_t *r = &b->rows[i];
        p = frame_room(s, ROW_FIXED + r->request_id.len + r->record.len);
        put64(p, r->time_ms);
        memcpy(p + 8, r->leaf.b, SY_HASH_LEN);
        put32(p + 8 + SY_HASH_LEN, (uint32_t)r->request_id.len);
        put32(p + 12 + SY_HASH_LEN, (uint32_t)r->record.len);
        if (r->request_id.len)
            memcpy(p + ROW_FIXED, r->request_id.p, r->request_id.len);
        if (r->record.len)
            memcpy(p + ROW_FIXED + r->request_id.len, r->record.p, r->record.len);
    }
    if (frame_commit(s, FRAME_BATCH, "append", err, errsz) != SY_OK)
        return SY_ERR;
    s->st.count += b->nrows;
    if (b->frontier_len) {
        memcpy(s->st.frontier, b->frontier, b->frontier_len);
        s->st.frontier_len = b->frontier_len;
    }
    if (b->checkpoint) {
        s->st.has_cp = true;
        s->st.cp = *b->checkpoint;
    }
    return SY_OK;
}

static int meta_set(sy_store_t *base, const char *key, const void *v, size_t n, char *err,
                    size_t errsz)
{
    file_store_t *s = (file_store_t *)base;
    size_t klen = strlen(key);
    if (s->readonly || klen == 0 || klen > UINT32_MAX || n > UINT32_MAX) {
        snprintf(err, errsz, "audit file %s: cannot write meta %s", s->path, key);
        return SY_ERR;
    }
    s->frame_len = 0;
    frame_room(s, FRAME_HEADER);
    uint8_t *p = frame_room(s, 8 + klen + n);
    put32(p, (uint32_t)klen);
    put32(p + 4, (uint32_t)n);
    memcpy(p + 8, key, klen);
    if (n)
        memcpy(p + 8 + klen, v, n);
    if (frame_commit(s, FRAME_META, "write meta", err, errsz) != SY_OK)
        return SY_ERR;
    meta_put(&s->st, key, klen, v, n);
    return SY_OK;
}

static int meta_add(sy_store_t *base, const char *key, const void *v, size_t n, char *err,
                    size_t errsz)
{
    file_store_t *s = (file_store_t *)base;
    if (!s->readonly && meta_find(&s->st, key))
        return SY_OK;
    return meta_set(base, key, v, n, err, errsz);
}

static int set_sync(sy_store_t *base, bool full, char *err, size_t errsz)
{
    (void)err;
    (void)errsz;
    ((file_store_t *)base)->sync_full = full;
    return SY_OK;
}

static void file_close(sy_store_t *base)
{
    file_store_t *s = (file_store_t *)base;
    /* A clean stop leaves every batch on disk, whatever audit.synchronous. */
    if (s->fd >= 0 && s->unsynced && fdatasync(s->fd) != 0)
        sy_warn("audit: the audit file could not be synced at close", "\"error\":\"%s\"",
                strerror(errno));
    if (s->fd >= 0)
        close(s->fd); /* releases the flock */
    state_free(&s->st);
    free(s->win.buf);
    free(s->frame);
    free(s->path);
    free(s);
}

static const sy_store_vt_t file_vt = {
    .name = "file",
    .append = append,
    .load_frontier = load_frontier,
    .last_checkpoint = last_checkpoint,
    .count = count,
    .scan_records = scan_records,
    .scan_checkpoints = scan_checkpoints,
    .find = find,
    .meta_get = meta_get,
    .meta_set = meta_set,
    .meta_add = meta_add,
    .set_sync = set_sync,
    .close = file_close,
};

/* ---- opening ---- */

/* fsync the directory holding path: a new file's name is durable too. */
static void sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (slash == NULL)
        snprintf(dir, sizeof(dir), ".");
    else
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash == path ? 1 : slash - path), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        if (fsync(fd) != 0) {
            /* a directory that cannot be synced (some file systems) */
        }
        close(fd);
    }
}

/* The bytes from good_end on are no whole frame, and no whole frame follows
 * them (a crash's leftovers): keep them in a new file beside the log (never
 * over an earlier one), make that durable, then cut the log there. */
static int set_aside(file_store_t *s, uint64_t good_end, uint64_t size, bool partial, char *err,
                     size_t errsz)
{
    char aside[4200];
    int out = -1;
    for (int k = 0; k < 1000 && out < 0; k++) {
        if (k == 0)
            snprintf(aside, sizeof(aside), "%s.damaged-%llu", s->path,
                     (unsigned long long)good_end);
        else
            snprintf(aside, sizeof(aside), "%s.damaged-%llu.%d", s->path,
                     (unsigned long long)good_end, k);
        out = open(aside, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (out < 0 && errno != EEXIST)
            break;
    }
    if (out < 0)
        return sys_fail(s, "save the unfinished end", err, errsz);
    uint8_t buf[65536];
    int rc = SY_OK;
    for (uint64_t off = good_end; off < size && rc == SY_OK;) {
        ssize_t r = pread(s->fd, buf, (size_t)SY_MIN((uint64_t)sizeof(buf), size - off),
                          (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0) {
            snprintf(err, errsz, "audit file %s: shorter than it was", s->path);
            rc = SY_ERR;
        } else if (r < 0 || write_all(out, buf, (size_t)r, off - good_end) != SY_OK) {
            rc = sys_fail(s, "save the unfinished end", err, errsz);
        } else {
            off += (uint64_t)r;
        }
    }
    if (rc == SY_OK && fsync(out) != 0)
        rc = sys_fail(s, "save the unfinished end", err, errsz);
    if (close(out) != 0 && rc == SY_OK)
        rc = sys_fail(s, "save the unfinished end", err, errsz);
    if (rc != SY_OK)
        return rc;
    sync_dir(aside);
    if (ftruncate(s->fd, (off_t)good_end) != 0 || fsync(s->fd) != 0)
        return sys_fail(s, "truncate", err, errsz);
    char e1[4300], e2[4300];
    sy_warn(partial ? "audit: the audit file ended in an unfinished batch (the process or the "
                      "machine stopped while writing it); it was moved aside and appending goes "
                      "on after the last whole batch"
                    : "audit: the audit file ended in bytes that are no batch (left by a crash "
                      "during a write); they were moved aside and appending goes on after the "
                      "last whole batch",
            "\"file\":\"%s\",\"offset\":%llu,\"bytes\":%llu,\"saved_to\":\"%s\"",
            sy_log_esc(e1, sizeof(e1), s->path, strlen(s->path)), (unsigned long long)good_end,
            (unsigned long long)(size - good_end),
            sy_log_esc(e2, sizeof(e2), aside, strlen(aside)));
    return SY_OK;
}

sy_store_t *sy_store_file_open(const char *path, const sy_store_opts_t *opts, char *err,
                               size_t errsz)
{
    file_store_t *s = sy_calloc(1, sizeof(*s));
    s->base.vt = &file_vt;
    s->path = sy_strdup(path);
    s->readonly = opts->readonly;
    s->sync_full = opts->sync_full;
    s->fd = open(path, (s->readonly ? O_RDONLY : O_RDWR | O_CREAT) | O_CLOEXEC, 0600);
    if (s->fd < 0) {
        sys_fail(s, "open", err, errsz);
        goto fail;
    }
    if (!s->readonly && flock(s->fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            snprintf(err, errsz,
                     "audit file %s is being written by another process (one gateway per audit "
                     "file; several instances share a log through store: postgres://...)",
                     path);
        else
            sys_fail(s, "lock", err, errsz);
        goto fail;
    }
    struct stat sb;
    if (fstat(s->fd, &sb) != 0) {
        sys_fail(s, "stat", err, errsz);
        goto fail;
    }
    if (sb.st_size == 0 && !s->readonly) {
        uint8_t h[FILE_HEADER];
        memcpy(h, FILE_MAGIC, 8);
        put32(h + 8, 1);
        put32(h + 12, 0);
        if (write_all(s->fd, h, sizeof(h), 0) != SY_OK || fdatasync(s->fd) != 0) {
            sys_fail(s, "create", err, errsz);
            goto fail;
        }
        sync_dir(path);
        s->end = FILE_HEADER;
        return &s->base;
    }
    const uint8_t *h = window_get(s, 0, FILE_HEADER);
    if (h == NULL || memcmp(h, FILE_MAGIC, 8) != 0) {
        snprintf(err, errsz, "%s is not a Switchyard audit file", path);
        goto fail;
    }
    if (get32(h + 8) != 1) {
        snprintf(err, errsz, "audit file %s has format version %u; this build reads version 1",
                 path, get32(h + 8));
        goto fail;
    }
    if (s->readonly)
        return &s->base;
    uint64_t good_end;
    frame_end_t end;
    state_ctx_t c = {s, &s->st};
    if (walk(s, state_frame, &c, &good_end, &end, err, errsz) != SY_OK)
        goto fail;
    if (end == END_DAMAGED) {
        /* Appending here would give new records the numbers of the ones
         * after the damage: the log would fork. The operator decides. */
        damaged_error(s, good_end, err, errsz);
        goto fail;
    }
    if (fstat(s->fd, &sb) != 0) {
        sys_fail(s, "stat", err, errsz);
        goto fail;
    }
    if ((uint64_t)sb.st_size > good_end &&
        set_aside(s, good_end, (uint64_t)sb.st_size, end == END_PARTIAL, err, errsz) != SY_OK)
        goto fail;
    s->end = good_end;
    /* the writer answers from memory from now on */
    free(s->win.buf);
    s->win = (window_t){0};
    return &s->base;
fail:
    file_close(&s->base);
    return NULL;
}

/* Whether path starts like an audit file (for `audit verify --db`). */
bool sy_store_file_sniff(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    char h[8];
    bool yes = read(fd, h, 8) == 8 && memcmp(h, FILE_MAGIC, 8) == 0;
    close(fd);
    return yes;
}
