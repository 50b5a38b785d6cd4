/*
 * burn.c - a periodic CPU consumer, to measure how a scenario's throughput
 * reacts to one more thread that wants the CPU now and then.
 *
 *   build/bench/burn --busy MS --period MS [--duration S]
 *
 * Spins for --busy milliseconds, sleeps for the rest of --period, and so on
 * until --duration seconds have passed (default 60) or it is killed. With
 * --busy 4 --period 30 it takes ~13% of one CPU in 4 ms bursts, about what
 * the gateway's audit writer thread takes under saturation (a batch of ~1,000
 * records every ~30 ms). bench/proxy.sh --burn BUSY/PERIOD runs it during
 * every saturation round of every scenario, so nginx and Switchyard see the
 * same extra load.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void usage(void)
{
    fprintf(stderr, "usage: burn --busy MS --period MS [--duration S]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    double busy = -1, period = -1, duration = 60;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            usage();
        if (strcmp(argv[i], "--busy") == 0)
            busy = atof(argv[++i]) / 1e3;
        else if (strcmp(argv[i], "--period") == 0)
            period = atof(argv[++i]) / 1e3;
        else if (strcmp(argv[i], "--duration") == 0)
            duration = atof(argv[++i]);
        else
            usage();
    }
    if (busy < 0 || period <= 0 || busy > period || duration <= 0)
        usage();
    volatile unsigned long spins = 0;
    double end = now_s() + duration;
    while (now_s() < end) {
        double start = now_s();
        while (now_s() - start < busy)
            spins++;
        double rest = period - (now_s() - start);
        if (rest > 0) {
            struct timespec ts = {(time_t)rest, (long)((rest - (double)(time_t)rest) * 1e9)};
            nanosleep(&ts, NULL);
        }
    }
    return 0;
}
