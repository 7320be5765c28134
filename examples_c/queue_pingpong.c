/*
 * queue_pingpong: workload Q1 of /work/shared/WORKLOADS.md (docs/QUEUE.md).
 *
 * Two processes share one maph queue set of 100,000 elements of 4 KiB and
 * two queues, a->b and b->a (queue 0 is the free list, unused here). All
 * elements start in a->b. Process B pulls from a->b, touches 8 bytes of
 * the element (increments a counter in its first word), pushes it to b->a;
 * process A does the same from b->a to a->b. Each side moves `round_trips`
 * elements, so the run moves 2 * round_trips elements, and the figure is
 *     elements moved per second = 2 * round_trips / wall time
 * (wall time from a common start to the later side's end). Modes:
 *   single   one maph_queue_pull + one maph_queue_push per element
 *   bulk     maph_queue_pull_many of up to -b elements, then push_many
 *   oversub  single and bulk again with a third process spinning on the
 *            CPU (on a 2-core machine: oversubscribed)
 * On an empty input queue a side pauses briefly and polls again; after 100
 * polls it sleeps in maph_queue_wait (futex) for up to 100 ms.
 *
 * Before the timed run each side reads one byte of every element, so the
 * page faults of its fresh mapping are not timed. After all runs the
 * counters must sum to the number of touches and maph_queue_audit must find
 * every element exactly once (exit status 1 otherwise).
 *
 * Also prints the machine floor of WORKLOADS.md over a buffer as large as
 * the element region (floor_dram_ns: dependent random 64-byte reads;
 * floor_mlp_ns: independent ones) and floor_line_handoff_ns (one cache line
 * bounced between two processes: the cost of one handoff), unless
 * --no-floor.
 *
 * Build (from examples_c/, after `cargo build --release`):
 *   gcc -O2 -std=c99 -D_DEFAULT_SOURCE -I../include queue_pingpong.c \
 *       -L../target/release -lmaph -Wl,-rpath,$(pwd)/../target/release \
 *       -o queue_pingpong
 * Run: ./queue_pingpong [-n round_trips] [-e elements] [-s elem_size]
 *                       [-b batch] [-m single|bulk|oversub|all] [--no-floor]
 * Defaults: -n 10000000 -e 100000 -s 4096 -b 256 -m all.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "maph.h"

#define Q_AB 1
#define Q_BA 2

/* Shared between the parent and the two sides (a MAP_SHARED page). */
struct ctl {
    volatile int ready;        /* sides that finished their warm-up */
    volatile int go;           /* set by the parent: start */
    volatile double end[2];    /* each side's end time */
    volatile int failed;       /* a side saw an unexpected status */
};

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, maph_status st) {
    fprintf(stderr, "queue_pingpong: %s: %s (%s)\n", what, maph_strerror(st),
            maph_last_error());
    exit(1);
}

static void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* On an empty queue: poll again after a short pause (letting the other
 * side add several elements, and leaving its cache lines alone meanwhile),
 * then, after about 100 polls, sleep on the futex. */
static void idle(maph_queue_t *q, uint32_t in, int *spins) {
    int k;
    if (++*spins < 100) {
        for (k = 0; k < 16; k++) cpu_relax();
        return;
    }
    *spins = 0;
    maph_status st = maph_queue_wait(q, in, 100);
    if (st != MAPH_OK && st != MAPH_E_TIMEOUT) die("maph_queue_wait", st);
}

static void touch(maph_queue_t *q, uint32_t e) {
    volatile uint64_t *p = (volatile uint64_t *)maph_queue_elem(q, e);
    *p = *p + 1;
}

static void side(maph_queue_t *q, struct ctl *c, int who, uint32_t in, uint32_t out,
                 uint64_t n, uint32_t batch, uint32_t elems) {
    uint32_t *buf = malloc(sizeof(uint32_t) * batch);
    volatile uint64_t sink = 0;
    uint64_t done = 0;
    int spins = 0;
    uint32_t e;
    if (buf == NULL) exit(1);
    for (e = 0; e < elems; e++) sink += *(volatile uint8_t *)maph_queue_elem(q, e);
    __atomic_fetch_add(&c->ready, 1, __ATOMIC_SEQ_CST);
    while (!__atomic_load_n(&c->go, __ATOMIC_ACQUIRE)) {
    }
    if (batch <= 1) {
        while (done < n) {
            maph_status st = maph_queue_pull(q, in, &e);
            if (st == MAPH_E_EMPTY) {
                idle(q, in, &spins);
                continue;
            }
            if (st != MAPH_OK) die("maph_queue_pull", st);
            touch(q, e);
            st = maph_queue_push(q, out, e);
            if (st != MAPH_OK) die("maph_queue_push", st);
            done++;
        }
    } else {
        while (done < n) {
            size_t want = n - done < batch ? (size_t)(n - done) : batch, got = 0, i;
            maph_status st = maph_queue_pull_many(q, in, buf, want, &got);
            if (st == MAPH_E_EMPTY) {
                idle(q, in, &spins);
                continue;
            }
            if (st != MAPH_OK) die("maph_queue_pull_many", st);
            for (i = 0; i < got; i++) touch(q, buf[i]);
            st = maph_queue_push_many(q, out, buf, got);
            if (st != MAPH_OK) die("maph_queue_push_many", st);
            done += got;
        }
    }
    c->end[who] = now();
    free(buf);
    (void)sink;
    _exit(0);
}

