/*
 * MAPH_E_INVALID_ARG: a NULL for every required pointer of every function,
 * empty keys, NULL keys with a length, unknown open flags, options out of
 * range. Each case also checks that nothing was done (no file, no key).
 */
#include "harness.h"

/* A sentinel that is not NULL, to see out-pointers reset to NULL. */
static maph_t *const NOT_NULL = (maph_t *)(uintptr_t)0x1000;

static int exists(const char *p) {
    struct stat st;
    return lstat(p, &st) == 0;
}

static maph_t *open_small(void) {
    char p[H_PATH_MAX];
    maph_t *db = NULL;
    maph_options o;
    maph_options_default(&o);
    o.slots = 64;
    o.slot_size = 128;
    o.lock_count = 64;
    if (maph_create(h_path(p, "a.maph"), &o, &db) != MAPH_OK) return NULL;
    if (maph_set(db, "k", 1, "v", 1) != MAPH_OK) {
        maph_close(db);
        return NULL;
    }
    return db;
}

static uint64_t key_count(const maph_t *db) {
    maph_stats_t s;
    if (maph_stats(db, &s) != MAPH_OK) return UINT64_MAX;
    return s.keys;
}

/* Expects maph_create(path, o) to fail with INVALID_ARG, set *out to NULL,
 * leave no file and leave a message. */
static void expect_bad_options(const char *file, int line, const char *what,
                               const maph_options *o) {
    char p[H_PATH_MAX];
    maph_t *db = NOT_NULL;
    uint32_t st = maph_create(h_path(p, "bad.maph"), o, &db);
    if (!h_check_st(file, line, what, st, MAPH_E_INVALID_ARG)) {
        if (st == MAPH_OK) maph_close(db);
        unlink(p);
        return;
    }
    if (db != NULL) h_fail(file, line, "*out reset to NULL after bad options");
    if (exists(p)) h_fail(file, line, "no file left after bad options");
    if (maph_last_error()[0] == '\0') h_fail(file, line, "a message in maph_last_error");
}
#define EXPECT_BAD_OPTIONS(what, o) expect_bad_options(__FILE__, __LINE__, what, o)

static void test_create_rejects_null_path_and_null_out(void) {
    char p[H_PATH_MAX];
    maph_t *db = NOT_NULL;
    CHECK_ST(maph_create(NULL, NULL, &db), MAPH_E_INVALID_ARG);
    CHECK(db == NULL);
    CHECK_ST(maph_create(h_path(p, "x.maph"), NULL, NULL), MAPH_E_INVALID_ARG);
    CHECK(!exists(p));
    CHECK_ST(maph_create(NULL, NULL, NULL), MAPH_E_INVALID_ARG);
}

static void test_create_rejects_slot_size_not_a_power_of_two(void) {
    maph_options o;
    maph_options_default(&o);
    o.slots = 16;
    o.slot_size = 100;
    EXPECT_BAD_OPTIONS("slot_size 100", &o);
    o.slot_size = 513;
    EXPECT_BAD_OPTIONS("slot_size 513", &o);
    o.slot_size = 0;
    EXPECT_BAD_OPTIONS("slot_size 0", &o);
}

static void test_create_rejects_slot_size_below_64(void) {
    maph_options o;
    maph_options_default(&o);
    o.slots = 16;
    o.slot_size = 32;
    EXPECT_BAD_OPTIONS("slot_size 32", &o);
    o.slot_size = 1;
    EXPECT_BAD_OPTIONS("slot_size 1", &o);
}

static void test_create_rejects_slot_size_above_65536(void) {
    maph_options o;
    maph_options_default(&o);
    o.slots = 16;
    o.slot_size = 131072;
    EXPECT_BAD_OPTIONS("slot_size 131072", &o);
    o.slot_size = 0x80000000u;
    EXPECT_BAD_OPTIONS("slot_size 2^31", &o);
}

static void test_create_accepts_slot_sizes_64_and_65536(void) {
    char p[H_PATH_MAX];
    maph_t *db = NULL;
    maph_options o;
    maph_options_default(&o);
    o.slots = 4;
    o.slot_size = 64;
    CHECK_ST(maph_create(h_path(p, "64.maph"), &o, &db), MAPH_OK);
    maph_close(db);
    o.slot_size = 65536;
    CHECK_ST(maph_create(h_path(p, "65536.maph"), &o, &db), MAPH_OK);
    maph_close(db);
}

