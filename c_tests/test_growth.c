/* Growing stores (issue 12): maph_options.slots = 0 starts with 1,024
 * slots and adds levels as keys arrive. Every earlier key reads back after
 * each level is added; get_ptr pointers and UIDs taken before growth stay
 * valid; a process that opened the store before it grew reads keys written
 * after; past max_bytes an insert answers MAPH_E_FULL and loses nothing. */
#include <sys/wait.h>

#include "harness.h"

static void key_of(char *k, size_t cap, uint64_t i) {
    snprintf(k, cap, "key:%08llu", (unsigned long long)i);
}

static void val_of(unsigned char *v, uint64_t i) {
    memset(v, (int)(i % 251), 100);
    memcpy(v, &i, sizeof i);
}

static maph_t *growing(const char *name, uint64_t max_bytes) {
    char p[H_PATH_MAX];
    maph_options o;
    maph_t *db = NULL;
    maph_options_default(&o);
    o.slots = 0;
    o.max_bytes = max_bytes;
    if (maph_create(h_path(p, name), &o, &db) != MAPH_OK) return NULL;
    return db;
}

static uint64_t slots_of(maph_t *db) {
    maph_stats_t st;
    if (maph_stats(db, &st) != MAPH_OK) return 0;
    return st.slots;
}

static void test_every_earlier_key_reads_back_after_each_level(void) {
    maph_t *db = growing("g1", 1ull << 30);
    char k[32];
    unsigned char v[100], got[128];
    uint64_t i, j, slots, levels = 1, bad = 0;
    size_t n;
    REQUIRE(db != NULL);
    slots = slots_of(db);
    CHECK(slots == 1024);
    for (i = 0; i < 1000000; i++) {
        key_of(k, sizeof k, i);
        val_of(v, i);
        REQUIRE_ST(maph_set(db, k, strlen(k), v, sizeof v), MAPH_OK);
        if (slots_of(db) != slots) {
            slots = slots_of(db);
            levels++;
            for (j = 0; j <= i; j++) {
                key_of(k, sizeof k, j);
                val_of(v, j);
                if (maph_get(db, k, strlen(k), got, sizeof got, &n) != MAPH_OK || n != 100 ||
                    memcmp(got, v, 100) != 0)
                    bad++;
            }
        }
    }
    CHECK(bad == 0);
    CHECK(levels >= 10);
    CHECK_ST(maph_get(db, "absent", 6, got, sizeof got, &n), MAPH_NOT_FOUND);
    maph_close(db);
}

static void test_pointers_and_uids_from_before_growth_stay_valid(void) {
    maph_t *db = growing("g2", 1ull << 30);
    char k[32];
    unsigned char v[100], got[128];
    const void *ptr[100];
    size_t len[100], n;
    uint64_t tok[100], uid[100], i;
    REQUIRE(db != NULL);
    for (i = 0; i < 100; i++) {
        key_of(k, sizeof k, i);
        val_of(v, i);
        REQUIRE_ST(maph_set(db, k, strlen(k), v, sizeof v), MAPH_OK);
        REQUIRE_ST(maph_get_ptr(db, k, strlen(k), &ptr[i], &len[i], &tok[i]), MAPH_OK);
        REQUIRE_ST(maph_uid(db, k, strlen(k), &uid[i]), MAPH_OK);
    }
    for (i = 100; i < 100000; i++) {
        key_of(k, sizeof k, i);
        val_of(v, i);
        REQUIRE_ST(maph_set(db, k, strlen(k), v, sizeof v), MAPH_OK);
    }
    CHECK(slots_of(db) > 100000);
    for (i = 0; i < 100; i++) {
        val_of(v, i);
        CHECK(len[i] == 100 && memcmp(ptr[i], v, 100) == 0);
        CHECK(maph_ptr_valid(db, tok[i]));
        CHECK_ST(maph_get_by_uid(db, uid[i], got, sizeof got, &n), MAPH_OK);
        CHECK(n == 100 && memcmp(got, v, 100) == 0);
    }
    key_of(k, sizeof k, 0);
    REQUIRE_ST(maph_set(db, k, strlen(k), "new", 3), MAPH_OK);
    CHECK(!maph_ptr_valid(db, tok[0]));
    maph_close(db);
}