/* One timed run; returns elements moved per second. */
static double run(maph_queue_t *q, struct ctl *c, uint64_t n, uint32_t batch, uint32_t elems,
                  int oversub) {
    pid_t a, b, busy = -1;
    int st_a = 0, st_b = 0;
    double t0;
    memset((void *)c, 0, sizeof *c);
    if (oversub) {
        busy = fork();
        if (busy == 0) {
            volatile uint64_t x = 0;
            for (;;) x++;
        }
    }
    a = fork();
    if (a == 0) side(q, c, 0, Q_BA, Q_AB, n, batch, elems);
    b = fork();
    if (b == 0) side(q, c, 1, Q_AB, Q_BA, n, batch, elems);
    while (__atomic_load_n(&c->ready, __ATOMIC_ACQUIRE) < 2) usleep(1000);
    t0 = now();
    __atomic_store_n(&c->go, 1, __ATOMIC_RELEASE);
    waitpid(a, &st_a, 0);
    waitpid(b, &st_b, 0);
    if (busy > 0) {
        kill(busy, SIGKILL);
        waitpid(busy, NULL, 0);
    }
    if (!WIFEXITED(st_a) || WEXITSTATUS(st_a) != 0 || !WIFEXITED(st_b) ||
        WEXITSTATUS(st_b) != 0) {
        fprintf(stderr, "queue_pingpong: a side failed\n");
        exit(1);
    }
    return 2.0 * (double)n / ((c->end[0] > c->end[1] ? c->end[0] : c->end[1]) - t0);
}