/* slots 0 is a growing store (test_growth.c). */
static void test_create_rejects_more_than_2_pow_32_minus_1_slots(void) {
    maph_options o;
    maph_options_default(&o);
    o.slots = (uint64_t)1 << 32;
    o.max_probes = 1;
    EXPECT_BAD_OPTIONS("slots 2^32", &o);
}

static void test_create_rejects_max_probes_above_slot_count(void) {
    char p[H_PATH_MAX];
    maph_t *db = NULL;
    maph_options o;
    maph_options_default(&o);
    o.slots = 8;
    o.max_probes = 9;
    EXPECT_BAD_OPTIONS("max_probes 9 > slots 8", &o);
    o.max_probes = UINT32_MAX;
    EXPECT_BAD_OPTIONS("max_probes 2^32-1 > slots 8", &o);
    o.max_probes = 8;
    CHECK_ST(maph_create(h_path(p, "ok.maph"), &o, &db), MAPH_OK);
    maph_close(db);
}

static void test_create_rejects_lock_count_not_a_power_of_two_or_too_big(void) {
    maph_options o;
    maph_options_default(&o);
    o.slots = 8;
    o.lock_count = 3;
    EXPECT_BAD_OPTIONS("lock_count 3", &o);
    o.lock_count = (1u << 20) * 2;
    EXPECT_BAD_OPTIONS("lock_count 2^21", &o);
}

static void test_create_rejects_non_zero_reserved_options(void) {
    int i;
    for (i = 0; i < 1; i++) {
        maph_options o;
        maph_options_default(&o);
        o.slots = 8;
        o.reserved[i] = 1;
        EXPECT_BAD_OPTIONS("reserved[i] = 1", &o);
        o.reserved[i] = UINT64_MAX;
        EXPECT_BAD_OPTIONS("reserved[i] = ~0", &o);
    }
}

static void test_open_rejects_null_path_and_null_out(void) {
    char p[H_PATH_MAX];
    maph_t *db = NOT_NULL;
    maph_t *made = open_small();
    REQUIRE(made != NULL);
    maph_close(made);
    CHECK_ST(maph_open(NULL, MAPH_RDONLY, &db), MAPH_E_INVALID_ARG);
    CHECK(db == NULL);
    CHECK_ST(maph_open(h_path(p, "a.maph"), MAPH_RDONLY, NULL), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_open(p, MAPH_RDWR, NULL), MAPH_E_INVALID_ARG);
}

static void test_open_rejects_flags_other_than_rdonly_or_rdwr(void) {
    char p[H_PATH_MAX];
    static const uint32_t bad[] = {0, MAPH_RDONLY | MAPH_RDWR, 4, 0x80000000u, UINT32_MAX};
    size_t i;
    maph_t *made = open_small();
    REQUIRE(made != NULL);
    maph_close(made);
    h_path(p, "a.maph");
    CHECK(MAPH_RDONLY == 1 && MAPH_RDWR == 2);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        maph_t *db = NOT_NULL;
        CHECK_ST(maph_open(p, bad[i], &db), MAPH_E_INVALID_ARG);
        CHECK(db == NULL);
    }
}

static void test_get_rejects_null_db_key_val_len_and_empty_key(void) {
    char buf[8];
    size_t n = 0;
    maph_t *db = open_small();
    REQUIRE(db != NULL);
    CHECK_ST(maph_get(NULL, "k", 1, buf, sizeof buf, &n), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_get(db, NULL, 1, buf, sizeof buf, &n), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_get(db, NULL, 0, buf, sizeof buf, &n), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_get(db, "k", 0, buf, sizeof buf, &n), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_get(db, "k", 1, buf, sizeof buf, NULL), MAPH_E_INVALID_ARG);
    /* a NULL buffer is allowed only with capacity 0 */
    CHECK_ST(maph_get(db, "k", 1, NULL, 8, &n), MAPH_E_INVALID_ARG);
    /* a length no object can have */
    CHECK_ST(maph_get(db, "k", SIZE_MAX, buf, sizeof buf, &n), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_get(db, "k", 1, buf, sizeof buf, &n), MAPH_OK);
    maph_close(db);
}

