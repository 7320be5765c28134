/*
 * Stable UIDs: maph_uid, maph_get_by_uid, maph_get_key_by_uid,
 * maph_del_by_uid. A UID stays valid until its key is deleted, and a UID of
 * a deleted key never reads another key's value.
 */
#include "harness.h"

static maph_status make(const char *name, uint64_t slots, uint32_t max_probes, maph_t **db) {
    char p[H_PATH_MAX];
    maph_options o;
    maph_options_default(&o);
    o.slots = slots;
    o.slot_size = 128;
    o.max_probes = max_probes;
    o.lock_count = 16;
    return maph_create(h_path(p, name), &o, db);
}

static maph_status set_str(maph_t *db, const char *k, const char *v) {
    return maph_set(db, k, strlen(k), v, strlen(v));
}

/* 1 when uid reads back exactly key `k` and value `v`. */
static int uid_is(const maph_t *db, uint64_t uid, const char *k, const char *v) {
    char buf[128];
    size_t n = 0;
    if (maph_get_by_uid(db, uid, buf, sizeof buf, &n) != MAPH_OK) return 0;
    if (n != strlen(v) || memcmp(buf, v, n) != 0) return 0;
    if (maph_get_key_by_uid(db, uid, buf, sizeof buf, &n) != MAPH_OK) return 0;
    return n == strlen(k) && memcmp(buf, k, n) == 0;
}

static void test_uid_reads_back_the_key_and_its_value(void) {
    maph_t *db = NULL;
    uint64_t a = 0, b = 0;
    REQUIRE_ST(make("u.maph", 64, 0, &db), MAPH_OK);
    CHECK_ST(set_str(db, "alpha", "first"), MAPH_OK);
    CHECK_ST(set_str(db, "beta", "second"), MAPH_OK);
    CHECK_ST(maph_uid(db, "alpha", 5, &a), MAPH_OK);
    CHECK_ST(maph_uid(db, "beta", 4, &b), MAPH_OK);
    CHECK(a != b);
    CHECK(uid_is(db, a, "alpha", "first"));
    CHECK(uid_is(db, b, "beta", "second"));
    maph_close(db);
}

static void test_uid_of_missing_key_reports_not_found(void) {
    maph_t *db = NULL;
    uint64_t u = 42;
    REQUIRE_ST(make("u.maph", 64, 0, &db), MAPH_OK);
    CHECK_ST(maph_uid(db, "nope", 4, &u), MAPH_NOT_FOUND);
    CHECK_ST(set_str(db, "yes", "1"), MAPH_OK);
    CHECK_ST(maph_uid(db, "nope", 4, &u), MAPH_NOT_FOUND);
    maph_close(db);
}

static void test_uid_survives_overwrite_optimize_and_reopen(void) {
    char p[H_PATH_MAX];
    maph_t *db = NULL;
    uint64_t u = 0, again = 0;
    char k[16];
    int i;
    REQUIRE_ST(make("u.maph", 256, 0, &db), MAPH_OK);
    for (i = 0; i < 100; i++) {
        snprintf(k, sizeof k, "key%d", i);
        CHECK_ST(set_str(db, k, "v"), MAPH_OK);
    }
    CHECK_ST(maph_uid(db, "key42", 5, &u), MAPH_OK);
    CHECK_ST(set_str(db, "key42", "a longer value now"), MAPH_OK);
    CHECK(uid_is(db, u, "key42", "a longer value now"));
    CHECK_ST(maph_optimize(db), MAPH_OK);
    CHECK(uid_is(db, u, "key42", "a longer value now"));
    CHECK_ST(maph_uid(db, "key42", 5, &again), MAPH_OK);
    CHECK(again == u);
    maph_close(db);
    REQUIRE_ST(maph_open(h_path(p, "u.maph"), MAPH_RDONLY, &db), MAPH_OK);
    CHECK(uid_is(db, u, "key42", "a longer value now"));
    CHECK_ST(maph_uid(db, "key42", 5, &again), MAPH_OK);
    CHECK(again == u);
    maph_close(db);
}

