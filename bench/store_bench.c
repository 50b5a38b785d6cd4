/*
 * store_bench.c - what the audit store costs per record: the SQLite store and
 * the append-only file store as the gateway runs them, against the least any
 * durable store must do.
 *
 *   build/bench/store_bench [--smoke] [--batches N] [--records R] [--growth STEPS]
 *
 * Both sides write the same batches (R records of a gateway's typical size:
 * a 986-byte canonical record, a 28-byte request id, a 32-byte leaf) in a
 * directory under /tmp, and report the process's CPU time (user + system,
 * getrusage) per record:
 *
 *   sqlite    sy_store_sqlite_open() and its append(): one transaction per
 *             batch with the compact range, synchronous=full (one fsync per
 *             commit), WAL with its automatic checkpoints - exactly the path
 *             of the audit writer (src/store/sqlite.c);
 *   file      sy_store_file_open() and its append() (audit.store: file:PATH):
 *             one frame per batch with its CRC-32C, one write() and one
 *             fdatasync();
 *   append    the same bytes appended to one file with a single write() per
 *             batch and one fdatasync(): each record written once. This is
 *             the floor a store with the same durability could reach, not a
 *             store: it keeps no framing, no checksum and no state.
 *
 * The difference between the first two is what the writer thread spends in
 * SQLite and in the kernel's page writes (the WAL frame, then the checkpoint
 * reading it back and writing it into the database file) beyond writing the
 * record once. The rounds alternate; each figure is the median of 5.
 *
 * --growth STEPS instead keeps one file store open and reports the CPU per
 * record of each step of N batches as the file grows (several GB with the
 * defaults and 30 steps): what a long run costs, page cache included.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/common.h"
#include "store/store.h"

static double cpu_s(void)
{
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return (double)(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
           (double)(r.ru_utime.tv_usec + r.ru_stime.tv_usec) * 1e-6;
}

static char g_record[986];
static const char g_request_id[] = "req_4b1107bbdcb5f01700000001";

static void remove_files(const char *dir)
{
    static const char *const names[] = {"audit.db", "audit.db-wal", "audit.db-shm", "audit.seg",
                                        "audit.log"};
    char p[512];
    for (size_t i = 0; i < SY_ARRAY_LEN(names); i++) {
        snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
        unlink(p);
    }
}

/* The store under dir (file: the file store, else SQLite), as the writer
 * opens it (synchronous full); NULL with a message on error. */
static sy_store_t *open_store(const char *dir, bool file)
{
    char path[512], err[256];
    snprintf(path, sizeof(path), "%s/%s", dir, file ? "audit.log" : "audit.db");
    sy_store_opts_t o = {.readonly = false, .sync_full = true};
    sy_store_t *s = file ? sy_store_file_open(path, &o, err, sizeof(err))
                         : sy_store_sqlite_open(path, &o, err, sizeof(err));
    if (s == NULL)
        fprintf(stderr, "store_bench: %s\n", err);
    return s;
}

/* Append `batches` batches of `per` records numbered from *seq (rows: room
 * for per); SY_ERR with a message on error. */
static int append_batches(sy_store_t *s, sy_store_row_t *rows, int batches, int per,
                          uint64_t *seq)
{
    char err[256];
    uint8_t frontier[8 + 32 * 8];
    memset(frontier, 0, sizeof(frontier));
    for (int b = 0; b < batches; b++) {
        for (int i = 0; i < per; i++) {
            uint64_t n = (*seq)++;
            rows[i] = (sy_store_row_t){.seq = n, .request_id = SY_STR(g_request_id),
                                       .time_ms = 1795286027080u + n,
                                       .record = {g_record, sizeof(g_record)}};
            memset(rows[i].leaf.b, (int)(n & 0xff), sizeof(rows[i].leaf.b));
        }
        memcpy(frontier, seq, sizeof(*seq));
        sy_store_batch_t batch = {.rows = rows, .nrows = (size_t)per, .frontier = frontier,
                                  .frontier_len = sizeof(frontier)};
        if (s->vt->append(s, &batch, err, sizeof(err)) != SY_OK) {
            fprintf(stderr, "store_bench: %s\n", err);
            return SY_ERR;
        }
    }
    return SY_OK;
}

/* CPU µs per record through a store (file: the file store, else SQLite);
 * -1 on error. */
static double run_store(const char *dir, bool file, int batches, int per)
{
    sy_store_t *s = open_store(dir, file);
    if (s == NULL)
        return -1;
    sy_store_row_t *rows = sy_calloc((size_t)per, sizeof(*rows));
    uint64_t seq = 0;
    double c0 = cpu_s();
    int rc = append_batches(s, rows, batches, per, &seq);
    double c1 = cpu_s();
    sy_store_close(s);
    free(rows);
    return rc == SY_OK ? (c1 - c0) * 1e6 / ((double)batches * per) : -1;
}