static void test_get_ptr_rejects_every_null_pointer_and_empty_key(void) {
    const void *v = NULL;
    size_t n = 0;
    uint64_t tok = 0;
    maph_t *db = open_small();
    REQUIRE(db != NULL);
    CHECK_ST(maph_get_ptr(NULL, "k", 1, &v, &n, &tok), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_get_ptr(db, NULL, 1, &v, &n, &tok), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_get_ptr(db, NULL, 0, &v, &n, &tok), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_get_ptr(db, "k", 0, &v, &n, &tok), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_get_ptr(db, "k", 1, NULL, &n, &tok), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_get_ptr(db, "k", 1, &v, NULL, &tok), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_get_ptr(db, "k", 1, &v, &n, NULL), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_get_ptr(db, "k", SIZE_MAX, &v, &n, &tok), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_get_ptr(db, "k", 1, &v, &n, &tok), MAPH_OK);
    maph_close(db);
}

static void test_set_rejects_null_db_key_empty_key_and_null_value_with_length(void) {
    maph_t *db = open_small();
    REQUIRE(db != NULL);
    CHECK_ST(maph_set(NULL, "a", 1, "v", 1), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_set(db, NULL, 1, "v", 1), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_set(db, NULL, 0, "v", 1), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_set(db, "a", 0, "v", 1), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_set(db, "a", 1, NULL, 1), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_set(db, "a", SIZE_MAX, "v", 1), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_set(db, "a", 1, "v", SIZE_MAX), MAPH_E_INVALID_ARG);
    CHECK(key_count(db) == 1);
    maph_close(db);
}

static void test_del_rejects_null_db_key_and_empty_key(void) {
    maph_t *db = open_small();
    REQUIRE(db != NULL);
    CHECK_ST(maph_del(NULL, "k", 1), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_del(db, NULL, 1), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_del(db, NULL, 0), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_del(db, "k", 0), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_del(db, "k", SIZE_MAX), MAPH_E_INVALID_ARG);
    CHECK(key_count(db) == 1);
    maph_close(db);
}

static void test_sync_rejects_null_db(void) {
    CHECK_ST(maph_sync(NULL), MAPH_E_INVALID_ARG);
}

static void test_stats_rejects_null_db_and_null_out(void) {
    maph_stats_t s;
    maph_t *db = open_small();
    REQUIRE(db != NULL);
    CHECK_ST(maph_stats(NULL, &s), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_stats(db, NULL), MAPH_E_INVALID_ARG);
    maph_close(db);
}

static void test_invalid_arg_failures_leave_a_message(void) {
    maph_t *db = open_small();
    REQUIRE(db != NULL);
    CHECK_ST(maph_set(db, "", 0, "v", 1), MAPH_E_INVALID_ARG);
    CHECK(maph_last_error()[0] != '\0');
    CHECK(strstr(maph_last_error(), "key") != NULL);
    maph_close(db);
}

static void test_optimize_rejects_null_db(void) {
    CHECK_ST(maph_optimize(NULL), MAPH_E_INVALID_ARG);
}

static void test_uid_rejects_null_db_key_uid_and_empty_key(void) {
    uint64_t u = 0;
    maph_t *db = open_small();
    REQUIRE(db != NULL);
    CHECK_ST(maph_uid(NULL, "k", 1, &u), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_uid(db, NULL, 1, &u), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_uid(db, NULL, 0, &u), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_uid(db, "k", 0, &u), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_uid(db, "k", 1, NULL), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_uid(db, "k", 1, &u), MAPH_OK);
    maph_close(db);
}

static void test_uid_reads_reject_null_db_length_and_null_buffer_with_capacity(void) {
    uint64_t u = 0;
    char buf[8];
    size_t n = 0;
    maph_t *db = open_small();
    REQUIRE(db != NULL);
    REQUIRE_ST(maph_uid(db, "k", 1, &u), MAPH_OK);
    CHECK_ST(maph_get_by_uid(NULL, u, buf, sizeof buf, &n), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_get_by_uid(db, u, buf, sizeof buf, NULL), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_get_by_uid(db, u, NULL, 8, &n), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_get_key_by_uid(NULL, u, buf, sizeof buf, &n), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_get_key_by_uid(db, u, buf, sizeof buf, NULL), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_get_key_by_uid(db, u, NULL, 8, &n), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_del_by_uid(NULL, u), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_get_by_uid(db, u, buf, sizeof buf, &n), MAPH_OK);
    CHECK(key_count(db) == 1);
    maph_close(db);
}

