/*
 * forked_workers: workload W3 of ../shared/WORKLOADS.md, nginx-style.
 *
 * A master creates one table in /dev/shm, fills it with W1's keys
 * ("key:%08d", 100-byte values), forks N workers, and each worker does
 * 90% GET / 10% SET over those keys for a fixed number of operations. Each
 * worker prints its ops/s and its p99 GET latency (1 GET in 64 timed); the
 * master prints the total ops/s, then checks the whole table: maph_check
 * finds nothing, every key reads back, every value is well-formed.
 *
 *   usage: forked_workers [workers=4] [ops_per_worker=2000000] [keys=1000000]
 *   build: make -C examples_c   (or: gcc -O2 -std=c11 -I../include
 *          forked_workers.c -L../target/release -lmaph
 *          -Wl,-rpath,$(realpath ../target/release) -o build/forked_workers)
 *
 * Each figure is printed as one `name: value unit` line.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "maph.h"

#define VAL_LEN 100

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static uint64_t xorshift(uint64_t *s) {
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* A well-formed value for key i written by `writer` at `version`: a header
 * naming all three, then a fill derived from them. */
static void make_value(char *v, uint64_t i, unsigned writer, uint64_t version) {
    int n = snprintf(v, VAL_LEN, "v:%08" PRIu64 ":%02u:%012" PRIu64 ":", i, writer, version);
    for (int j = n; j < VAL_LEN; j++) v[j] = (char)('a' + (i + version + (uint64_t)j) % 26);
}