static void test_uid_of_deleted_key_never_reads_the_key_reusing_its_slot(void) {
    maph_t *db = NULL;
    uint64_t ua = 0, ub = 0;
    char buf[64];
    size_t n = 0;
    /* one slot: the second key must reuse the first one's slot */
    REQUIRE_ST(make("u.maph", 1, 1, &db), MAPH_OK);
    CHECK_ST(set_str(db, "a", "value of a"), MAPH_OK);
    CHECK_ST(maph_uid(db, "a", 1, &ua), MAPH_OK);
    CHECK_ST(maph_del(db, "a", 1), MAPH_OK);
    CHECK_ST(maph_get_by_uid(db, ua, buf, sizeof buf, &n), MAPH_NOT_FOUND);
    CHECK_ST(set_str(db, "b", "value of b"), MAPH_OK);
    CHECK_ST(maph_uid(db, "b", 1, &ub), MAPH_OK);
    CHECK(ub != ua);
    CHECK_ST(maph_get_by_uid(db, ua, buf, sizeof buf, &n), MAPH_NOT_FOUND);
    CHECK_ST(maph_get_key_by_uid(db, ua, buf, sizeof buf, &n), MAPH_NOT_FOUND);
    CHECK_ST(maph_del_by_uid(db, ua), MAPH_NOT_FOUND);
    CHECK(uid_is(db, ub, "b", "value of b"));
    /* and the same key inserted again gets a new UID */
    CHECK_ST(maph_del(db, "b", 1), MAPH_OK);
    CHECK_ST(set_str(db, "b", "back"), MAPH_OK);
    {
        uint64_t ub2 = 0;
        CHECK_ST(maph_uid(db, "b", 1, &ub2), MAPH_OK);
        CHECK(ub2 != ub);
        CHECK_ST(maph_get_by_uid(db, ub, buf, sizeof buf, &n), MAPH_NOT_FOUND);
        CHECK(uid_is(db, ub2, "b", "back"));
    }
    maph_close(db);
}

static void test_get_by_uid_with_small_buffer_reports_needed_size(void) {
    maph_t *db = NULL;
    uint64_t u = 0;
    char buf[4];
    size_t n = 0;
    REQUIRE_ST(make("u.maph", 64, 0, &db), MAPH_OK);
    CHECK_ST(set_str(db, "a-long-key", "a-long-value!"), MAPH_OK);
    REQUIRE_ST(maph_uid(db, "a-long-key", 10, &u), MAPH_OK);
    CHECK_ST(maph_get_by_uid(db, u, buf, sizeof buf, &n), MAPH_E_BUFFER_TOO_SMALL);
    CHECK(n == 13);
    n = 0;
    CHECK_ST(maph_get_by_uid(db, u, NULL, 0, &n), MAPH_E_BUFFER_TOO_SMALL);
    CHECK(n == 13);
    n = 0;
    CHECK_ST(maph_get_key_by_uid(db, u, buf, sizeof buf, &n), MAPH_E_BUFFER_TOO_SMALL);
    CHECK(n == 10);
    n = 0;
    CHECK_ST(maph_get_key_by_uid(db, u, NULL, 0, &n), MAPH_E_BUFFER_TOO_SMALL);
    CHECK(n == 10);
    maph_close(db);
}

static void test_uid_naming_no_slot_reports_not_found(void) {
    maph_t *db = NULL;
    char buf[16];
    size_t n = 0;
    REQUIRE_ST(make("u.maph", 64, 0, &db), MAPH_OK);
    CHECK_ST(maph_get_by_uid(db, 0, buf, sizeof buf, &n), MAPH_NOT_FOUND); /* never written */
    CHECK_ST(maph_get_by_uid(db, 64, buf, sizeof buf, &n), MAPH_NOT_FOUND); /* slot 64 of 64 */
    CHECK_ST(maph_get_by_uid(db, UINT64_MAX, buf, sizeof buf, &n), MAPH_NOT_FOUND);
    CHECK_ST(maph_get_key_by_uid(db, 0xFFFFFFFFu, buf, sizeof buf, &n), MAPH_NOT_FOUND);
    CHECK_ST(maph_del_by_uid(db, 64), MAPH_NOT_FOUND);
    CHECK_ST(maph_del_by_uid(db, UINT64_MAX), MAPH_NOT_FOUND);
    maph_close(db);
}

static void test_uid_with_wrong_generation_reports_not_found(void) {
    maph_t *db = NULL;
    uint64_t u = 0;
    char buf[16];
    size_t n = 0;
    REQUIRE_ST(make("u.maph", 64, 0, &db), MAPH_OK);
    CHECK_ST(set_str(db, "k", "v"), MAPH_OK);
    REQUIRE_ST(maph_uid(db, "k", 1, &u), MAPH_OK);
    CHECK_ST(maph_get_by_uid(db, u + ((uint64_t)1 << 32), buf, sizeof buf, &n), MAPH_NOT_FOUND);
    CHECK_ST(maph_del_by_uid(db, u + ((uint64_t)1 << 32)), MAPH_NOT_FOUND);
    CHECK(uid_is(db, u, "k", "v"));
    maph_close(db);
}

