/*
 * latency_bench: workload W1 of ../shared/WORKLOADS.md from C, through the
 * public API only (maph_create, maph_set, maph_optimize, maph_get,
 * maph_get_ptr, maph_uid, maph_get_by_uid, maph_mget), with the machine
 * floor measured in the same run.
 *
 *   latency_bench [KEYS [HITS [MISSES]]]     defaults 1000000 5000000 1000000
 *
 * Build (from examples_c/; `make -C examples_c` does the same with the
 * project's warning flags):
 *   gcc -O2 -std=c11 -I../include latency_bench.c -L../target/release -lmaph \
 *       -Wl,-rpath,$(realpath ../target/release) -o build/latency_bench
 *
 * W1: KEYS keys "key:%08d", values of 100 bytes, a store of 2 x KEYS slots
 * of 512 bytes in a file under $TMPDIR (or /tmp), removed at the end.
 * Every figure is printed as one "name: value unit" line, before and after
 * maph_optimize().
 *
 * How it measures:
 * - floor_dram_ns: median over 550 chunks of 10,000 steps of a pointer
 *   chase over a random cyclic permutation (Sattolo) of the 64-byte lines
 *   of an anonymous buffer as large as the store's slot region (4 KiB
 *   pages: MADV_NOHUGEPAGE). floor_mlp_ns: median over 40 passes of ns per
 *   read of 250,000 independent random 64-byte reads of the same buffer.
 *   Chunks are timed with the thread's CPU clock; the wall-clock medians
 *   are printed as floor_*_wall_ns. floor_dram_dir_ns: the same chase over
 *   a file of the same size in $TMPDIR, mapped shared as the store is, so
 *   on a huge-page tmpfs (benches/hugepages.sh) it is the 2 MiB-page floor
 *   and elsewhere the floor of the store's own kind of memory.
 * - Latency: one call in 64 is timed alone with a pair of
 *   clock_gettime(CLOCK_MONOTONIC) (vDSO); the pair's cost is printed as
 *   clock_overhead and included in every percentile. Percentiles are read
 *   from the sorted samples.
 * - Throughput: an untimed pass over the whole list, in operations per
 *   second of the thread's CPU time (CLOCK_THREAD_CPUTIME_ID); cpu_share
 *   is CPU time / wall time.
 * - All keys are formatted before any timed loop, in the order of use.
 */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE
#endif

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "maph.h"

#define KEY_LEN 12  /* "key:%08d" */
#define MISS_LEN 13 /* "miss:%08d" */
#define VAL_LEN 100
#define STRIDE 64
#define BUF_CAP 512

static void die(const char *what, maph_status st) {
    fprintf(stderr, "latency_bench: %s: %s (%s)\n", what, maph_strerror(st), maph_last_error());
    exit(1);
}

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "latency_bench: out of memory (%zu bytes)\n", n);
        exit(1);
    }
    return p;
}

