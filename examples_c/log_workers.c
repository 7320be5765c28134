/* log_workers: one multiplexed log shared by pre-forked workers (issue 17).
 *
 * The master creates a log buffer and drains it — by default with the
 * drain thread writing the text stream to a file — forks N workers that
 * each log M lines of 100 bytes, waits for them, and prints lines per
 * second and the writers' per-line latency (a pseudo-random 1/16 of the
 * writes timed with CLOCK_MONOTONIC — not every 16th, which would always
 * land on the same slot offset within a page; p50/p99 over all workers).
 *
 *   log_workers [-n N=2] [-m M=200000] [-o OUT=/tmp/log_workers.out]
 *               [-w] [-d] [-b]
 *     -w  writers wait for room when the buffer is full (no line dropped);
 *         default: a full buffer drops and counts the line
 *     -d  the master drains by hand (maph_log_drain, counting lines, no
 *         text, no file): the rate of the ring itself
 *     -b  also run the baseline: the same workers write(2) each line to
 *         one O_APPEND file (what a logger without shared memory does)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "maph.h"

#define SAMPLE_EVERY 16
/* Whether write k is timed: 1 in SAMPLE_EVERY, spread by a hash of k. */
#define SAMPLED(k) ((((uint64_t)(k) * 0x9E3779B97F4A7C15ull) >> 60) == 0)

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int count_cb(void *ctx, const maph_log_record_t *r) {
    if (r->kind == MAPH_LOG_LINE) (*(uint64_t *)ctx)++;
    return 0;
}

/* The 100-byte line of worker w, number k. */
static int make_line(char *buf, int w, long k) {
    return snprintf(buf, 101, "worker %3d line %010ld %s", w, k,
                    "..................................................................");
}

/* Forks n workers running `body`; returns the wall time until all exit. */
static double run_workers(int n, long m, void (*body)(int, long, uint32_t *), uint32_t *samples,
                          maph_log_t *drain_log, uint64_t *drained) {
    double t0 = now();
    int i, alive = n;
    fflush(stdout);
    for (i = 0; i < n; i++) {
        pid_t p = fork();
        if (p < 0) { perror("fork"); exit(1); }
        if (p == 0) {
            body(i, m, samples + (size_t)i * (size_t)(m / 8 + 2));
            _exit(0);
        }
    }
    while (alive > 0) {
        int ws = 0;
        pid_t p;
        if (drain_log) {
            size_t got = 0;
            maph_log_drain(drain_log, count_cb, drained, 65536, &got);
            p = waitpid(-1, &ws, got ? WNOHANG : WNOHANG);
            if (p == 0) { if (!got) usleep(50); continue; }
        } else {
            p = wait(&ws);
        }
        if (p < 0) break;
        if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0) { fprintf(stderr, "a worker failed\n"); exit(1); }
        alive--;
    }
    return now() - t0;
}

static maph_log_t *g_log;
static int g_wait;
static int g_fd;
static size_t g_per; /* u32s per worker in the samples array */

/* samples[0] receives the count, samples[1..] the latencies (ns). */
static void log_body(int w, long m, uint32_t *samples) {
    char line[128];
    long k;
    uint32_t c = 0;
    for (k = 0; k < m; k++) {
        int len = make_line(line, w, k);
        if (SAMPLED(k)) {
            uint64_t t = now_ns();
            if (g_wait) maph_log_write_wait(g_log, MAPH_LOG_INFO, line, (size_t)len, -1);
            else maph_log_write(g_log, MAPH_LOG_INFO, line, (size_t)len);
            if (1 + (size_t)c < g_per) samples[1 + c++] = (uint32_t)(now_ns() - t);
        } else if (g_wait) {
            maph_log_write_wait(g_log, MAPH_LOG_INFO, line, (size_t)len, -1);
        } else {
            maph_log_write(g_log, MAPH_LOG_INFO, line, (size_t)len);
        }
    }
    samples[0] = c;
}

static void write2_body(int w, long m, uint32_t *samples) {
    char line[128];
    long k;
    uint32_t c = 0;
    for (k = 0; k < m; k++) {
        int len = make_line(line, w, k);
        uint64_t t = SAMPLED(k) ? now_ns() : 0;
        line[len] = '\n';
        if (write(g_fd, line, (size_t)len + 1) != len + 1) _exit(2);
        if (t && 1 + (size_t)c < g_per) samples[1 + c++] = (uint32_t)(now_ns() - t);
    }
    samples[0] = c;
}

