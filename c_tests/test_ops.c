/*
 * Conditional and counted writes, expiry, repair and checking:
 * maph_add, maph_replace, maph_cas, maph_incr, maph_set_ex, maph_expire,
 * maph_ttl, maph_flush_expired, maph_recover, maph_check.
 */
#include <signal.h>
#include <sys/wait.h>

#include "harness.h"

static maph_status make(const char *name, uint64_t slots, maph_t **db) {
    char p[H_PATH_MAX];
    maph_options o;
    maph_options_default(&o);
    o.slots = slots;
    o.slot_size = 128;
    o.lock_count = 64;
    return maph_create(h_path(p, name), &o, db);
}

static maph_status set_str(maph_t *db, const char *k, const char *v) {
    return maph_set(db, k, strlen(k), v, strlen(v));
}

/* 1 when `key` holds exactly the string `want`. */
static int has_str(const maph_t *db, const char *key, const char *want) {
    char buf[128];
    size_t n = 0;
    if (maph_get(db, key, strlen(key), buf, sizeof buf, &n) != MAPH_OK) return 0;
    return n == strlen(want) && memcmp(buf, want, n) == 0;
}

static int absent(const maph_t *db, const char *key) {
    char buf[128];
    size_t n = 0;
    return maph_get(db, key, strlen(key), buf, sizeof buf, &n) == MAPH_NOT_FOUND;
}

static uint64_t violations(const maph_t *db) {
    uint64_t v = UINT64_MAX;
    if (maph_check(db, &v) != MAPH_OK) return UINT64_MAX;
    return v;
}

