/*
 * Cursors: maph_iter_open, maph_iter_open_part, maph_iter_next,
 * maph_iter_close. Every live key once; tombstones and expired keys never;
 * heap records whole; parts that cover every slot once; a growing store's
 * levels; and the promise under a concurrent writer process.
 */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define MAXK 64

static maph_status make(const char *name, uint64_t slots, maph_t **db) {
    char p[H_PATH_MAX];
    maph_options o;
    maph_options_default(&o);
    o.slots = slots;
    o.slot_size = 128;
    return maph_create(h_path(p, name), &o, db);
}

static void key_of(char *k, size_t cap, const char *prefix, int i) {
    snprintf(k, cap, "%s%d", prefix, i);
}

/* Scans `it` to its end; counts[i] += 1 for every key "<prefix>i" (i < n)
 * whose value is "v<i>" repeated to `vrep` copies; returns the number of
 * records that matched no such key (or had a wrong value), -1 on error. */
static int scan(maph_iter_t *it, const char *prefix, int n, int *counts, int vrep) {
    static char kb[256], vb[8192];
    size_t kl = 0, vl = 0;
    int other = 0;
    maph_status st;
    size_t plen = strlen(prefix);
    while ((st = maph_iter_next(it, kb, sizeof kb, &kl, vb, sizeof vb, &vl)) == MAPH_OK) {
        char want[8192];
        int i, r;
        size_t wl = 0;
        if (kl <= plen || memcmp(kb, prefix, plen) != 0) {
            other++;
            continue;
        }
        kb[kl] = 0;
        i = atoi(kb + plen);
        if (i < 0 || i >= n) {
            other++;
            continue;
        }
        for (r = 0; r < vrep; r++) wl += (size_t)snprintf(want + wl, sizeof want - wl, "v%d", i);
        if (vl != wl || memcmp(vb, want, wl) != 0) {
            other++;
            continue;
        }
        counts[i]++;
    }
    return st == MAPH_NOT_FOUND ? other : -1;
}

static void put(maph_t *db, const char *prefix, int i, int vrep) {
    char k[MAXK], v[8192];
    size_t vl = 0;
    int r;
    key_of(k, sizeof k, prefix, i);
    for (r = 0; r < vrep; r++) vl += (size_t)snprintf(v + vl, sizeof v - vl, "v%d", i);
    CHECK_ST(maph_set(db, k, strlen(k), v, vl), MAPH_OK);
}

static void test_iter_returns_each_live_key_once_and_no_tombstone_or_expired_key(void) {
    maph_t *db = NULL;
    maph_iter_t *it = NULL;
    int counts[300] = {0};
    int i, bad = 0;
    char k[MAXK];
    REQUIRE_ST(make("it.maph", 1024, &db), MAPH_OK);
    for (i = 0; i < 300; i++) put(db, "k", i, 1);
    for (i = 0; i < 300; i += 3) {
        key_of(k, sizeof k, "k", i);
        CHECK_ST(maph_del(db, k, strlen(k)), MAPH_OK);
    }
    /* Expired: a TTL of 1 ms, then a wait past it. */
    CHECK_ST(maph_set_ex(db, "gone", 4, "x", 1, 1), MAPH_OK);
    usleep(5000);
    REQUIRE_ST(maph_iter_open(db, &it), MAPH_OK);
    CHECK(scan(it, "k", 300, counts, 1) == 0);
    CHECK_ST(maph_iter_next(it, k, sizeof k, &(size_t){0}, NULL, 0, &(size_t){0}), MAPH_NOT_FOUND);
    maph_iter_close(it);
    for (i = 0; i < 300; i++) bad += counts[i] != (i % 3 == 0 ? 0 : 1);
    CHECK(bad == 0);
    maph_close(db);
}