static void test_mget_rejects_null_db_and_each_null_array(void) {
    const void *keys[1] = {"k"};
    size_t klens[1] = {1}, caps[1] = {8}, lens[1] = {0};
    char out[8];
    void *bufs[1] = {out};
    maph_status st[1] = {0};
    maph_t *db = open_small();
    REQUIRE(db != NULL);
    CHECK_ST(maph_mget(NULL, 1, keys, klens, bufs, caps, lens, st), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_mget(NULL, 0, keys, klens, bufs, caps, lens, st), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_mget(db, 1, NULL, klens, bufs, caps, lens, st), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_mget(db, 1, keys, NULL, bufs, caps, lens, st), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_mget(db, 1, keys, klens, NULL, caps, lens, st), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_mget(db, 1, keys, klens, bufs, NULL, lens, st), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_mget(db, 1, keys, klens, bufs, caps, NULL, st), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_mget(db, 1, keys, klens, bufs, caps, lens, NULL), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_mget(db, 1, keys, klens, bufs, caps, lens, st), MAPH_OK);
    CHECK_ST(st[0], MAPH_OK);
    CHECK(lens[0] == 1 && out[0] == 'v');
    maph_close(db);
}

static void test_mset_rejects_null_db_and_each_null_array(void) {
    const void *keys[1] = {"new"}, *vals[1] = {"v"};
    size_t klens[1] = {3}, vlens[1] = {1};
    maph_status st[1] = {0};
    maph_t *db = open_small();
    REQUIRE(db != NULL);
    CHECK_ST(maph_mset(NULL, 1, keys, klens, vals, vlens, st), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_mset(NULL, 0, keys, klens, vals, vlens, st), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_mset(db, 1, NULL, klens, vals, vlens, st), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_mset(db, 1, keys, NULL, vals, vlens, st), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_mset(db, 1, keys, klens, NULL, vlens, st), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_mset(db, 1, keys, klens, vals, NULL, st), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_mset(db, 1, keys, klens, vals, vlens, NULL), MAPH_E_INVALID_ARG);
    CHECK(key_count(db) == 1);
    CHECK_ST(maph_mset(db, 1, keys, klens, vals, vlens, st), MAPH_OK);
    CHECK_ST(st[0], MAPH_OK);
    CHECK(key_count(db) == 2);
    maph_close(db);
}

static void test_conditional_writes_reject_null_db_key_empty_key_and_null_value(void) {
    maph_t *db = open_small();
    REQUIRE(db != NULL);
    CHECK_ST(maph_add(NULL, "a", 1, "v", 1), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_add(db, NULL, 1, "v", 1), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_add(db, "a", 0, "v", 1), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_add(db, "a", 1, NULL, 1), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_replace(NULL, "k", 1, "v", 1), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_replace(db, NULL, 1, "v", 1), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_replace(db, "k", 0, "v", 1), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_replace(db, "k", 1, NULL, 1), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_cas(NULL, "k", 1, "v", 1, "w", 1), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_cas(db, NULL, 1, "v", 1, "w", 1), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_cas(db, "k", 0, "v", 1, "w", 1), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_cas(db, "k", 1, NULL, 1, "w", 1), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_cas(db, "k", 1, "v", 1, NULL, 1), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_set_ex(NULL, "a", 1, "v", 1, 1000), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_set_ex(db, NULL, 1, "v", 1, 1000), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_set_ex(db, "a", 0, "v", 1, 1000), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_set_ex(db, "a", 1, NULL, 1, 1000), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_set_ex(db, "a", 1, "v", 1, 0), MAPH_E_INVALID_ARG);
    CHECK(key_count(db) == 1);
    {
        char buf[8];
        size_t n = 0;
        CHECK_ST(maph_get(db, "k", 1, buf, sizeof buf, &n), MAPH_OK);
        CHECK(n == 1 && buf[0] == 'v');
    }
    maph_close(db);
}