static void sleep_ms(long ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* ---- add / replace / cas ------------------------------------------------ */

static void test_add_inserts_only_an_absent_key(void) {
    maph_t *db = NULL;
    REQUIRE_ST(make("a.maph", 64, &db), MAPH_OK);
    CHECK_ST(maph_add(db, "k", 1, "first", 5), MAPH_OK);
    CHECK_ST(maph_add(db, "k", 1, "second", 6), MAPH_E_EXISTS);
    CHECK(has_str(db, "k", "first"));
    CHECK_ST(maph_del(db, "k", 1), MAPH_OK);
    CHECK_ST(maph_add(db, "k", 1, "third", 5), MAPH_OK);
    CHECK(has_str(db, "k", "third"));
    CHECK_ST(maph_add(db, "e", 1, NULL, 0), MAPH_OK);
    CHECK(has_str(db, "e", ""));
    CHECK(violations(db) == 0);
    maph_close(db);
}

static void test_replace_changes_only_a_present_key(void) {
    maph_t *db = NULL;
    REQUIRE_ST(make("a.maph", 64, &db), MAPH_OK);
    CHECK_ST(maph_replace(db, "k", 1, "v", 1), MAPH_NOT_FOUND);
    CHECK(absent(db, "k"));
    CHECK_ST(set_str(db, "k", "old"), MAPH_OK);
    CHECK_ST(maph_replace(db, "k", 1, "new value", 9), MAPH_OK);
    CHECK(has_str(db, "k", "new value"));
    maph_close(db);
}

static void test_cas_swaps_only_when_the_value_matches(void) {
    maph_t *db = NULL;
    REQUIRE_ST(make("a.maph", 64, &db), MAPH_OK);
    CHECK_ST(maph_cas(db, "k", 1, "a", 1, "b", 1), MAPH_NOT_FOUND);
    CHECK_ST(set_str(db, "k", "a"), MAPH_OK);
    CHECK_ST(maph_cas(db, "k", 1, "x", 1, "b", 1), MAPH_E_CONFLICT);
    CHECK(has_str(db, "k", "a"));
    CHECK_ST(maph_cas(db, "k", 1, "aa", 2, "b", 1), MAPH_E_CONFLICT); /* a prefix is not equal */
    CHECK_ST(maph_cas(db, "k", 1, NULL, 0, "b", 1), MAPH_E_CONFLICT);
    CHECK(has_str(db, "k", "a"));
    CHECK_ST(maph_cas(db, "k", 1, "a", 1, "b", 1), MAPH_OK);
    CHECK(has_str(db, "k", "b"));
    CHECK_ST(maph_cas(db, "k", 1, "a", 1, "c", 1), MAPH_E_CONFLICT);
    CHECK(has_str(db, "k", "b"));
    /* the empty value is matched by (NULL, 0) */
    CHECK_ST(maph_set(db, "e", 1, NULL, 0), MAPH_OK);
    CHECK_ST(maph_cas(db, "e", 1, NULL, 0, "full", 4), MAPH_OK);
    CHECK(has_str(db, "e", "full"));
    CHECK(maph_last_error()[0] != '\0');
    maph_close(db);
}

static void test_conditional_writes_through_read_only_handle_report_read_only(void) {
    char p[H_PATH_MAX];
    maph_t *db = NULL;
    REQUIRE_ST(make("a.maph", 64, &db), MAPH_OK);
    CHECK_ST(set_str(db, "k", "v"), MAPH_OK);
    maph_close(db);
    REQUIRE_ST(maph_open(h_path(p, "a.maph"), MAPH_RDONLY, &db), MAPH_OK);
    CHECK_ST(maph_add(db, "new", 3, "v", 1), MAPH_E_READ_ONLY);
    CHECK_ST(maph_replace(db, "k", 1, "w", 1), MAPH_E_READ_ONLY);
    CHECK_ST(maph_cas(db, "k", 1, "v", 1, "w", 1), MAPH_E_READ_ONLY);
    CHECK_ST(maph_incr(db, "n", 1, 1, NULL), MAPH_E_READ_ONLY);
    CHECK_ST(maph_set_ex(db, "k", 1, "w", 1, 1000), MAPH_E_READ_ONLY);
    CHECK_ST(maph_expire(db, "k", 1, 1000), MAPH_E_READ_ONLY);
    CHECK_ST(maph_flush_expired(db, 0, NULL), MAPH_E_READ_ONLY);
    CHECK_ST(maph_recover(db, NULL), MAPH_E_READ_ONLY);
    CHECK(has_str(db, "k", "v"));
    CHECK(violations(db) == 0); /* maph_check reads only: fine read-only */
    maph_close(db);
}

static void test_conditional_writes_report_too_large_and_full_as_set_does(void) {
    char p[H_PATH_MAX];
    maph_options o;
    maph_t *db = NULL;
    static char big[70000]; /* larger than the store's 64 KiB heap */
    memset(big, 'b', sizeof big);
    maph_options_default(&o);
    o.slots = 2;
    o.slot_size = 64;
    o.max_probes = 2;
    o.lock_count = 2;
    REQUIRE_ST(maph_create(h_path(p, "f.maph"), &o, &db), MAPH_OK);
    CHECK_ST(maph_add(db, "k", 1, big, sizeof big), MAPH_E_TOO_LARGE);
    CHECK_ST(maph_set_ex(db, "k", 1, big, sizeof big, 1000), MAPH_E_TOO_LARGE);
    CHECK_ST(set_str(db, "k", "v"), MAPH_OK);
    CHECK_ST(maph_replace(db, "k", 1, big, sizeof big), MAPH_E_TOO_LARGE);
    CHECK_ST(maph_cas(db, "k", 1, "v", 1, big, sizeof big), MAPH_E_TOO_LARGE);
    CHECK(has_str(db, "k", "v"));
    CHECK_ST(maph_add(db, "k2", 2, "v", 1), MAPH_OK);
    CHECK_ST(maph_add(db, "k3", 2, "v", 1), MAPH_E_FULL);
    CHECK_ST(maph_incr(db, "k4", 2, 1, NULL), MAPH_E_FULL);
    CHECK_ST(maph_set_ex(db, "k5", 2, "v", 1, 1000), MAPH_E_FULL);
    maph_close(db);
}

/* ---- incr --------------------------------------------------------------- */

static void test_incr_creates_adds_and_stores_8_bytes_little_endian(void) {
    maph_t *db = NULL;
    int64_t v = 0;
    unsigned char buf[16];
    size_t n = 0;
    REQUIRE_ST(make("a.maph", 64, &db), MAPH_OK);
    CHECK_ST(maph_incr(db, "n", 1, 5, &v), MAPH_OK);
    CHECK(v == 5);
    CHECK_ST(maph_incr(db, "n", 1, -7, &v), MAPH_OK);
    CHECK(v == -2);
    CHECK_ST(maph_incr(db, "n", 1, 0, &v), MAPH_OK); /* delta 0 reads */
    CHECK(v == -2);
    CHECK_ST(maph_incr(db, "n", 1, 1000, NULL), MAPH_OK); /* new_value may be NULL */
    CHECK_ST(maph_get(db, "n", 1, buf, sizeof buf, &n), MAPH_OK);
    CHECK(n == 8);
    /* 998 = 0x3e6, little-endian two's complement */
    CHECK(buf[0] == 0xe6 && buf[1] == 0x03 && buf[2] == 0 && buf[7] == 0);
    CHECK_ST(maph_incr(db, "n", 1, -1000, &v), MAPH_OK);
    CHECK(v == -2);
    CHECK_ST(maph_get(db, "n", 1, buf, sizeof buf, &n), MAPH_OK);
    CHECK(n == 8 && buf[0] == 0xfe && buf[7] == 0xff);
    maph_close(db);
}

static void test_incr_with_delta_0_on_absent_key_reports_not_found(void) {
    maph_t *db = NULL;
    int64_t v = 77;
    REQUIRE_ST(make("a.maph", 64, &db), MAPH_OK);
    CHECK_ST(maph_incr(db, "n", 1, 0, &v), MAPH_NOT_FOUND);
    CHECK(absent(db, "n"));
    maph_close(db);
}

static void test_incr_of_value_not_8_bytes_reports_not_integer_and_changes_nothing(void) {
    maph_t *db = NULL;
    int64_t v = 0;
    REQUIRE_ST(make("a.maph", 64, &db), MAPH_OK);
    CHECK_ST(set_str(db, "s", "1234567"), MAPH_OK);
    CHECK_ST(maph_incr(db, "s", 1, 1, &v), MAPH_E_NOT_INTEGER);
    CHECK(has_str(db, "s", "1234567"));
    CHECK_ST(set_str(db, "s", "123456789"), MAPH_OK);
    CHECK_ST(maph_incr(db, "s", 1, 0, &v), MAPH_E_NOT_INTEGER);
    CHECK_ST(set_str(db, "s", ""), MAPH_OK);
    CHECK_ST(maph_incr(db, "s", 1, 1, &v), MAPH_E_NOT_INTEGER);
    CHECK(has_str(db, "s", ""));
    /* any 8 bytes are an integer: "00000000" is 0x3030303030303030 */
    CHECK_ST(set_str(db, "s", "00000000"), MAPH_OK);
    CHECK_ST(maph_incr(db, "s", 1, 0, &v), MAPH_OK);
    CHECK(v == 0x3030303030303030LL);
    maph_close(db);
}

static void test_incr_past_int64_range_reports_overflow_and_changes_nothing(void) {
    maph_t *db = NULL;
    int64_t v = 0;
    REQUIRE_ST(make("a.maph", 64, &db), MAPH_OK);
    CHECK_ST(maph_incr(db, "n", 1, INT64_MAX - 1, &v), MAPH_OK);
    CHECK_ST(maph_incr(db, "n", 1, 1, &v), MAPH_OK);
    CHECK(v == INT64_MAX);
    CHECK_ST(maph_incr(db, "n", 1, 1, &v), MAPH_E_OVERFLOW);
    CHECK_ST(maph_incr(db, "n", 1, INT64_MAX, &v), MAPH_E_OVERFLOW);
    CHECK_ST(maph_incr(db, "n", 1, 0, &v), MAPH_OK);
    CHECK(v == INT64_MAX);
    CHECK_ST(maph_incr(db, "m", 1, INT64_MIN, &v), MAPH_OK);
    CHECK_ST(maph_incr(db, "m", 1, -1, &v), MAPH_E_OVERFLOW);
    CHECK_ST(maph_incr(db, "m", 1, 0, &v), MAPH_OK);
    CHECK(v == INT64_MIN);
    maph_close(db);
}

static void test_incr_from_many_processes_loses_no_add(void) {
    maph_t *db = NULL;
    pid_t pids[3];
    int i, j, status;
    int64_t v = 0;
    REQUIRE_ST(make("a.maph", 64, &db), MAPH_OK);
    fflush(stdout);
    fflush(stderr);
    for (i = 0; i < 3; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            int bad = 0;
            for (j = 0; j < 2000; j++)
                if (maph_incr(db, "counter", 7, 1, NULL) != MAPH_OK) bad++;
            _exit(bad ? 1 : 0);
        }
        CHECK(pids[i] > 0);
    }
    for (j = 0; j < 2000; j++) CHECK_ST(maph_incr(db, "counter", 7, -1, NULL), MAPH_OK);
    for (i = 0; i < 3; i++) {
        if (pids[i] <= 0) continue;
        CHECK(waitpid(pids[i], &status, 0) == pids[i]);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    CHECK_ST(maph_incr(db, "counter", 7, 0, &v), MAPH_OK);
    CHECK(v == 3 * 2000 - 2000);
    maph_close(db);
}

/* ---- expiry ------------------------------------------------------------- */

static void test_set_ex_key_reads_until_its_ttl_then_reads_absent(void) {
    maph_t *db = NULL;
    int64_t ttl = 0;
    uint64_t uid = 0;
    char buf[16];
    size_t n = 0;
    REQUIRE_ST(make("a.maph", 64, &db), MAPH_OK);
    /* TTLs of a second: a loaded machine cannot expire the key before the
     * checks that need it alive. */
    CHECK_ST(maph_set_ex(db, "short", 5, "lived", 5, 1000), MAPH_OK);
    CHECK(has_str(db, "short", "lived"));
    CHECK_ST(maph_ttl(db, "short", 5, &ttl), MAPH_OK);
    CHECK(ttl > 0 && ttl <= 1000);
    CHECK_ST(maph_uid(db, "short", 5, &uid), MAPH_OK);
    sleep_ms(1200);
    CHECK(absent(db, "short"));
    CHECK_ST(maph_ttl(db, "short", 5, &ttl), MAPH_NOT_FOUND);
    CHECK_ST(maph_get_by_uid(db, uid, buf, sizeof buf, &n), MAPH_NOT_FOUND); /* UID stale */
    CHECK_ST(maph_add(db, "short", 5, "again", 5), MAPH_OK); /* absent for add too */
    CHECK(has_str(db, "short", "again"));
    CHECK_ST(maph_ttl(db, "short", 5, &ttl), MAPH_OK);
    CHECK(ttl == -1);
    maph_close(db);
}

static void test_set_ex_with_ttl_0_reports_invalid_arg(void) {
    maph_t *db = NULL;
    REQUIRE_ST(make("a.maph", 64, &db), MAPH_OK);
    CHECK_ST(maph_set_ex(db, "k", 1, "v", 1, 0), MAPH_E_INVALID_ARG);
    CHECK(absent(db, "k"));
    maph_close(db);
}

static void test_ttl_is_minus_1_without_expiry_and_expire_sets_and_clears_it(void) {
    maph_t *db = NULL;
    int64_t ttl = 0;
    REQUIRE_ST(make("a.maph", 64, &db), MAPH_OK);
    CHECK_ST(maph_ttl(db, "k", 1, &ttl), MAPH_NOT_FOUND);
    CHECK_ST(maph_expire(db, "k", 1, 1000), MAPH_NOT_FOUND);
    CHECK_ST(set_str(db, "k", "v"), MAPH_OK);
    CHECK_ST(maph_ttl(db, "k", 1, &ttl), MAPH_OK);
    CHECK(ttl == -1);
    CHECK_ST(maph_expire(db, "k", 1, 60000), MAPH_OK);
    CHECK_ST(maph_ttl(db, "k", 1, &ttl), MAPH_OK);
    CHECK(ttl > 50000 && ttl <= 60000);
    CHECK(has_str(db, "k", "v"));
    CHECK_ST(maph_expire(db, "k", 1, 0), MAPH_OK); /* 0 removes the expiry */
    CHECK_ST(maph_ttl(db, "k", 1, &ttl), MAPH_OK);
    CHECK(ttl == -1);
    maph_close(db);
}

/*
 * Guards against maph_ttl probing without validating its key: an earlier
 * revision answered MAPH_NOT_FOUND for an empty key and for a key longer
 * than a slot. Its errors are documented "as maph_get": MAPH_E_INVALID_ARG
 * and MAPH_E_TOO_LARGE, as maph_get, maph_expire, maph_incr, maph_del and
 * maph_uid answer. Fixed: maph_ttl checks its key first.
 */
static void test_ttl_rejects_empty_and_too_long_keys_like_get(void) {
    char p[H_PATH_MAX];
    maph_options o;
    maph_t *db = NULL;
    static char big[65536]; /* one byte over the longest key */
    int64_t ttl = 0;
    memset(big, 'x', sizeof big);
    maph_options_default(&o);
    o.slots = 16;
    o.slot_size = 64;
    REQUIRE_ST(maph_create(h_path(p, "t.maph"), &o, &db), MAPH_OK);
    CHECK_ST(maph_ttl(db, "k", 0, &ttl), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_ttl(db, big, sizeof big, &ttl), MAPH_E_TOO_LARGE);
    maph_close(db);
}

static void test_replace_and_cas_keep_the_expiry(void) {
    maph_t *db = NULL;
    int64_t ttl = 0;
    REQUIRE_ST(make("a.maph", 64, &db), MAPH_OK);
    CHECK_ST(maph_set_ex(db, "k", 1, "a", 1, 60000), MAPH_OK);
    CHECK_ST(maph_replace(db, "k", 1, "b", 1), MAPH_OK);
    CHECK_ST(maph_ttl(db, "k", 1, &ttl), MAPH_OK);
    CHECK(ttl > 0);
    CHECK_ST(maph_cas(db, "k", 1, "b", 1, "c", 1), MAPH_OK);
    CHECK_ST(maph_ttl(db, "k", 1, &ttl), MAPH_OK);
    CHECK(ttl > 0);
    CHECK(has_str(db, "k", "c"));
    maph_close(db);
}

static void test_expire_makes_a_key_expire(void) {
    maph_t *db = NULL;
    REQUIRE_ST(make("a.maph", 64, &db), MAPH_OK);
    CHECK_ST(set_str(db, "k", "v"), MAPH_OK);
    CHECK_ST(maph_expire(db, "k", 1, 100), MAPH_OK);
    sleep_ms(250);
    CHECK(absent(db, "k"));
    CHECK_ST(maph_expire(db, "k", 1, 1000), MAPH_NOT_FOUND);
    maph_close(db);
}

static void test_flush_expired_deletes_expired_keys_only_and_honours_max_count(void) {
    maph_t *db = NULL;
    maph_stats_t s;
    uint64_t removed = 99;
    char k[16];
    int i;
    REQUIRE_ST(make("a.maph", 256, &db), MAPH_OK);
    for (i = 0; i < 10; i++) {
        snprintf(k, sizeof k, "tmp%d", i);
        CHECK_ST(maph_set_ex(db, k, strlen(k), "x", 1, 1000), MAPH_OK);
        snprintf(k, sizeof k, "keep%d", i);
        CHECK_ST(maph_set(db, k, strlen(k), "y", 1), MAPH_OK);
    }
    CHECK_ST(maph_set_ex(db, "later", 5, "z", 1, 60000), MAPH_OK);
    CHECK_ST(maph_flush_expired(db, 0, &removed), MAPH_OK);
    CHECK(removed == 0); /* nothing has expired yet */
    sleep_ms(1200);
    CHECK_ST(maph_flush_expired(db, 3, &removed), MAPH_OK);
    CHECK(removed == 3);
    CHECK_ST(maph_flush_expired(db, 0, &removed), MAPH_OK);
    CHECK(removed == 7);
    CHECK_ST(maph_flush_expired(db, 0, NULL), MAPH_OK); /* removed may be NULL */
    CHECK_ST(maph_stats(db, &s), MAPH_OK);
    CHECK(s.keys == 11);
    for (i = 0; i < 10; i++) {
        snprintf(k, sizeof k, "keep%d", i);
        CHECK(has_str(db, k, "y"));
    }
    CHECK(has_str(db, "later", "z"));
    CHECK(violations(db) == 0);
    maph_close(db);
}

static void test_expiry_survives_reopen(void) {
    char p[H_PATH_MAX];
    maph_t *db = NULL;
    int64_t ttl = 0;
    REQUIRE_ST(make("a.maph", 64, &db), MAPH_OK);
    CHECK_ST(maph_set_ex(db, "k", 1, "v", 1, 60000), MAPH_OK);
    maph_close(db);
    REQUIRE_ST(maph_open(h_path(p, "a.maph"), MAPH_RDONLY, &db), MAPH_OK);
    CHECK_ST(maph_ttl(db, "k", 1, &ttl), MAPH_OK);
    CHECK(ttl > 50000 && ttl <= 60000);
    maph_close(db);
}

/* ---- recover / check ---------------------------------------------------- */

static void test_check_and_recover_find_nothing_in_a_sound_store(void) {
    maph_t *db = NULL;
    uint64_t v = 99, repaired = 99;
    char k[16];
    int i;
    REQUIRE_ST(make("a.maph", 256, &db), MAPH_OK);
    CHECK_ST(maph_check(db, &v), MAPH_OK);
    CHECK(v == 0);
    for (i = 0; i < 100; i++) {
        snprintf(k, sizeof k, "k%d", i);
        CHECK_ST(set_str(db, k, "v"), MAPH_OK);
    }
    for (i = 0; i < 100; i += 3) {
        snprintf(k, sizeof k, "k%d", i);
        CHECK_ST(maph_del(db, k, strlen(k)), MAPH_OK);
    }
    CHECK_ST(maph_optimize(db), MAPH_OK);
    CHECK_ST(maph_recover(db, &repaired), MAPH_OK);
    CHECK(repaired == 0);
    CHECK_ST(maph_recover(db, NULL), MAPH_OK);
    CHECK_ST(maph_check(db, &v), MAPH_OK);
    CHECK(v == 0);
    maph_close(db);
}

static void test_check_reports_a_damaged_slot(void) {
    char p[H_PATH_MAX];
    maph_t *db = NULL;
    uint64_t v = 0;
    off_t slot;
    REQUIRE_ST(make("a.maph", 64, &db), MAPH_OK);
    CHECK_ST(set_str(db, "k1", "v"), MAPH_OK);
    CHECK_ST(set_str(db, "k2", "v"), MAPH_OK);
    maph_close(db);
    slot = h_slot_of(h_path(p, "a.maph"), "k2", 2);
    REQUIRE(slot > 0);
    REQUIRE(h_write_u32(p, slot + 12, 100000) == 0); /* val_len beyond the slot */
    REQUIRE_ST(maph_open(p, MAPH_RDONLY, &db), MAPH_OK);
    CHECK_ST(maph_check(db, &v), MAPH_OK);
    CHECK(v >= 1);
    CHECK(maph_last_error()[0] != '\0');
    maph_close(db);
}

/* A writer killed at a random instruction: afterwards every key holds a
 * whole value or is absent, maph_recover leaves a store maph_check finds
 * sound, and every key can be written again at once (no lock left held). */
static void test_writer_killed_mid_write_leaves_whole_values_after_recover(void) {
    maph_t *db = NULL;
    char k[16];
    unsigned char buf[128];
    int round, i, torn = 0;
    uint64_t v = 99;
    REQUIRE_ST(make("k.maph", 256, &db), MAPH_OK);
    for (round = 0; round < 5; round++) {
        int status = 0;
        pid_t pid;
        fflush(stdout);
        fflush(stderr);
        pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            unsigned char val[96];
            unsigned long j;
            for (j = 0;; j++) {
                size_t len = 1 + (j * 7) % 90;
                int key = (int)(j % 50);
                char kk[16];
                memset(val, (int)(len & 0xff), len);
                snprintf(kk, sizeof kk, "k%d", key);
                if (j % 5 == 4) (void)maph_del(db, kk, strlen(kk));
                else (void)maph_set(db, kk, strlen(kk), val, len);
            }
        }
        sleep_ms(20 + round * 13);
        kill(pid, SIGKILL);
        CHECK(waitpid(pid, &status, 0) == pid);
        CHECK(WIFSIGNALED(status));
        CHECK_ST(maph_recover(db, NULL), MAPH_OK);
        CHECK_ST(maph_check(db, &v), MAPH_OK);
        CHECK(v == 0);
        for (i = 0; i < 50; i++) {
            size_t n = 0, j;
            maph_status st;
            snprintf(k, sizeof k, "k%d", i);
            st = maph_get(db, k, strlen(k), buf, sizeof buf, &n);
            if (st == MAPH_NOT_FOUND) continue;
            if (st != MAPH_OK || n == 0 || n > 90) {
                torn++;
                continue;
            }
            for (j = 0; j < n; j++)
                if (buf[j] != (unsigned char)(n & 0xff)) {
                    torn++;
                    break;
                }
        }
        CHECK(torn == 0);
        for (i = 0; i < 50; i++) {
            snprintf(k, sizeof k, "k%d", i);
            CHECK_ST(maph_set(db, k, strlen(k), "ok", 2), MAPH_OK);
        }
    }
    maph_close(db);
}