static void test_heap_records_come_back_whole(void) {
    maph_t *db = NULL;
    maph_iter_t *it = NULL;
    int counts[50] = {0};
    int i, bad = 0;
    REQUIRE_ST(make("it.maph", 256, &db), MAPH_OK);
    /* 600 copies of "v<i>": several KiB, far past a 128-byte slot. */
    for (i = 0; i < 50; i++) put(db, "big", i, i < 25 ? 600 : 1);
    REQUIRE_ST(maph_iter_open(db, &it), MAPH_OK);
    /* scan() wants one repeat count: count the large half, then the rest. */
    CHECK(scan(it, "big", 25, counts, 600) == 25);
    maph_iter_close(it);
    REQUIRE_ST(maph_iter_open(db, &it), MAPH_OK);
    CHECK(scan(it, "big", 50, counts, 1) == 25);
    maph_iter_close(it);
    for (i = 0; i < 50; i++) bad += counts[i] != 1;
    CHECK(bad == 0);
    maph_close(db);
}

static void test_small_buffers_report_both_sizes_and_keep_the_record(void) {
    maph_t *db = NULL;
    maph_iter_t *it = NULL;
    char kb[64], vb[2048];
    size_t kl = 0, vl = 0;
    REQUIRE_ST(make("it.maph", 64, &db), MAPH_OK);
    memset(vb, 'z', 1500);
    CHECK_ST(maph_set(db, "the-only-key", 12, vb, 1500), MAPH_OK);
    REQUIRE_ST(maph_iter_open(db, &it), MAPH_OK);
    CHECK_ST(maph_iter_next(it, NULL, 0, &kl, NULL, 0, &vl), MAPH_E_BUFFER_TOO_SMALL);
    CHECK(kl == 12 && vl == 1500);
    kl = vl = 0;
    CHECK_ST(maph_iter_next(it, kb, sizeof kb, &kl, vb, 100, &vl), MAPH_E_BUFFER_TOO_SMALL);
    CHECK(kl == 12 && vl == 1500);
    memset(vb, 0, sizeof vb);
    CHECK_ST(maph_iter_next(it, kb, sizeof kb, &kl, vb, sizeof vb, &vl), MAPH_OK);
    CHECK(kl == 12 && memcmp(kb, "the-only-key", 12) == 0 && vl == 1500 && vb[1499] == 'z');
    CHECK_ST(maph_iter_next(it, kb, sizeof kb, &kl, vb, sizeof vb, &vl), MAPH_NOT_FOUND);
    CHECK_ST(maph_iter_next(it, kb, sizeof kb, &kl, vb, sizeof vb, &vl), MAPH_NOT_FOUND);
    maph_iter_close(it);
    maph_close(db);
}

static void test_parts_together_return_every_key_once(void) {
    maph_t *db = NULL;
    int nparts, p, i;
    REQUIRE_ST(make("it.maph", 1000, &db), MAPH_OK);
    for (i = 0; i < 700; i++) put(db, "p", i, 1);
    for (nparts = 1; nparts <= 7; nparts += 2) {
        int counts[700] = {0};
        int bad = 0;
        for (p = 0; p < nparts; p++) {
            maph_iter_t *it = NULL;
            REQUIRE_ST(maph_iter_open_part(db, (uint32_t)p, (uint32_t)nparts, &it), MAPH_OK);
            CHECK(scan(it, "p", 700, counts, 1) == 0);
            maph_iter_close(it);
        }
        for (i = 0; i < 700; i++) bad += counts[i] != 1;
        CHECK(bad == 0);
    }
    maph_close(db);
}

static void test_bad_arguments_are_invalid_arg_and_null_close_is_fine(void) {
    maph_t *db = NULL;
    maph_iter_t *it = (maph_iter_t *)1;
    size_t kl = 0, vl = 0;
    char b[8];
    REQUIRE_ST(make("it.maph", 64, &db), MAPH_OK);
    CHECK_ST(maph_iter_open(NULL, &it), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_iter_open(db, NULL), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_iter_open_part(db, 3, 3, &it), MAPH_E_INVALID_ARG);
    CHECK(it == (maph_iter_t *)1 || it == NULL);
    CHECK_ST(maph_iter_open_part(db, 0, 0, &it), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_iter_next(NULL, b, sizeof b, &kl, b, sizeof b, &vl), MAPH_E_INVALID_ARG);
    REQUIRE_ST(maph_iter_open(db, &it), MAPH_OK);
    CHECK_ST(maph_iter_next(it, b, sizeof b, NULL, b, sizeof b, &vl), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_iter_next(it, b, sizeof b, &kl, b, sizeof b, NULL), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_iter_next(it, NULL, 4, &kl, b, sizeof b, &vl), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_iter_next(it, b, sizeof b, &kl, b, sizeof b, &vl), MAPH_NOT_FOUND);
    maph_iter_close(it);
    maph_iter_close(NULL);
    maph_close(db);
}