static int well_formed(const char *v, size_t len, uint64_t i) {
    unsigned writer;
    uint64_t idx, version;
    char expect[VAL_LEN];
    if (len != VAL_LEN) return 0;
    if (sscanf(v, "v:%8" SCNu64 ":%2u:%12" SCNu64 ":", &idx, &writer, &version) != 3 || idx != i) return 0;
    make_value(expect, i, writer, version);
    return memcmp(expect, v, VAL_LEN) == 0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int worker(maph_t *db, unsigned id, uint64_t ops, uint64_t keys, int report) {
    char key[32], val[VAL_LEN], buf[512];
    size_t len;
    uint64_t rng = 0x9E3779B97F4A7C15ull * (id + 1), bad = 0, nsamples = 0;
    double *samples = malloc(sizeof(double) * (ops / 64 + 1));
    if (!samples) return 1;
    /* A forked child inherits the mapping but not its page tables: fault
     * them in once, as a long-running worker has them, before timing. */
    double t0 = now_ns();
    if (maph_prefault(db) != MAPH_OK) fprintf(stderr, "worker %u: maph_prefault: %s\n", id, maph_last_error());
    if (report) printf("worker_%u_prefault: %.1f ms\n", id, (now_ns() - t0) / 1e6);
    double start = now_ns();
    for (uint64_t n = 0; n < ops; n++) {
        uint64_t r = xorshift(&rng), i = r % keys;
        int klen = snprintf(key, sizeof key, "key:%08" PRIu64, i);
        if ((r >> 40) % 10 == 0) {
            make_value(val, i, id, n);
            if (maph_set(db, key, (size_t)klen, val, VAL_LEN) != MAPH_OK) bad++;
        } else if (n % 64 == 0) {
            double t = now_ns();
            maph_status st = maph_get(db, key, (size_t)klen, buf, sizeof buf, &len);
            samples[nsamples++] = now_ns() - t;
            if (st != MAPH_OK || !well_formed(buf, len, i)) bad++;
        } else if (maph_get(db, key, (size_t)klen, buf, sizeof buf, &len) != MAPH_OK) {
            bad++;
        }
    }
    double secs = (now_ns() - start) / 1e9;
    qsort(samples, nsamples, sizeof(double), cmp_double);
    if (report) {
        printf("worker_%u_ops_per_s: %.0f ops/s\n", id, (double)ops / secs);
        printf("worker_%u_get_p99: %.0f ns\n", id, nsamples ? samples[nsamples * 99 / 100] : 0.0);
    }
    free(samples);
    if (bad) fprintf(stderr, "worker %u: %" PRIu64 " failed or malformed operations\n", id, bad);
    return bad ? 1 : 0;
}

int main(int argc, char **argv) {
    unsigned workers = argc > 1 ? (unsigned)atoi(argv[1]) : 4;
    uint64_t ops = argc > 2 ? strtoull(argv[2], NULL, 10) : 2000000;
    uint64_t keys = argc > 3 ? strtoull(argv[3], NULL, 10) : 1000000;
    char name[64], key[32], val[VAL_LEN], buf[512];
    size_t len;
    if (workers < 1 || workers > 64 || keys < 1) {
        fprintf(stderr, "usage: %s [workers 1..64] [ops_per_worker] [keys]\n", argv[0]);
        return 2;
    }
    snprintf(name, sizeof name, "maph-w3-%d", (int)getpid());

    maph_options o;
    maph_options_default(&o);
    o.slots = keys * 2; /* W1: 2 slots per key, 512-byte slots */
    maph_t *db = NULL;
    maph_status st = maph_shm_create(name, &o, &db);
    if (st != MAPH_OK) {
        fprintf(stderr, "maph_shm_create %s: %s (%s)\n", name, maph_strerror(st), maph_last_error());
        return 1;
    }
    maph_shm_unlink(name); /* the workers inherit the mapping; nothing is left behind */
    double t = now_ns();
    for (uint64_t i = 0; i < keys; i++) {
        int klen = snprintf(key, sizeof key, "key:%08" PRIu64, i);
        make_value(val, i, 0, 0);
        if ((st = maph_set(db, key, (size_t)klen, val, VAL_LEN)) != MAPH_OK) {
            fprintf(stderr, "load: %s\n", maph_strerror(st));
            return 1;
        }
    }
    printf("workload: W3\nworkers: %u\nkeys: %" PRIu64 "\nops_per_worker: %" PRIu64 "\n", workers, keys, ops);
    printf("load_rate: %.0f keys/s\n", (double)keys / ((now_ns() - t) / 1e9));
    fflush(stdout);

    pid_t pids[64];
    t = now_ns();
    for (unsigned w = 0; w < workers; w++) {
        pids[w] = fork();
        if (pids[w] == 0) {
            int rc = worker(db, w + 1, ops, keys, 1);
            fflush(stdout);
            _exit(rc);
        }
        if (pids[w] < 0) {
            perror("fork");
            return 1;
        }
    }
    int failed = 0;
    for (unsigned w = 0; w < workers; w++) {
        int status = 0;
        waitpid(pids[w], &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failed++;
    }
    double secs = (now_ns() - t) / 1e9;
    printf("total_ops_per_s: %.0f ops/s\n", (double)ops * workers / secs);

    /* Consistency: invariants, then every key readable and well-formed. */
    uint64_t violations = 0, unreadable = 0;
    maph_check(db, &violations);
    for (uint64_t i = 0; i < keys; i++) {
        int klen = snprintf(key, sizeof key, "key:%08" PRIu64, i);
        if (maph_get(db, key, (size_t)klen, buf, sizeof buf, &len) != MAPH_OK || !well_formed(buf, len, i))
            unreadable++;
    }
    maph_stats_t s;
    maph_stats(db, &s);
    printf("check_violations: %" PRIu64 "\n", violations);
    printf("unreadable_or_malformed: %" PRIu64 "\n", unreadable);
    printf("keys_after: %" PRIu64 "\n", s.keys);
    maph_close(db);
    if (failed || violations || unreadable || s.keys != keys) {
        fprintf(stderr, "W3 consistency check FAILED (%d workers failed)\n", failed);
        return 1;
    }
    printf("consistency: ok\n");
    return 0;
}
