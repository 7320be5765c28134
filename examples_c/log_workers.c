/* log_workers: one multiplexed log shared by pre-forked workers (issue 17).
 *
 * The master creates a log buffer, starts the drain thread writing the
 * stream to a file, forks N workers that each log M lines of 100 bytes
 * (maph_log_printf; the buffer being full drops and counts a line), waits
 * for them, stops the drain and prints lines per second.
 *
 *   log_workers [N=2] [M=200000] [OUT=/tmp/log_workers.out]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "maph.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 2;
    long m = argc > 2 ? atol(argv[2]) : 200000;
    const char *out = argc > 3 ? argv[3] : "/tmp/log_workers.out";
    maph_log_t *log = NULL;
    maph_log_stats_t st;
    uint64_t written = 0;
    double t0, secs;
    int i, failed = 0;
    maph_status s;
    if (n < 1 || n > 256 || m < 1) {
        fprintf(stderr, "usage: %s [workers 1..256] [lines per worker] [out file]\n", argv[0]);
        return 2;
    }
    /* 64 MiB: 65536 lines in flight. */
    s = maph_log_create_anon(64u << 20, &log);
    if (s == MAPH_OK) s = maph_log_drain_start(log, out, -1, MAPH_LOG_TRUNC);
    if (s != MAPH_OK) {
        fprintf(stderr, "log: %s: %s\n", maph_strerror(s), maph_last_error());
        return 1;
    }
    maph_log_printf(log, MAPH_LOG_NOTICE, "master %d: starting %d workers", (int)getpid(), n);
    fflush(stdout);
    t0 = now();
    for (i = 0; i < n; i++) {
        pid_t p = fork();
        if (p < 0) { perror("fork"); return 1; }
        if (p == 0) {
            long k;
            for (k = 0; k < m; k++) {
                /* 100 bytes: "worker NNN line NNNNNNNNNN " + padding */
                maph_log_printf(log, MAPH_LOG_INFO,
                                "worker %3d line %010ld %s", i, k,
                                "..................................................................");
            }
            _exit(0);
        }
    }
    for (i = 0; i < n; i++) {
        int ws = 0;
        if (wait(&ws) < 0 || !WIFEXITED(ws) || WEXITSTATUS(ws) != 0) failed++;
    }
    secs = now() - t0;
    s = maph_log_drain_stop(log, &written);
    maph_log_stats(log, &st);
    printf("workers: %d, lines per worker: %ld, stream: %s\n", n, m, out);
    printf("log_lines_per_s: %.0f (written by the workers: %llu lines in %.3f s)\n",
           (double)(st.claimed - 1) / secs, (unsigned long long)(st.claimed - 1), secs);
    printf("dropped (buffer full): %llu, torn: %llu, stream lines written: %llu\n",
           (unsigned long long)st.dropped, (unsigned long long)st.torn,
           (unsigned long long)written);
    maph_log_close(log);
    if (s != MAPH_OK || failed) {
        fprintf(stderr, "drain: %s, failed workers: %d\n", maph_strerror(s), failed);
        return 1;
    }
    if (st.claimed + st.dropped != (uint64_t)n * (uint64_t)m + 1) {
        fprintf(stderr, "lines unaccounted for\n");
        return 1;
    }
    return 0;
}