static void test_growing_store_returns_keys_of_every_level(void) {
    char p[H_PATH_MAX];
    maph_options o;
    maph_t *db = NULL;
    maph_iter_t *it = NULL;
    static int counts[20000];
    int i, bad = 0;
    maph_options_default(&o);
    o.slots = 0;
    REQUIRE_ST(maph_create(h_path(p, "grow.maph"), &o, &db), MAPH_OK);
    for (i = 0; i < 20000; i++) put(db, "g", i, 1);
    memset(counts, 0, sizeof counts);
    REQUIRE_ST(maph_iter_open(db, &it), MAPH_OK);
    CHECK(scan(it, "g", 20000, counts, 1) == 0);
    maph_iter_close(it);
    for (i = 0; i < 20000; i++) bad += counts[i] != 1;
    CHECK(bad == 0);
    /* Parts of a grown store. */
    memset(counts, 0, sizeof counts);
    for (i = 0; i < 3; i++) {
        REQUIRE_ST(maph_iter_open_part(db, (uint32_t)i, 3, &it), MAPH_OK);
        CHECK(scan(it, "g", 20000, counts, 1) == 0);
        maph_iter_close(it);
    }
    bad = 0;
    for (i = 0; i < 20000; i++) bad += counts[i] != 1;
    CHECK(bad == 0);
    maph_close(db);
}

/* A child process inserts, overwrites and deletes keys "w<i>" without end;
 * the parent scans meanwhile: every stable key "s<i>" exactly once, with
 * its whole value, every scan; "w" keys may come or not. */
static void test_scan_during_a_writer_process_sees_every_stable_key_once(void) {
    char p[H_PATH_MAX];
    maph_t *db = NULL;
    pid_t pid;
    int i, round, status = 0, others = 0;
    REQUIRE_ST(make("live.maph", 8192, &db), MAPH_OK);
    for (i = 0; i < 3000; i++) put(db, "s", i, 3);
    pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        maph_t *w = NULL;
        unsigned n = 0;
        if (maph_open(h_path(p, "live.maph"), MAPH_RDWR, &w) != MAPH_OK) _exit(3);
        for (;;) {
            char k[MAXK], v[700];
            int j = (int)(n % 2000);
            size_t vl = (n % 7 == 0) ? 600 : 5; /* some go to the heap */
            key_of(k, sizeof k, "w", j);
            memset(v, 'a' + (int)(n % 26), vl);
            if (n % 3 == 2) maph_del(w, k, strlen(k));
            else maph_set(w, k, strlen(k), v, vl);
            n++;
        }
    }
    usleep(20000);
    for (round = 0; round < 20; round++) {
        static int counts[3000];
        maph_iter_t *it = NULL;
        int bad = 0, other;
        memset(counts, 0, sizeof counts);
        REQUIRE_ST(maph_iter_open(db, &it), MAPH_OK);
        other = scan(it, "s", 3000, counts, 3);
        maph_iter_close(it);
        CHECK(other >= 0);
        others += other;
        for (i = 0; i < 3000; i++) bad += counts[i] != 1;
        CHECK(bad == 0);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status));
    /* The writer ran meanwhile: its keys were seen. */
    CHECK(others > 0);
    maph_close(db);
}

int main(void) {
    RUN(test_iter_returns_each_live_key_once_and_no_tombstone_or_expired_key);
    RUN(test_heap_records_come_back_whole);
    RUN(test_small_buffers_report_both_sizes_and_keep_the_record);
    RUN(test_parts_together_return_every_key_once);
    RUN(test_bad_arguments_are_invalid_arg_and_null_close_is_fine);
    RUN(test_growing_store_returns_keys_of_every_level);
    RUN(test_scan_during_a_writer_process_sees_every_stable_key_once);
    return h_summary();
}