int main(void) {
    RUN(test_add_inserts_only_an_absent_key);
    RUN(test_replace_changes_only_a_present_key);
    RUN(test_cas_swaps_only_when_the_value_matches);
    RUN(test_conditional_writes_through_read_only_handle_report_read_only);
    RUN(test_conditional_writes_report_too_large_and_full_as_set_does);
    RUN(test_incr_creates_adds_and_stores_8_bytes_little_endian);
    RUN(test_incr_with_delta_0_on_absent_key_reports_not_found);
    RUN(test_incr_of_value_not_8_bytes_reports_not_integer_and_changes_nothing);
    RUN(test_incr_past_int64_range_reports_overflow_and_changes_nothing);
    RUN(test_incr_from_many_processes_loses_no_add);
    RUN(test_set_ex_key_reads_until_its_ttl_then_reads_absent);
    RUN(test_set_ex_with_ttl_0_reports_invalid_arg);
    RUN(test_ttl_is_minus_1_without_expiry_and_expire_sets_and_clears_it);
    RUN(test_ttl_rejects_empty_and_too_long_keys_like_get);
    RUN(test_replace_and_cas_keep_the_expiry);
    RUN(test_expire_makes_a_key_expire);
    RUN(test_flush_expired_deletes_expired_keys_only_and_honours_max_count);
    RUN(test_expiry_survives_reopen);
    RUN(test_check_and_recover_find_nothing_in_a_sound_store);
    RUN(test_check_reports_a_damaged_slot);
    RUN(test_writer_killed_mid_write_leaves_whole_values_after_recover);
    return h_summary();
}