static inline uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double cpu_secs(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* SplitMix64 (Steele, Lea, Flood 2014) and Lemire's multiply-shift range. */
static uint64_t rng_state = 0x5eedc0de;
static uint64_t rng_next(void) {
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static uint64_t rng_below(uint64_t n) {
    return rng_next() % n; /* bias below 2^-40 for the sizes used here */
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}
static int cmp_dbl(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void put(const char *phase, const char *name, double v, const char *unit) {
    if (phase)
        printf("c_w1.%s.%s: %.*f %s\n", phase, name, v >= 100 ? 1 : 3, v, unit);
    else
        printf("c_w1.%s: %.*f %s\n", name, v >= 100 ? 1 : 3, v, unit);
}

/* ---- floor ---------------------------------------------------------- */

static double floor_dram_ns, floor_mlp_ns;

static double floor_dram_wall_ns, floor_mlp_wall_ns, floor_dram_dir_ns;

/* Chunks are timed by the thread's CPU clock (a chunk during which the
 * shared machine ran something else is not inflated); wall medians too. */
/* Over an anonymous 4 KiB-page buffer, or (dir != NULL) a file in dir
 * mapped shared; only the chase is kept for a file (floor_dram_dir_ns). */
static void measure_floor(size_t bytes, const char *dir) {
    enum { LW = 8, CHUNK = 10000, CHUNKS = 550, MLP_READS = 250000, MLP_PASSES = 40 };
    size_t lines, i, p = 0;
    uint64_t *w;
    uint64_t sum = 0;
    size_t *idx;
    static double cpu_step[CHUNKS], wall_step[CHUNKS], cpu_read[MLP_PASSES],
        wall_read[MLP_PASSES];
    int c;
    if (bytes < (1u << 20)) bytes = 1u << 20;
    bytes &= ~(size_t)4095;
    lines = bytes / 64;
    if (dir) {
        char path[4096];
        int fd;
        snprintf(path, sizeof path, "%s/latency-bench-floor-%ld", dir, (long)getpid());
        fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
        if (fd < 0 || ftruncate(fd, (off_t)bytes) != 0) {
            perror("latency_bench: floor file");
            exit(1);
        }
        w = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        unlink(path);
        close(fd);
    } else {
        w = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    }
    if (w == MAP_FAILED) {
        perror("latency_bench: floor buffer");
        exit(1);
    }
    if (!dir) madvise(w, bytes, MADV_NOHUGEPAGE);
    for (i = 0; i < lines; i++) w[i * LW] = i;
    for (i = lines - 1; i > 0; i--) { /* Sattolo: one cycle through all lines */
        size_t j = (size_t)rng_below(i);
        uint64_t t = w[i * LW];
        w[i * LW] = w[j * LW];
        w[j * LW] = t;
    }
    for (i = 0; i < 100000; i++) p = (size_t)w[p * LW];
    for (c = 0; c < CHUNKS; c++) {
        double c0 = cpu_secs();
        uint64_t t0 = now_ns();
        for (i = 0; i < CHUNK; i++) p = (size_t)w[p * LW];
        wall_step[c] = (double)(now_ns() - t0) / CHUNK;
        cpu_step[c] = (cpu_secs() - c0) * 1e9 / CHUNK;
    }
    /* Fresh random lines for every pass. */
    idx = xmalloc(sizeof *idx * (size_t)MLP_READS * MLP_PASSES);
    for (i = 0; i < (size_t)MLP_READS * MLP_PASSES; i++) idx[i] = (size_t)rng_below(lines) * LW;
    for (c = 0; c < MLP_PASSES; c++) {
        const size_t *ix = idx + (size_t)c * MLP_READS;
        double c0 = cpu_secs();
        uint64_t t0 = now_ns();
        for (i = 0; i < MLP_READS; i++) sum += w[ix[i]];
        wall_read[c] = (double)(now_ns() - t0) / MLP_READS;
        cpu_read[c] = (cpu_secs() - c0) * 1e9 / MLP_READS;
    }
    qsort(cpu_step, CHUNKS, sizeof cpu_step[0], cmp_dbl);
    qsort(wall_step, CHUNKS, sizeof wall_step[0], cmp_dbl);
    qsort(cpu_read, MLP_PASSES, sizeof cpu_read[0], cmp_dbl);
    qsort(wall_read, MLP_PASSES, sizeof wall_read[0], cmp_dbl);
    if (dir) {
        floor_dram_dir_ns = cpu_step[CHUNKS / 2];
    } else {
        floor_dram_ns = cpu_step[CHUNKS / 2];
        floor_mlp_ns = cpu_read[MLP_PASSES / 2];
        floor_dram_wall_ns = wall_step[CHUNKS / 2];
        floor_mlp_wall_ns = wall_read[MLP_PASSES / 2];
    }
    /* Keep the chase and the sum alive. */
    if (p == (size_t)-1 || sum == 42) printf("#\n");
    free(idx);
    munmap(w, bytes);
}

static double clock_overhead_ns(void) {
    enum { N = 200000 };
    uint64_t *s = xmalloc(sizeof *s * N);
    double r;
    int i;
    for (i = 0; i < N; i++) {
        uint64_t t0 = now_ns();
        s[i] = now_ns() - t0;
    }
    qsort(s, N, sizeof *s, cmp_u64);
    r = (double)s[N / 2];
    free(s);
    return r;
}

/* ---- workload ------------------------------------------------------- */

static maph_t *db;
static size_t n_keys, n_hits, n_misses;
static char *hit_keys;           /* n_hits x KEY_LEN, in order of use */
static const void **hit_ptrs;    /* pointers into hit_keys, for maph_mget */
static size_t *hit_lens;         /* all KEY_LEN */
static char *miss_keys;          /* n_misses x MISS_LEN */
static uint64_t *hit_uids;       /* UID of each hit, in order of use */
static uint64_t *samples;        /* latency samples */
static size_t n_samples;

static void fill_value(size_t i, char *v) {
    size_t j;
    int n = snprintf(v, VAL_LEN + 1, "val:%08zu:", i);
    for (j = (size_t)n; j < VAL_LEN; j++) v[j] = (char)('a' + (i + j) % 26);
}

static double pct(double q) {
    size_t k = (size_t)(q * (double)(n_samples - 1) + 0.5);
    return (double)samples[k];
}

static void report_lat(const char *phase, const char *name, int all, uint64_t fails) {
    char nm[96];
    qsort(samples, n_samples, sizeof *samples, cmp_u64);
    snprintf(nm, sizeof nm, "%s_p50", name);
    put(phase, nm, pct(0.5), "ns");
    if (all) {
        snprintf(nm, sizeof nm, "%s_p90", name);
        put(phase, nm, pct(0.9), "ns");
    }
    snprintf(nm, sizeof nm, "%s_p99", name);
    put(phase, nm, pct(0.99), "ns");
    if (all) {
        snprintf(nm, sizeof nm, "%s_p99.9", name);
        put(phase, nm, pct(0.999), "ns");
    }
    if (fails) {
        snprintf(nm, sizeof nm, "%s_failures", name);
        put(phase, nm, (double)fails, "ops");
    }
}

/* One GET of a present key: 1 when it answers as expected. */
static inline int op_hit(size_t i, char *buf) {
    size_t len = 0;
    return maph_get(db, hit_keys + i * KEY_LEN, KEY_LEN, buf, BUF_CAP, &len) == MAPH_OK &&
           len == VAL_LEN;
}
static inline int op_miss(size_t i, char *buf) {
    size_t len = 0;
    return maph_get(db, miss_keys + i * MISS_LEN, MISS_LEN, buf, BUF_CAP, &len) ==
           MAPH_NOT_FOUND;
}
static inline int op_ptr(size_t i, char *buf) {
    const void *v = NULL;
    size_t len = 0;
    uint64_t token = 0;
    if (maph_get_ptr(db, hit_keys + i * KEY_LEN, KEY_LEN, &v, &len, &token) != MAPH_OK)
        return 0;
    memcpy(buf, v, len); /* read the value, then check it was not changed */
    return maph_ptr_valid(db, token) && len == VAL_LEN;
}
static inline int op_uid(size_t i, char *buf) {
    size_t len = 0;
    return maph_get_by_uid(db, hit_uids[i], buf, BUF_CAP, &len) == MAPH_OK && len == VAL_LEN;
}

enum op_kind { OP_HIT, OP_MISS, OP_PTR, OP_UID };

static inline int run_op(enum op_kind k, size_t i, char *buf) {
    switch (k) {
    case OP_HIT: return op_hit(i, buf);
    case OP_MISS: return op_miss(i, buf);
    case OP_PTR: return op_ptr(i, buf);
    default: return op_uid(i, buf);
    }
}

/* Times one op in STRIDE alone; returns the failures. */
static uint64_t sampled(enum op_kind k, size_t n, char *buf) {
    uint64_t fails = 0;
    size_t i = 0, j;
    n_samples = 0;
    while (i < n) {
        size_t end = i + STRIDE < n ? i + STRIDE : n;
        uint64_t t0 = now_ns();
        int ok = run_op(k, i, buf);
        samples[n_samples++] = now_ns() - t0;
        fails += !ok;
        for (j = i + 1; j < end; j++) fails += !run_op(k, j, buf);
        i = end;
    }
    return fails;
}

/* Untimed pass: ops per second of the thread's CPU time; *share gets CPU
 * time / wall time (well below 1: the shared machine ran something else). */
static double pass(enum op_kind k, size_t n, char *buf, uint64_t *fails, double *share) {
    size_t i;
    uint64_t f = 0;
    double c0 = cpu_secs(), secs, cpu;
    uint64_t t0 = now_ns();
    for (i = 0; i < n; i++) f += !run_op(k, i, buf);
    secs = (double)(now_ns() - t0) * 1e-9;
    cpu = cpu_secs() - c0;
    *share = cpu / secs;
    *fails = f;
    return (double)n / cpu;
}

struct phase_figs {
    double hit_p50, hit_p99, miss_p50, uid_p50, hit_tput, loop_kps, mget16_kps, mget16_ns;
};

static void phase(const char *ph, struct phase_figs *out) {
    static char buf[BUF_CAP];
    uint64_t fails;
    double share, r;
    char nm[64];
    size_t g_i;
    static const size_t groups[2] = {16, 64};

    fails = sampled(OP_HIT, n_hits, buf);
    report_lat(ph, "get_hit", 1, fails);
    out->hit_p50 = pct(0.5);
    out->hit_p99 = pct(0.99);
    r = pass(OP_HIT, n_hits, buf, &fails, &share);
    put(ph, "get_hit_throughput", r, "ops/s");
    put(ph, "get_hit_cpu_share", share, "");
    out->hit_tput = r;

    fails = sampled(OP_MISS, n_misses, buf);
    report_lat(ph, "get_miss", 0, fails);
    out->miss_p50 = pct(0.5);
    r = pass(OP_MISS, n_misses, buf, &fails, &share);
    put(ph, "get_miss_throughput", r, "ops/s");
    put(ph, "get_miss_cpu_share", share, "");

    fails = sampled(OP_PTR, n_hits, buf);
    report_lat(ph, "get_ptr", 0, fails);

    fails = sampled(OP_UID, n_hits, buf);
    report_lat(ph, "get_by_uid", 0, fails);
    out->uid_p50 = pct(0.5);
    r = pass(OP_UID, n_hits, buf, &fails, &share);
    put(ph, "get_by_uid_throughput", r, "ops/s");

    /* A loop of get, then mget, on the same keys. */
    r = pass(OP_HIT, n_hits, buf, &fails, &share);
    put(ph, "get_loop_keys_per_s", r, "keys/s");
    out->loop_kps = r;
    for (g_i = 0; g_i < 2; g_i++) {
        size_t g = groups[g_i], ngroups = n_hits / g, j, k;
        static char vbufs[64][BUF_CAP];
        void *bufs[64];
        size_t caps[64], vlens[64];
        maph_status st[64];
        uint64_t bad = 0;
        double c0, secs, kps;
        uint64_t t0;
        for (k = 0; k < 64; k++) {
            bufs[k] = vbufs[k];
            caps[k] = BUF_CAP;
        }
        c0 = cpu_secs();
        t0 = now_ns();
        for (j = 0; j < ngroups; j++) {
            maph_status s = maph_mget(db, g, hit_ptrs + j * g, hit_lens + j * g, bufs, caps,
                                      vlens, st);
            if (s != MAPH_OK) die("maph_mget", s);
            for (k = 0; k < g; k++) bad += st[k] != MAPH_OK;
        }
        secs = (double)(now_ns() - t0) * 1e-9;
        c0 = cpu_secs() - c0;
        share = c0 / secs;
        kps = (double)(ngroups * g) / c0;
        snprintf(nm, sizeof nm, "mget%zu_keys_per_s", g);
        put(ph, nm, kps, "keys/s");
        snprintf(nm, sizeof nm, "mget%zu_ns_per_key", g);
        put(ph, nm, 1e9 / kps, "ns");
        snprintf(nm, sizeof nm, "mget%zu_cpu_share", g);
        put(ph, nm, share, "");
        if (bad) {
            snprintf(nm, sizeof nm, "mget%zu_failures", g);
            put(ph, nm, (double)bad, "keys");
        }
        if (g == 16) {
            out->mget16_kps = kps;
            out->mget16_ns = 1e9 / kps;
        }
    }
}

static void target(const char *name, double v, int le, double lim, const char *what) {
    int met = le ? v <= lim : v >= lim;
    printf("c_w1.target.%s: %.3f x  # %s; target %s %g: %s\n", name, v, what, le ? "<=" : ">=",
           lim, met ? "met" : "MISSED");
}

int main(int argc, char **argv) {
    maph_options o;
    maph_status st;
    char path[4096], key[32], val[VAL_LEN + 1];
    const char *tmp = getenv("TMPDIR");
    size_t i;
    uint64_t t0, *uids;
    double secs;
    struct phase_figs before, after;

    n_keys = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    n_hits = argc > 2 ? strtoull(argv[2], NULL, 10) : 5000000;
    n_misses = argc > 3 ? strtoull(argv[3], NULL, 10) : 1000000;
    if (n_keys == 0 || n_keys > 99999999 || n_hits < 64 || n_misses < 64) {
        fprintf(stderr, "usage: latency_bench [KEYS (1..99999999) [HITS (>=64) [MISSES (>=64)]]]\n");
        return 2;
    }
    printf("== c_w1: %zu keys, %zu slots of 512 bytes, %zu hits, %zu misses, latency on 1 op in %d;"
           " timing: clock_gettime(CLOCK_MONOTONIC) pairs\n",
           n_keys, 2 * n_keys, n_hits, n_misses, STRIDE);

    put(NULL, "clock_overhead", clock_overhead_ns(), "ns");
    measure_floor(2 * n_keys * 512, NULL);
    measure_floor(2 * n_keys * 512, tmp && *tmp ? tmp : "/tmp");
    put(NULL, "floor_buffer", (double)(2 * n_keys * 512) / 1048576.0, "MiB");
    put(NULL, "floor_dram_ns", floor_dram_ns, "ns");
    put(NULL, "floor_mlp_ns", floor_mlp_ns, "ns");
    put(NULL, "floor_dram_wall_ns", floor_dram_wall_ns, "ns");
    put(NULL, "floor_mlp_wall_ns", floor_mlp_wall_ns, "ns");
    put(NULL, "floor_dram_dir_ns", floor_dram_dir_ns, "ns");

    /* Lists, before any timed loop. */
    hit_keys = xmalloc(n_hits * KEY_LEN + 16);
    hit_ptrs = xmalloc(sizeof *hit_ptrs * n_hits);
    hit_lens = xmalloc(sizeof *hit_lens * n_hits);
    hit_uids = xmalloc(sizeof *hit_uids * n_hits);
    miss_keys = xmalloc(n_misses * MISS_LEN + 16);
    samples = xmalloc(sizeof *samples * (n_hits / STRIDE + 2));
    uids = xmalloc(sizeof *uids * n_keys);
    {
        size_t *idx = xmalloc(sizeof *idx * n_hits);
        for (i = 0; i < n_hits; i++) {
            idx[i] = (size_t)rng_below(n_keys);
            snprintf(key, sizeof key, "key:%08zu", idx[i]);
            memcpy(hit_keys + i * KEY_LEN, key, KEY_LEN);
            hit_ptrs[i] = hit_keys + i * KEY_LEN;
            hit_lens[i] = KEY_LEN;
        }
        for (i = 0; i < n_misses; i++) {
            snprintf(key, sizeof key, "miss:%08zu", (size_t)rng_below(n_keys));
            memcpy(miss_keys + i * MISS_LEN, key, MISS_LEN);
        }

        snprintf(path, sizeof path, "%s/maph-latency-bench-%ld.maph", tmp && *tmp ? tmp : "/tmp",
                 (long)getpid());
        unlink(path);
        maph_options_default(&o);
        o.slots = 2 * n_keys;
        o.slot_size = 512;
        o.seed = 0x5eed0003;
        st = maph_create(path, &o, &db);
        if (st != MAPH_OK) die("maph_create", st);

        t0 = now_ns();
        for (i = 0; i < n_keys; i++) {
            /* Formatting is inside this loop (as a loader would do it). */
            snprintf(key, sizeof key, "key:%08zu", i);
            fill_value(i, val);
            st = maph_set(db, key, KEY_LEN, val, VAL_LEN);
            if (st != MAPH_OK) die("maph_set", st);
        }
        secs = (double)(now_ns() - t0) * 1e-9;
        put("before", "insert_rate", (double)n_keys / secs, "keys/s");

        /* Check every value, and take every UID. */
        for (i = 0; i < n_keys; i++) {
            char buf[BUF_CAP];
            size_t len = 0;
            snprintf(key, sizeof key, "key:%08zu", i);
            fill_value(i, val);
            st = maph_get(db, key, KEY_LEN, buf, sizeof buf, &len);
            if (st != MAPH_OK || len != VAL_LEN || memcmp(buf, val, VAL_LEN) != 0)
                die("reading back a value", st == MAPH_OK ? MAPH_E_CORRUPT : st);
            st = maph_uid(db, key, KEY_LEN, &uids[i]);
            if (st != MAPH_OK) die("maph_uid", st);
        }
        for (i = 0; i < n_hits; i++) hit_uids[i] = uids[idx[i]];
        free(idx);
    }

    phase("before", &before);

    t0 = now_ns();
    st = maph_optimize(db);
    secs = (double)(now_ns() - t0) * 1e-9;
    if (st != MAPH_OK) die("maph_optimize", st);
    put(NULL, "optimize_time", secs, "s");
    put(NULL, "optimize_ns_per_key", secs * 1e9 / (double)n_keys, "ns");
    {
        maph_stats_t s;
        st = maph_stats(db, &s);
        if (st != MAPH_OK) die("maph_stats", st);
        put(NULL, "file_size", (double)s.file_bytes / 1048576.0, "MiB");
    }

    phase("after", &after);

    printf("-- c_w1: ratios (floor_dram_ns %.1f, floor_mlp_ns %.2f)\n", floor_dram_ns,
           floor_mlp_ns);
    put("before", "get_hit_p50_over_floor_dram", before.hit_p50 / floor_dram_ns, "x");
    put("after", "get_hit_p50_over_floor_dram", after.hit_p50 / floor_dram_ns, "x");
    put("after", "get_hit_p50_over_floor_dram_dir", after.hit_p50 / floor_dram_dir_ns, "x");
    put("after", "get_hit_p99_over_floor_dram", after.hit_p99 / floor_dram_ns, "x");
    put("after", "get_miss_p50_over_floor_dram", after.miss_p50 / floor_dram_ns, "x");
    put("after", "mget16_ns_per_key_over_floor_mlp", after.mget16_ns / floor_mlp_ns, "x");
    target("get_hit_p50_after", after.hit_p50 / floor_dram_ns, 1, 1.3, "GET hit p50 / floor_dram_ns");
    target("get_hit_p99_after", after.hit_p99 / floor_dram_ns, 1, 3.0, "GET hit p99 / floor_dram_ns");
    target("get_miss_p50_after", after.miss_p50 / floor_dram_ns, 1, 1.3,
           "GET miss p50 / floor_dram_ns");
    target("get_by_uid_p50_after", after.uid_p50 / after.hit_p50, 1, 1.0,
           "get_by_uid p50 / get p50");
    target("mget16_vs_get_loop_after", after.mget16_kps / after.loop_kps, 0, 4.0,
           "mget(16) keys/s / loop of get keys/s");
    target("mget16_ns_per_key_after", after.mget16_ns / floor_mlp_ns, 1, 3.0,
           "mget(16) ns per key / floor_mlp_ns");

    maph_close(db);
    unlink(path);
    free(hit_keys);
    free(hit_ptrs);
    free(hit_lens);
    free(hit_uids);
    free(miss_keys);
    free(samples);
    free(uids);
    return 0;
}