/* Gathers the n workers' samples (each block: count, then latencies) to
 * the front and prints p50/p99. */
static void report_latency(const char *name, uint32_t *samples, int n, size_t per) {
    size_t count = 0;
    int i;
    for (i = 0; i < n; i++) {
        uint32_t *b = samples + (size_t)i * per;
        size_t c = b[0] < per ? b[0] : per - 1;
        memmove(samples + count, b + 1, c * sizeof *samples);
        count += c;
    }
    if (count == 0) return;
    qsort(samples, count, sizeof *samples, cmp_u32);
    printf("%s_p50_ns: %u\n%s_p99_ns: %u\n", name, samples[count / 2], name,
           samples[(size_t)(count * 0.99)]);
}

int main(int argc, char **argv) {
    int n = 2, discard = 0, baseline = 0, opt;
    long m = 200000;
    const char *out = "/tmp/log_workers.out";
    maph_log_stats_t st;
    uint64_t written = 0, drained = 0;
    size_t per;
    uint32_t *samples;
    double secs;
    maph_status s;
    while ((opt = getopt(argc, argv, "n:m:o:wdb")) != -1) {
        switch (opt) {
        case 'n': n = atoi(optarg); break;
        case 'm': m = atol(optarg); break;
        case 'o': out = optarg; break;
        case 'w': g_wait = 1; break;
        case 'd': discard = 1; break;
        case 'b': baseline = 1; break;
        default:
            fprintf(stderr, "usage: %s [-n workers] [-m lines] [-o out] [-w] [-d] [-b]\n", argv[0]);
            return 2;
        }
    }
    if (n < 1 || n > 256 || m < SAMPLE_EVERY) { fprintf(stderr, "bad -n or -m\n"); return 2; }
    /* m/16 expected per worker; room for twice as many. */
    per = (size_t)(m / 8 + 2);
    g_per = per;
    samples = mmap(NULL, (size_t)n * per * sizeof(uint32_t), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (samples == MAP_FAILED) { perror("mmap"); return 1; }

    /* 64 MiB: 65536 lines in flight. */
    s = maph_log_create_anon(64u << 20, &g_log);
    if (s == MAPH_OK && !discard) s = maph_log_drain_start(g_log, out, -1, MAPH_LOG_TRUNC);
    if (s != MAPH_OK) { fprintf(stderr, "log: %s: %s\n", maph_strerror(s), maph_last_error()); return 1; }
    secs = run_workers(n, m, log_body, samples, discard ? g_log : NULL, &drained);
    if (discard) {
        size_t got = 1;
        while (got) { got = 0; maph_log_drain(g_log, count_cb, &drained, 65536, &got); }
    } else if (maph_log_drain_stop(g_log, &written) != MAPH_OK) {
        fprintf(stderr, "drain: %s\n", maph_last_error());
        return 1;
    }
    maph_log_stats(g_log, &st);
    printf("workers: %d, lines per worker: %ld, full buffer: %s, drain: %s\n", n, m,
           g_wait ? "wait" : "drop", discard ? "by hand, counted (no text)" : out);
    printf("log_lines_per_s: %.0f (%llu lines logged in %.3f s; %llu dropped)\n",
           (double)st.claimed / secs, (unsigned long long)st.claimed, secs,
           (unsigned long long)st.dropped);
    report_latency("log_write", samples, n, per);
    maph_log_close(g_log);
    if (st.claimed + st.dropped != (uint64_t)n * (uint64_t)m || st.torn || st.corrupt) {
        fprintf(stderr, "lines unaccounted for\n");
        return 1;
    }
    if (baseline) {
        char bpath[600];
        snprintf(bpath, sizeof bpath, "%s.write2", out);
        g_fd = open(bpath, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
        if (g_fd < 0) { perror(bpath); return 1; }
        secs = run_workers(n, m, write2_body, samples, NULL, NULL);
        close(g_fd);
        printf("baseline_write2_lines_per_s: %.0f (the same lines, write(2) to one O_APPEND file)\n",
               (double)n * (double)m / secs);
        report_latency("baseline_write2", samples, n, per);
        unlink(bpath);
    }
    return 0;
}