static void test_incr_expire_and_ttl_reject_null_db_key_and_empty_key(void) {
    int64_t v = 0;
    maph_t *db = open_small();
    REQUIRE(db != NULL);
    CHECK_ST(maph_incr(NULL, "n", 1, 1, &v), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_incr(db, NULL, 1, 1, &v), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_incr(db, "n", 0, 1, &v), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_expire(NULL, "k", 1, 10), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_expire(db, NULL, 1, 10), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_expire(db, "k", 0, 10), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_ttl(NULL, "k", 1, &v), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_ttl(db, NULL, 1, &v), MAPH_E_INVALID_ARG);
    /* maph_ttl with an empty key: test_ops.c,
     * test_ttl_rejects_empty_and_too_long_keys_like_get */
    CHECK_ST(maph_ttl(db, "k", 1, NULL), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_ttl(db, "k", 1, &v), MAPH_OK);
    CHECK(v == -1);
    CHECK(key_count(db) == 1);
    maph_close(db);
}

static void test_flush_recover_and_check_reject_null_db_and_null_violations(void) {
    uint64_t n = 0;
    maph_t *db = open_small();
    REQUIRE(db != NULL);
    CHECK_ST(maph_flush_expired(NULL, 0, &n), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_recover(NULL, &n), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_check(NULL, &n), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_check(db, NULL), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_check(db, &n), MAPH_OK);
    CHECK(n == 0);
    maph_close(db);
}

static void test_shm_functions_reject_null_name_null_out_and_bad_flags(void) {
    maph_t *db = NOT_NULL;
    CHECK_ST(maph_shm_create(NULL, NULL, &db), MAPH_E_INVALID_ARG);
    CHECK(db == NULL);
    CHECK_ST(maph_shm_create("maph-ctest-null-out", NULL, NULL), MAPH_E_INVALID_ARG);
    db = NOT_NULL;
    CHECK_ST(maph_shm_open_or_create(NULL, NULL, &db), MAPH_E_INVALID_ARG);
    CHECK(db == NULL);
    CHECK_ST(maph_shm_open_or_create("maph-ctest-null-out", NULL, NULL), MAPH_E_INVALID_ARG);
    db = NOT_NULL;
    CHECK_ST(maph_shm_open(NULL, MAPH_RDONLY, &db), MAPH_E_INVALID_ARG);
    CHECK(db == NULL);
    CHECK_ST(maph_shm_open("maph-ctest-null-out", MAPH_RDONLY, NULL), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_shm_open("maph-ctest-null-out", 0, &db), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_shm_open("maph-ctest-null-out", 3, &db), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_shm_unlink(NULL), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_create_anonymous(NULL, NULL), MAPH_E_INVALID_ARG);
    CHECK(access("/dev/shm/maph-ctest-null-out", F_OK) != 0);
}

int main(void) {
    RUN(test_create_rejects_null_path_and_null_out);
    RUN(test_create_rejects_slot_size_not_a_power_of_two);
    RUN(test_create_rejects_slot_size_below_64);
    RUN(test_create_rejects_slot_size_above_65536);
    RUN(test_create_accepts_slot_sizes_64_and_65536);
    RUN(test_create_rejects_more_than_2_pow_32_minus_1_slots);
    RUN(test_create_rejects_max_probes_above_slot_count);
    RUN(test_create_rejects_lock_count_not_a_power_of_two_or_too_big);
    RUN(test_create_rejects_non_zero_reserved_options);
    RUN(test_open_rejects_null_path_and_null_out);
    RUN(test_open_rejects_flags_other_than_rdonly_or_rdwr);
    RUN(test_get_rejects_null_db_key_val_len_and_empty_key);
    RUN(test_get_ptr_rejects_every_null_pointer_and_empty_key);
    RUN(test_set_rejects_null_db_key_empty_key_and_null_value_with_length);
    RUN(test_del_rejects_null_db_key_and_empty_key);
    RUN(test_sync_rejects_null_db);
    RUN(test_stats_rejects_null_db_and_null_out);
    RUN(test_invalid_arg_failures_leave_a_message);
    RUN(test_optimize_rejects_null_db);
    RUN(test_uid_rejects_null_db_key_uid_and_empty_key);
    RUN(test_uid_reads_reject_null_db_length_and_null_buffer_with_capacity);
    RUN(test_mget_rejects_null_db_and_each_null_array);
    RUN(test_mset_rejects_null_db_and_each_null_array);
    RUN(test_conditional_writes_reject_null_db_key_empty_key_and_null_value);
    RUN(test_incr_expire_and_ttl_reject_null_db_key_and_empty_key);
    RUN(test_flush_recover_and_check_reject_null_db_and_null_violations);
    RUN(test_shm_functions_reject_null_name_null_out_and_bad_flags);
    return h_summary();
}