/* CPU µs per record appending the same bytes to one file; -1 on error. */
static double run_append(const char *dir, int batches, int per)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/audit.seg", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        perror("store_bench: open");
        return -1;
    }
    size_t one = 8 + 8 + sizeof(g_request_id) + 32 + sizeof(g_record);
    char *buf = sy_malloc(one * (size_t)per);
    uint64_t seq = 0;
    double c0 = cpu_s();
    for (int b = 0; b < batches; b++) {
        size_t n = 0;
        for (int i = 0; i < per; i++, seq++) {
            uint64_t t = 1795286027080u + seq;
            memcpy(buf + n, &seq, 8);
            memcpy(buf + n + 8, &t, 8);
            memcpy(buf + n + 16, g_request_id, sizeof(g_request_id));
            memset(buf + n + 16 + sizeof(g_request_id), (int)(seq & 0xff), 32);
            memcpy(buf + n + 48 + sizeof(g_request_id), g_record, sizeof(g_record));
            n += one;
        }
        if (write(fd, buf, n) != (ssize_t)n || fdatasync(fd) != 0) {
            perror("store_bench: write");
            close(fd);
            free(buf);
            return -1;
        }
    }
    double c1 = cpu_s();
    close(fd);
    free(buf);
    return (c1 - c0) * 1e6 / ((double)batches * per);
}

/* --growth STEPS: one file store kept open, STEPS steps of `batches`
 * batches each; CPU µs per record for each step, as the file (and, without
 * the store dropping synced pages, the page cache) grows. */
static int run_growth(const char *dir, int steps, int batches, int per)
{
    sy_store_t *s = open_store(dir, true);
    if (s == NULL)
        return 1;
    sy_store_row_t *rows = sy_calloc((size_t)per, sizeof(*rows));
    uint64_t seq = 0;
    int rc = SY_OK;
    printf("| records written | file MB | CPU µs per record in this step |\n|---:|---:|---:|\n");
    for (int step = 0; step < steps && rc == SY_OK; step++) {
        double c0 = cpu_s();
        rc = append_batches(s, rows, batches, per, &seq);
        double us = (cpu_s() - c0) * 1e6 / ((double)batches * per);
        printf("| %llu | %.0f | %.2f |\n", (unsigned long long)seq,
               (double)seq * (double)(sizeof(g_record) + sizeof(g_request_id) + 72) / 1e6, us);
        fflush(stdout);
    }
    sy_store_close(s);
    free(rows);
    return rc == SY_OK ? 0 : 1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    int batches = 100, per = 1000, rounds = 5, growth = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--smoke") == 0) {
            batches = 3;
            per = 100;
            rounds = 1;
        } else if (strcmp(argv[i], "--batches") == 0 && i + 1 < argc) {
            batches = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--records") == 0 && i + 1 < argc) {
            per = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--growth") == 0 && i + 1 < argc) {
            growth = atoi(argv[++i]);
        } else {
            fprintf(stderr,
                    "usage: store_bench [--smoke] [--batches N] [--records R] [--growth STEPS]\n");
            return 2;
        }
    }
    if (batches < 1 || per < 1)
        return 2;
    /* a plausible record: JSON-ish text, not one repeated byte */
    for (size_t i = 0; i < sizeof(g_record); i++)
        g_record[i] = "{\"attempts\":1,\"model\":\"gpt-4o-mini\",\"status\":200}"[i % 48];
    char dir[] = "/tmp/switchyard-store-bench.XXXXXX";
    if (mkdtemp(dir) == NULL) {
        perror("store_bench: mkdtemp");
        return 1;
    }
    if (growth > 0) {
        int grc = run_growth(dir, growth, batches, per);
        remove_files(dir);
        rmdir(dir);
        return grc;
    }
    double sq[5], fi[5], ap[5];
    int rc = 0;
    for (int r = 0; r < rounds && rc == 0; r++) {
        remove_files(dir);
        sq[r] = run_store(dir, false, batches, per);
        remove_files(dir);
        fi[r] = run_store(dir, true, batches, per);
        remove_files(dir);
        ap[r] = run_append(dir, batches, per);
        if (sq[r] < 0 || fi[r] < 0 || ap[r] < 0)
            rc = 1;
    }
    remove_files(dir);
    rmdir(dir);
    if (rc)
        return rc;
    qsort(sq, (size_t)rounds, sizeof(double), cmp_double);
    qsort(fi, (size_t)rounds, sizeof(double), cmp_double);
    qsort(ap, (size_t)rounds, sizeof(double), cmp_double);
    double s = sq[rounds / 2], f = fi[rounds / 2], a = ap[rounds / 2];
    printf("| store | CPU µs per record (median of %d; %d batches of %d) |\n", rounds, batches, per);
    printf("|---|---:|\n");
    printf("| SQLite store (src/store/sqlite.c, synchronous full) | %.2f |\n", s);
    printf("| file store (src/store/file.c, synchronous full) | %.2f |\n", f);
    printf("| the same bytes appended once, fdatasync per batch | %.2f |\n", a);
    printf("SQLite / file: %.1f×; file / bare append: %.1f×\n", f > 0 ? s / f : 0.0,
           a > 0 ? f / a : 0.0);
    return 0;
}