static void test_a_process_that_opened_before_growth_reads_keys_written_after(void) {
    char p[H_PATH_MAX], k[32];
    unsigned char v[100], got[128];
    maph_t *db = growing("g3", 1ull << 30), *rd = NULL;
    uint64_t i;
    size_t n;
    pid_t pid;
    int status = 0;
    REQUIRE(db != NULL);
    REQUIRE_ST(maph_open(h_path(p, "g3"), MAPH_RDONLY, &rd), MAPH_OK);
    pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        int bad = 0, waited = 0;
        while (maph_get(rd, "done", 4, got, sizeof got, &n) != MAPH_OK && waited < 60000) {
            usleep(1000);
            waited++;
        }
        for (i = 0; i < 50000; i++) {
            key_of(k, sizeof k, i);
            val_of(v, i);
            if (maph_get(rd, k, strlen(k), got, sizeof got, &n) != MAPH_OK || n != 100 ||
                memcmp(got, v, 100) != 0)
                bad++;
        }
        _exit(bad ? 1 : 0);
    }
    for (i = 0; i < 50000; i++) {
        key_of(k, sizeof k, i);
        val_of(v, i);
        REQUIRE_ST(maph_set(db, k, strlen(k), v, sizeof v), MAPH_OK);
    }
    REQUIRE_ST(maph_set(db, "done", 4, "1", 1), MAPH_OK);
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(slots_of(db) > 50000);
    maph_close(rd);
    maph_close(db);
}

static void test_past_its_limit_an_insert_is_full_and_nothing_is_lost(void) {
    maph_t *db = growing("g4", 4u << 20);
    char k[32];
    unsigned char v[100], got[128];
    uint64_t i = 0, j, bad = 0;
    size_t n;
    maph_status st;
    REQUIRE(db != NULL);
    for (;;) {
        key_of(k, sizeof k, i);
        val_of(v, i);
        st = maph_set(db, k, strlen(k), v, sizeof v);
        if (st != MAPH_OK) break;
        i++;
        REQUIRE(i < 1000000);
    }
    CHECK_ST(st, MAPH_E_FULL);
    CHECK(strlen(maph_last_error()) > 0);
    CHECK(i > 10000);
    for (j = 0; j < i; j++) {
        key_of(k, sizeof k, j);
        val_of(v, j);
        if (maph_get(db, k, strlen(k), got, sizeof got, &n) != MAPH_OK || memcmp(got, v, 100) != 0)
            bad++;
    }
    CHECK(bad == 0);
    maph_close(db);
}

static void test_growing_options_out_of_range_are_invalid(void) {
    char p[H_PATH_MAX];
    maph_options o;
    maph_t *db = NULL;
    maph_options_default(&o);
    CHECK(o.max_bytes == 0);
    o.slots = 0;
    o.flags = MAPH_CREATE_SPARSE;
    CHECK_ST(maph_create(h_path(p, "bad1"), &o, &db), MAPH_E_INVALID_ARG);
    maph_options_default(&o);
    o.max_bytes = 1u << 20; /* a limit on a store of fixed size */
    CHECK_ST(maph_create(h_path(p, "bad2"), &o, &db), MAPH_E_INVALID_ARG);
    CHECK(db == NULL);
}

int main(void) {
    RUN(test_every_earlier_key_reads_back_after_each_level);
    RUN(test_pointers_and_uids_from_before_growth_stay_valid);
    RUN(test_a_process_that_opened_before_growth_reads_keys_written_after);
    RUN(test_past_its_limit_an_insert_is_full_and_nothing_is_lost);
    RUN(test_growing_options_out_of_range_are_invalid);
    return h_summary();
}