/* xorshift64* */
static uint64_t rng(uint64_t *s) {
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

/* One cache line handed back and forth between two processes: the cost of
 * one handoff (on a VM it depends on where the host runs the two vCPUs). */
static void floor_line(void) {
    volatile uint64_t *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    uint64_t i, n = 1000000;
    pid_t pid;
    double t;
    if (w == MAP_FAILED) return;
    *w = 0;
    pid = fork();
    if (pid == 0) {
        for (i = 1; i < 2 * n; i += 2) {
            while (*w != i - 1) {
            }
            *w = i;
        }
        _exit(0);
    }
    t = now();
    for (i = 2; i <= 2 * n; i += 2) {
        while (*w != i - 1) {
        }
        *w = i;
    }
    t = now() - t;
    waitpid(pid, NULL, 0);
    printf("floor_line_handoff_ns: %.1f ns\n", t * 1e9 / (double)(2 * n));
    munmap((void *)w, 4096);
}

/* WORKLOADS.md floors over `bytes` of 64-byte lines, 4 KiB pages. */
static void floors(size_t bytes) {
    size_t lines = bytes / 64, i, steps = 5000000;
    uint64_t *buf, s = 0x9E3779B97F4A7C15ULL, sink = 0;
    uint32_t *perm;
    double t;
    if (lines < 2) return;
    buf = mmap(NULL, lines * 64, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    perm = malloc(sizeof(uint32_t) * lines);
    if (buf == MAP_FAILED || perm == NULL) return;
    for (i = 0; i < lines; i++) perm[i] = (uint32_t)i;
    for (i = lines - 1; i > 0; i--) {
        size_t j = (size_t)(rng(&s) % (i + 1));
        uint32_t x = perm[i];
        perm[i] = perm[j];
        perm[j] = x;
    }
    for (i = 0; i < lines; i++) buf[(size_t)perm[i] * 8] = (uint64_t)perm[(i + 1) % lines] * 8;
    {
        uint64_t p = 0;
        t = now();
        for (i = 0; i < steps; i++) p = buf[p];
        t = now() - t;
        sink += p;
    }
    printf("floor_dram_ns: %.1f ns\n", t * 1e9 / (double)steps);
    t = now();
    for (i = 0; i < steps; i++) sink += buf[(size_t)perm[i % lines] * 8];
    t = now() - t;
    printf("floor_mlp_ns: %.1f ns\n", t * 1e9 / (double)steps);
    if (sink == 42) printf(" ");
    free(perm);
    munmap(buf, lines * 64);
}

int main(int argc, char **argv) {
    uint64_t n = 10000000;
    uint32_t elems = 100000, size = 4096, batch = 256, e;
    const char *mode = "all";
    int floor = 1, i, fail = 0;
    maph_queue_t *q = NULL;
    maph_queue_info_t info;
    maph_queue_audit_t au;
    maph_status st;
    struct ctl *c;
    uint32_t *all;
    size_t got = 0;
    uint64_t touches = 0, sum = 0;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--no-floor") == 0) floor = 0;
        else if (i + 1 < argc && strcmp(argv[i], "-n") == 0) n = strtoull(argv[++i], NULL, 10);
        else if (i + 1 < argc && strcmp(argv[i], "-e") == 0) elems = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (i + 1 < argc && strcmp(argv[i], "-s") == 0) size = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (i + 1 < argc && strcmp(argv[i], "-b") == 0) batch = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (i + 1 < argc && strcmp(argv[i], "-m") == 0) mode = argv[++i];
        else if (i == 1 && argv[i][0] >= '0' && argv[i][0] <= '9') n = strtoull(argv[i], NULL, 10);
        else {
            fprintf(stderr, "usage: %s [-n round_trips] [-e elements] [-s elem_size] [-b batch] "
                            "[-m single|bulk|oversub|all] [--no-floor]\n", argv[0]);
            return 2;
        }
    }
    if (batch < 2) batch = 2;
    st = maph_queue_create_anon(elems, size, 3, &q);
    if (st != MAPH_OK) die("maph_queue_create_anon", st);
    maph_queue_info(q, &info);
    /* Every element from the free list to a->b. */
    all = malloc(sizeof(uint32_t) * elems);
    if (all == NULL) return 1;
    st = maph_queue_pull_many(q, 0, all, elems, &got);
    if (st != MAPH_OK || got != elems) die("maph_queue_pull_many (setup)", st);
    for (e = 0; e < elems; e++) *(uint64_t *)maph_queue_elem(q, all[e]) = 0;
    st = maph_queue_push_many(q, Q_AB, all, elems);
    if (st != MAPH_OK) die("maph_queue_push_many (setup)", st);
    c = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (c == MAP_FAILED) return 1;

    printf("workload: Q1\n");
    printf("q1_elements: %u elements\n", elems);
    printf("q1_elem_size: %u bytes\n", size);
    printf("q1_round_trips: %llu round trips\n", (unsigned long long)n);
    printf("q1_batch: %u elements\n", batch);
    printf("q1_set_bytes: %llu bytes\n", (unsigned long long)info.total_bytes);
    if (floor) {
        floors((size_t)elems * info.elem_stride);
        floor_line();
    }
    fflush(stdout);

    if (!strcmp(mode, "all") || !strcmp(mode, "single")) {
        printf("q1_single_elems_per_s: %.0f elements/s\n", run(q, c, n, 1, elems, 0));
        touches += 2 * n;
        fflush(stdout);
    }
    if (!strcmp(mode, "all") || !strcmp(mode, "bulk")) {
        printf("q1_bulk_elems_per_s: %.0f elements/s\n", run(q, c, n, batch, elems, 0));
        touches += 2 * n;
        fflush(stdout);
    }
    if (!strcmp(mode, "all") || !strcmp(mode, "oversub")) {
        printf("q1_single_oversub_elems_per_s: %.0f elements/s\n", run(q, c, n, 1, elems, 1));
        fflush(stdout);
        printf("q1_bulk_oversub_elems_per_s: %.0f elements/s\n", run(q, c, n, batch, elems, 1));
        touches += 4 * n;
        fflush(stdout);
    }

    for (e = 0; e < elems; e++) sum += *(uint64_t *)maph_queue_elem(q, e);
    st = maph_queue_audit(q, &au);
    if (st != MAPH_OK) die("maph_queue_audit", st);
    if (sum != touches) {
        fprintf(stderr, "queue_pingpong: counters sum to %llu, expected %llu\n",
                (unsigned long long)sum, (unsigned long long)touches);
        fail = 1;
    }
    if (au.queued != elems || au.held != 0) {
        fprintf(stderr, "queue_pingpong: audit: %llu queued, %llu held of %u\n",
                (unsigned long long)au.queued, (unsigned long long)au.held, elems);
        fail = 1;
    }
    printf("q1_check: %s\n", fail ? "FAILED" : "ok (every element once, every touch counted)");
    maph_queue_close(q);
    free(all);
    return fail;
}