static void test_del_by_uid_deletes_that_key_only_once(void) {
    maph_t *db = NULL;
    maph_stats_t s;
    uint64_t u = 0;
    char buf[16];
    size_t n = 0;
    REQUIRE_ST(make("u.maph", 64, 0, &db), MAPH_OK);
    CHECK_ST(set_str(db, "gone", "1"), MAPH_OK);
    CHECK_ST(set_str(db, "kept", "2"), MAPH_OK);
    REQUIRE_ST(maph_uid(db, "gone", 4, &u), MAPH_OK);
    CHECK_ST(maph_del_by_uid(db, u), MAPH_OK);
    CHECK_ST(maph_get(db, "gone", 4, buf, sizeof buf, &n), MAPH_NOT_FOUND);
    CHECK_ST(maph_get_by_uid(db, u, buf, sizeof buf, &n), MAPH_NOT_FOUND);
    CHECK_ST(maph_del_by_uid(db, u), MAPH_NOT_FOUND);
    CHECK_ST(maph_get(db, "kept", 4, buf, sizeof buf, &n), MAPH_OK);
    CHECK_ST(maph_stats(db, &s), MAPH_OK);
    CHECK(s.keys == 1 && s.tombstones == 1);
    maph_close(db);
}

static void test_del_by_uid_through_read_only_handle_reports_read_only(void) {
    char p[H_PATH_MAX];
    maph_t *db = NULL;
    uint64_t u = 0;
    REQUIRE_ST(make("u.maph", 64, 0, &db), MAPH_OK);
    CHECK_ST(set_str(db, "k", "v"), MAPH_OK);
    REQUIRE_ST(maph_uid(db, "k", 1, &u), MAPH_OK);
    maph_close(db);
    REQUIRE_ST(maph_open(h_path(p, "u.maph"), MAPH_RDONLY, &db), MAPH_OK);
    CHECK_ST(maph_del_by_uid(db, u), MAPH_E_READ_ONLY);
    CHECK(uid_is(db, u, "k", "v"));
    maph_close(db);
}

static void test_get_by_uid_of_damaged_slot_reports_corrupt(void) {
    char p[H_PATH_MAX];
    maph_t *db = NULL;
    uint64_t u = 0;
    char buf[64];
    size_t n = 0;
    off_t slot;
    REQUIRE_ST(make("u.maph", 64, 0, &db), MAPH_OK);
    CHECK_ST(set_str(db, "k", "v"), MAPH_OK);
    REQUIRE_ST(maph_uid(db, "k", 1, &u), MAPH_OK);
    maph_close(db);
    slot = h_slot_of(h_path(p, "u.maph"), "k", 1);
    REQUIRE(slot > 0);
    REQUIRE(h_write_u32(p, slot + 12, 100000) == 0); /* val_len beyond the slot */
    REQUIRE_ST(maph_open(p, MAPH_RDONLY, &db), MAPH_OK);
    CHECK_ST(maph_get_by_uid(db, u, buf, sizeof buf, &n), MAPH_E_CORRUPT);
    CHECK_ST(maph_get_key_by_uid(db, u, buf, sizeof buf, &n), MAPH_E_CORRUPT);
    maph_close(db);
}

static void test_get_by_uid_of_slot_left_locked_reports_busy_not_hang(void) {
    char p[H_PATH_MAX];
    maph_t *db = NULL;
    uint64_t u = 0, w;
    char buf[64];
    size_t n = 0;
    off_t slot;
    double t0;
    REQUIRE_ST(make("u.maph", 64, 0, &db), MAPH_OK);
    CHECK_ST(set_str(db, "k", "v"), MAPH_OK);
    REQUIRE_ST(maph_uid(db, "k", 1, &u), MAPH_OK);
    maph_close(db);
    slot = h_slot_of(h_path(p, "u.maph"), "k", 1);
    REQUIRE(slot > 0);
    w = h_read_u64(p, slot);
    REQUIRE(w != 0 && (w & 1) == 0);
    REQUIRE(h_write_u64(p, slot, (w & 0xffffffffu) + 1) == 0); /* locked by entry 0 */
    REQUIRE_ST(maph_open(p, MAPH_RDONLY, &db), MAPH_OK);
    t0 = h_now();
    CHECK_ST(maph_get_by_uid(db, u, buf, sizeof buf, &n), MAPH_E_BUSY);
    CHECK(h_now() - t0 < 20.0);
    maph_close(db);
}

int main(void) {
    RUN(test_uid_reads_back_the_key_and_its_value);
    RUN(test_uid_of_missing_key_reports_not_found);
    RUN(test_uid_survives_overwrite_optimize_and_reopen);
    RUN(test_uid_of_deleted_key_never_reads_the_key_reusing_its_slot);
    RUN(test_get_by_uid_with_small_buffer_reports_needed_size);
    RUN(test_uid_naming_no_slot_reports_not_found);
    RUN(test_uid_with_wrong_generation_reports_not_found);
    RUN(test_del_by_uid_deletes_that_key_only_once);
    RUN(test_del_by_uid_through_read_only_handle_reports_read_only);
    RUN(test_get_by_uid_of_damaged_slot_reports_corrupt);
    RUN(test_get_by_uid_of_slot_left_locked_reports_busy_not_hang);
    return h_summary();
}
