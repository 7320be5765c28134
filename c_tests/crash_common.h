/* What the two SIGKILL crash tests (test_crash.c, test_crash_growth.c)
 * share: sequentially consistent accessors of the shared log words, a
 * monotonic clock, and self-checking values (a torn or mixed-up value
 * fails `whole`). Values are 24 to 173 bytes: some fit a 128-byte slot,
 * the longer ones go to the heap. */
#ifndef MAPH_C_TESTS_CRASH_COMMON_H
#define MAPH_C_TESTS_CRASH_COMMON_H

#include <stdint.h>
#include <string.h>
#include <time.h>

#define LD(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define ST(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define ADD(p, v) __atomic_fetch_add((p), (v), __ATOMIC_SEQ_CST)

static inline double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static inline uint64_t fnv(const unsigned char *p, size_t n) {
    uint64_t h = 1469598103934665603ull;
    size_t i;
    for (i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

/* A self-checking value: seq, writer, fill, checksum of all that. */
static inline size_t make_value(unsigned char *v, uint64_t seq, uint64_t writer) {
    size_t len = 24 + (size_t)(seq % 150), i;
    uint64_t sum;
    memcpy(v, &seq, 8);
    memcpy(v + 8, &writer, 8);
    for (i = 16; i < len - 8; i++) v[i] = (unsigned char)(i ^ seq);
    sum = fnv(v, len - 8);
    memcpy(v + len - 8, &sum, 8);
    return len;
}

/* The seq of a whole value, or -1 for a torn one. */
static inline int64_t whole(const unsigned char *v, size_t len) {
    unsigned char expect[256];
    uint64_t seq, writer;
    if (len < 24 || len > sizeof expect) return -1;
    memcpy(&seq, v, 8);
    memcpy(&writer, v + 8, 8);
    if (make_value(expect, seq, writer) != len || memcmp(expect, v, len) != 0) return -1;
    return (int64_t)seq;
}

#endif
