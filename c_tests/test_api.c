/*
 * The everyday API: options, create/open/close, get/set/del, zero-copy
 * reads, stats, sync, persistence, binary data, messages.
 */
#include "harness.h"

/* A small store at h_dir/name: `slots` slots of `slot_size` bytes. */
static maph_status small_store(const char *name, uint64_t slots, uint32_t slot_size,
                               maph_t **out) {
    char p[H_PATH_MAX];
    maph_options o;
    maph_options_default(&o);
    o.slots = slots;
    o.slot_size = slot_size;
    o.lock_count = 64;
    return maph_create(h_path(p, name), &o, out);
}

static maph_status set_str(maph_t *db, const char *k, const char *v) {
    return maph_set(db, k, strlen(k), v, strlen(v));
}

/* 1 when `key` holds exactly the string `want`. */
static int has_str(const maph_t *db, const char *key, const char *want) {
    char buf[1024];
    size_t n = 0;
    if (maph_get(db, key, strlen(key), buf, sizeof buf, &n) != MAPH_OK) return 0;
    return n == strlen(want) && memcmp(buf, want, n) == 0;
}

static void test_options_default_fills_documented_defaults(void) {
    maph_options o;
    int i;
    memset(&o, 0xAB, sizeof o);
    maph_options_default(&o);
    CHECK(o.slots == 65536);
    CHECK(o.slot_size == 128);
    CHECK(o.mode == 0600);
    /* "max probes min(1024, slots)", "4096 lock entries", "a random seed":
     * either the value itself or 0, which the fields document as "pick it". */
    CHECK(o.max_probes == 0 || o.max_probes == 1024);
    CHECK(o.lock_count == 0 || o.lock_count == 4096);
    CHECK(o.heap_bytes == 0);
    CHECK(o.max_bytes == 0);
    for (i = 0; i < 1; i++) CHECK(o.reserved[i] == 0);
    CHECK(o.flags == 0);
}

static void test_options_default_with_null_does_not_crash(void) {
    maph_options_default(NULL);
    CHECK(1);
}

static void test_create_with_null_options_uses_defaults(void) {
    char p[H_PATH_MAX];
    maph_t *db = NULL;
    maph_stats_t s;
    struct stat st;
    REQUIRE_ST(maph_create(h_path(p, "d.maph"), NULL, &db), MAPH_OK);
    REQUIRE(db != NULL);
    CHECK_ST(maph_stats(db, &s), MAPH_OK);
    CHECK(s.slots == 65536);
    CHECK(s.slot_size == 128);
    CHECK(s.slot_capacity == s.slot_size - 16);
    CHECK(s.max_probes == 1024);
    CHECK(s.keys == 0 && s.tombstones == 0 && s.longest_probe == 0);
    CHECK(s.load_factor == 0.0);
    CHECK(s.generation == 0);
    /* 4096 header + 4096 locks * 16 (page-rounded) + slots * slot_size */
    /* 4096 header + 4096 locks * 16 (page-rounded) + slots * slot_size, plus
     * the two MPHF banks of the extra section (which maph_create's comment
     * in maph.h leaves out) */
    CHECK(s.file_bytes >= 4096u + 4096u * 16u + 65536u * 128u);
    CHECK(stat(p, &st) == 0 && (uint64_t)st.st_size == s.file_bytes);
    maph_close(db);
}

static void test_new_file_has_mode_0600_despite_umask_022(void) {
    char p[H_PATH_MAX];
    maph_t *db = NULL;
    struct stat st;
    mode_t old = umask(022);
    REQUIRE_ST(maph_create(h_path(p, "m.maph"), NULL, &db), MAPH_OK);
    umask(old);
    CHECK(stat(p, &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);
    CHECK(S_ISREG(st.st_mode));
    maph_close(db);
}

static void test_mode_option_is_applied_through_umask(void) {
    char p[H_PATH_MAX];
    maph_t *db = NULL;
    maph_options o;
    struct stat st;
    mode_t old = umask(022);
    maph_options_default(&o);
    o.slots = 16;
    o.mode = 0666;
    REQUIRE_ST(maph_create(h_path(p, "m.maph"), &o, &db), MAPH_OK);
    umask(old);
    CHECK(stat(p, &st) == 0 && (st.st_mode & 07777) == 0644);
    maph_close(db);
}

static void test_create_leaves_no_temporary_file_behind(void) {
    maph_t *db = NULL;
    DIR *d;
    struct dirent *e;
    int entries = 0;
    REQUIRE_ST(small_store("only.maph", 16, 64, &db), MAPH_OK);
    maph_close(db);
    d = opendir(h_dir);
    REQUIRE(d != NULL);
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        entries++;
        CHECK(strcmp(e->d_name, "only.maph") == 0);
    }
    closedir(d);
    CHECK(entries == 1);
}

static void test_set_then_get_returns_the_same_bytes(void) {
    maph_t *db = NULL;
    char buf[64];
    size_t n = 0;
    REQUIRE_ST(small_store("a.maph", 64, 128, &db), MAPH_OK);
    CHECK_ST(maph_set(db, "hello", 5, "world", 5), MAPH_OK);
    CHECK_ST(maph_get(db, "hello", 5, buf, sizeof buf, &n), MAPH_OK);
    CHECK(n == 5 && memcmp(buf, "world", 5) == 0);
    maph_close(db);
}

static void test_get_of_missing_key_reports_not_found(void) {
    maph_t *db = NULL;
    char buf[16];
    size_t n = 0;
    REQUIRE_ST(small_store("a.maph", 64, 128, &db), MAPH_OK);
    CHECK_ST(maph_get(db, "nope", 4, buf, sizeof buf, &n), MAPH_NOT_FOUND);
    CHECK_ST(set_str(db, "yes", "1"), MAPH_OK);
    CHECK_ST(maph_get(db, "nope", 4, buf, sizeof buf, &n), MAPH_NOT_FOUND);
    /* a prefix or an extension of a present key is another key */
    CHECK_ST(maph_get(db, "ye", 2, buf, sizeof buf, &n), MAPH_NOT_FOUND);
    CHECK_ST(maph_get(db, "yess", 4, buf, sizeof buf, &n), MAPH_NOT_FOUND);
    maph_close(db);
}

static void test_get_with_small_buffer_reports_needed_size(void) {
    maph_t *db = NULL;
    char buf[8];
    size_t n = 0;
    REQUIRE_ST(small_store("a.maph", 64, 128, &db), MAPH_OK);
    CHECK_ST(set_str(db, "k", "0123456789abcdef"), MAPH_OK);
    CHECK_ST(maph_get(db, "k", 1, buf, sizeof buf, &n), MAPH_E_BUFFER_TOO_SMALL);
    CHECK(n == 16);
    n = 0;
    CHECK_ST(maph_get(db, "k", 1, buf, 15, &n), MAPH_E_BUFFER_TOO_SMALL);
    CHECK(n == 16);
    maph_close(db);
}

static void test_get_with_null_buffer_and_zero_capacity_asks_the_size(void) {
    maph_t *db = NULL;
    size_t n = 0;
    REQUIRE_ST(small_store("a.maph", 64, 128, &db), MAPH_OK);
    CHECK_ST(set_str(db, "k", "value"), MAPH_OK);
    CHECK_ST(maph_get(db, "k", 1, NULL, 0, &n), MAPH_E_BUFFER_TOO_SMALL);
    CHECK(n == 5);
    /* and an empty value fits a NULL buffer */
    CHECK_ST(maph_set(db, "e", 1, NULL, 0), MAPH_OK);
    n = 99;
    CHECK_ST(maph_get(db, "e", 1, NULL, 0, &n), MAPH_OK);
    CHECK(n == 0);
    maph_close(db);
}

static void test_get_with_exactly_sized_buffer_succeeds(void) {
    maph_t *db = NULL;
    char buf[5];
    size_t n = 0;
    REQUIRE_ST(small_store("a.maph", 64, 128, &db), MAPH_OK);
    CHECK_ST(set_str(db, "k", "value"), MAPH_OK);
    CHECK_ST(maph_get(db, "k", 1, buf, sizeof buf, &n), MAPH_OK);
    CHECK(n == 5 && memcmp(buf, "value", 5) == 0);
    maph_close(db);
}

static void test_overwrite_with_longer_then_shorter_value_leaves_no_stale_bytes(void) {
    maph_t *db = NULL;
    maph_stats_t s;
    REQUIRE_ST(small_store("a.maph", 64, 256, &db), MAPH_OK);
    CHECK_ST(set_str(db, "k", "short"), MAPH_OK);
    CHECK(has_str(db, "k", "short"));
    CHECK_ST(set_str(db, "k", "a much longer value than before"), MAPH_OK);
    CHECK(has_str(db, "k", "a much longer value than before"));
    CHECK_ST(set_str(db, "k", "x"), MAPH_OK);
    CHECK(has_str(db, "k", "x"));
    CHECK_ST(set_str(db, "k", ""), MAPH_OK);
    CHECK(has_str(db, "k", ""));
    CHECK_ST(maph_stats(db, &s), MAPH_OK);
    CHECK(s.keys == 1);
    maph_close(db);
}

static void test_empty_value_with_null_pointer_round_trips(void) {
    maph_t *db = NULL;
    char buf[4];
    size_t n = 99;
    REQUIRE_ST(small_store("a.maph", 64, 128, &db), MAPH_OK);
    CHECK_ST(maph_set(db, "empty", 5, NULL, 0), MAPH_OK);
    CHECK_ST(maph_get(db, "empty", 5, buf, sizeof buf, &n), MAPH_OK);
    CHECK(n == 0);
    maph_close(db);
}

static void test_binary_keys_and_values_with_nul_and_high_bytes_are_distinct(void) {
    maph_t *db = NULL;
    static const unsigned char k1[] = {'a', 0x00, 'b'};
    static const unsigned char k2[] = {'a', 0x00, 'c'};
    static const unsigned char k3[] = {'a'};
    static const unsigned char k4[] = {0x00};
    static const unsigned char k5[] = {0xff, 0x80, 0x00, 0xfe};
    static const unsigned char v1[] = {0x00, 0x00, 0x00};
    static const unsigned char v2[] = {0xff, 0x00, 0x80, 0x7f, 0x01};
    unsigned char buf[16];
    size_t n = 0;
    REQUIRE_ST(small_store("a.maph", 64, 128, &db), MAPH_OK);
    CHECK_ST(maph_set(db, k1, sizeof k1, v1, sizeof v1), MAPH_OK);
    CHECK_ST(maph_set(db, k2, sizeof k2, v2, sizeof v2), MAPH_OK);
    CHECK_ST(maph_set(db, k3, sizeof k3, "A", 1), MAPH_OK);
    CHECK_ST(maph_set(db, k4, sizeof k4, v2, 2), MAPH_OK);
    CHECK_ST(maph_set(db, k5, sizeof k5, k5, sizeof k5), MAPH_OK);
    CHECK_ST(maph_get(db, k1, sizeof k1, buf, sizeof buf, &n), MAPH_OK);
    CHECK(n == sizeof v1 && memcmp(buf, v1, n) == 0);
    CHECK_ST(maph_get(db, k2, sizeof k2, buf, sizeof buf, &n), MAPH_OK);
    CHECK(n == sizeof v2 && memcmp(buf, v2, n) == 0);
    CHECK_ST(maph_get(db, k3, sizeof k3, buf, sizeof buf, &n), MAPH_OK);
    CHECK(n == 1 && buf[0] == 'A');
    CHECK_ST(maph_get(db, k4, sizeof k4, buf, sizeof buf, &n), MAPH_OK);
    CHECK(n == 2 && memcmp(buf, v2, 2) == 0);
    CHECK_ST(maph_get(db, k5, sizeof k5, buf, sizeof buf, &n), MAPH_OK);
    CHECK(n == sizeof k5 && memcmp(buf, k5, n) == 0);
    /* "a\0" is none of them: the key length counts, not strlen */
    CHECK_ST(maph_get(db, k1, 2, buf, sizeof buf, &n), MAPH_NOT_FOUND);
    maph_close(db);
}

static void test_key_and_value_filling_the_slot_capacity_exactly_fit(void) {
    maph_t *db = NULL;
    maph_stats_t s;
    char key[8] = "key0000";
    char val[64];
    char buf[64];
    size_t n = 0;
    REQUIRE_ST(small_store("a.maph", 16, 64, &db), MAPH_OK);
    CHECK_ST(maph_stats(db, &s), MAPH_OK);
    REQUIRE(s.slot_capacity == 48);
    memset(val, 'v', sizeof val);
    CHECK_ST(maph_set(db, key, 7, val, 41), MAPH_OK);
    CHECK_ST(maph_get(db, key, 7, buf, sizeof buf, &n), MAPH_OK);
    CHECK(n == 41 && memcmp(buf, val, 41) == 0);
    /* one byte more than the slot holds: the record moves to the heap */
    val[41] = 'w';
    CHECK_ST(maph_set(db, key, 7, val, 42), MAPH_OK);
    CHECK_ST(maph_get(db, key, 7, buf, sizeof buf, &n), MAPH_OK);
    CHECK(n == 42 && memcmp(buf, val, 42) == 0);
    /* and back into the slot */
    CHECK_ST(maph_set(db, key, 7, val, 40), MAPH_OK);
    CHECK_ST(maph_get(db, key, 7, buf, sizeof buf, &n), MAPH_OK);
    CHECK(n == 40 && memcmp(buf, val, 40) == 0);
    maph_close(db);
}

static void test_deleted_key_reads_not_found_and_stays_deleted_after_reopen(void) {
    char p[H_PATH_MAX];
    maph_t *db = NULL;
    char buf[16];
    size_t n = 0;
    REQUIRE_ST(small_store("a.maph", 64, 128, &db), MAPH_OK);
    CHECK_ST(set_str(db, "gone", "soon"), MAPH_OK);
    CHECK_ST(set_str(db, "kept", "here"), MAPH_OK);
    CHECK_ST(maph_del(db, "gone", 4), MAPH_OK);
    CHECK_ST(maph_get(db, "gone", 4, buf, sizeof buf, &n), MAPH_NOT_FOUND);
    CHECK_ST(maph_del(db, "gone", 4), MAPH_NOT_FOUND);
    CHECK_ST(maph_sync(db), MAPH_OK);
    maph_close(db);
    REQUIRE_ST(maph_open(h_path(p, "a.maph"), MAPH_RDWR, &db), MAPH_OK);
    CHECK_ST(maph_get(db, "gone", 4, buf, sizeof buf, &n), MAPH_NOT_FOUND);
    CHECK(has_str(db, "kept", "here"));
    maph_close(db);
}

static void test_del_of_missing_key_reports_not_found(void) {
    maph_t *db = NULL;
    REQUIRE_ST(small_store("a.maph", 64, 128, &db), MAPH_OK);
    CHECK_ST(maph_del(db, "never", 5), MAPH_NOT_FOUND);
    maph_close(db);
}

static void test_stats_count_keys_tombstones_and_load_factor(void) {
    maph_t *db = NULL;
    maph_stats_t s;
    char k[16];
    int i;
    REQUIRE_ST(small_store("a.maph", 100, 64, &db), MAPH_OK);
    for (i = 0; i < 25; i++) {
        snprintf(k, sizeof k, "key%d", i);
        CHECK_ST(set_str(db, k, "v"), MAPH_OK);
    }
    CHECK_ST(set_str(db, "key0", "overwrite does not count"), MAPH_OK);
    memset(&s, 0xAB, sizeof s);
    CHECK_ST(maph_stats(db, &s), MAPH_OK);
    CHECK(s.keys == 25);
    CHECK(s.slots == 100);
    CHECK(s.tombstones == 0);
    CHECK(s.load_factor > 0.2499 && s.load_factor < 0.2501);
    CHECK(s.slot_size == 64 && s.slot_capacity == 48);
    CHECK(s.max_probes == 100);
    CHECK(s.longest_probe < 100);
    CHECK(s.generation == 0);
    CHECK_ST(maph_del(db, "key1", 4), MAPH_OK);
    CHECK_ST(maph_del(db, "key2", 4), MAPH_OK);
    CHECK_ST(maph_stats(db, &s), MAPH_OK);
    CHECK(s.keys == 23);
    CHECK(s.tombstones == 2);
    CHECK(s.load_factor > 0.2299 && s.load_factor < 0.2301);
    maph_close(db);
}

static void test_reinserting_deleted_keys_reuses_their_tombstones(void) {
    maph_t *db = NULL;
    maph_stats_t s;
    REQUIRE_ST(small_store("a.maph", 64, 64, &db), MAPH_OK);
    CHECK_ST(set_str(db, "k", "1"), MAPH_OK);
    CHECK_ST(maph_del(db, "k", 1), MAPH_OK);
    CHECK_ST(maph_stats(db, &s), MAPH_OK);
    CHECK(s.keys == 0 && s.tombstones == 1);
    CHECK_ST(set_str(db, "k", "2"), MAPH_OK);
    CHECK(has_str(db, "k", "2"));
    CHECK_ST(maph_stats(db, &s), MAPH_OK);
    CHECK(s.keys == 1 && s.tombstones == 0);
    maph_close(db);
}

static void test_values_persist_after_close_and_reopen(void) {
    char p[H_PATH_MAX];
    maph_t *db = NULL;
    maph_stats_t s;
    char k[32], v[32];
    int i, bad = 0;
    REQUIRE_ST(small_store("p.maph", 2048, 128, &db), MAPH_OK);
    for (i = 0; i < 1000; i++) {
        snprintf(k, sizeof k, "key-%d", i);
        snprintf(v, sizeof v, "value-%d", i * 7);
        if (set_str(db, k, v) != MAPH_OK) bad++;
    }
    CHECK(bad == 0);
    CHECK_ST(maph_sync(db), MAPH_OK);
    maph_close(db);
    REQUIRE_ST(maph_open(h_path(p, "p.maph"), MAPH_RDONLY, &db), MAPH_OK);
    for (i = 0; i < 1000; i++) {
        snprintf(k, sizeof k, "key-%d", i);
        snprintf(v, sizeof v, "value-%d", i * 7);
        if (!has_str(db, k, v)) bad++;
    }
    CHECK(bad == 0);
    CHECK_ST(maph_stats(db, &s), MAPH_OK);
    CHECK(s.keys == 1000 && s.slots == 2048 && s.slot_size == 128);
    maph_close(db);
    /* without maph_sync too: the page cache holds the writes */
    REQUIRE_ST(maph_open(p, MAPH_RDWR, &db), MAPH_OK);
    CHECK_ST(set_str(db, "late", "write"), MAPH_OK);
    maph_close(db);
    REQUIRE_ST(maph_open(p, MAPH_RDONLY, &db), MAPH_OK);
    CHECK(has_str(db, "late", "write"));
    maph_close(db);
}

static void test_two_handles_on_one_file_see_each_others_writes(void) {
    char p[H_PATH_MAX];
    maph_t *a = NULL, *b = NULL;
    REQUIRE_ST(small_store("s.maph", 64, 64, &a), MAPH_OK);
    REQUIRE_ST(maph_open(h_path(p, "s.maph"), MAPH_RDWR, &b), MAPH_OK);
    CHECK_ST(set_str(a, "from-a", "1"), MAPH_OK);
    CHECK_ST(set_str(b, "from-b", "2"), MAPH_OK);
    CHECK(has_str(b, "from-a", "1"));
    CHECK(has_str(a, "from-b", "2"));
    CHECK_ST(maph_del(b, "from-a", 6), MAPH_OK);
    CHECK(!has_str(a, "from-a", "1"));
    maph_close(a);
    CHECK(has_str(b, "from-b", "2"));
    maph_close(b);
}

static void test_sync_returns_ok_on_read_write_and_read_only_handles(void) {
    char p[H_PATH_MAX];
    maph_t *db = NULL;
    REQUIRE_ST(small_store("a.maph", 64, 64, &db), MAPH_OK);
    CHECK_ST(maph_sync(db), MAPH_OK);
    CHECK_ST(set_str(db, "k", "v"), MAPH_OK);
    CHECK_ST(maph_sync(db), MAPH_OK);
    maph_close(db);
    REQUIRE_ST(maph_open(h_path(p, "a.maph"), MAPH_RDONLY, &db), MAPH_OK);
    CHECK_ST(maph_sync(db), MAPH_OK);
    maph_close(db);
}

static void test_get_ptr_points_at_the_value_with_a_valid_token(void) {
    maph_t *db = NULL;
    const void *v = NULL;
    size_t n = 0;
    uint64_t tok = 0;
    char copy[16];
    REQUIRE_ST(small_store("a.maph", 64, 128, &db), MAPH_OK);
    CHECK_ST(set_str(db, "k", "zero-copy"), MAPH_OK);
    REQUIRE_ST(maph_get_ptr(db, "k", 1, &v, &n, &tok), MAPH_OK);
    REQUIRE(v != NULL && n == 9);
    memcpy(copy, v, n);
    CHECK(maph_ptr_valid(db, tok));
    CHECK(memcmp(copy, "zero-copy", 9) == 0);
    /* a second look gives the same token while nothing changed */
    {
        const void *v2 = NULL;
        size_t n2 = 0;
        uint64_t tok2 = 1;
        CHECK_ST(maph_get_ptr(db, "k", 1, &v2, &n2, &tok2), MAPH_OK);
        CHECK(v2 == v && n2 == n && tok2 == tok);
    }
    /* writes to other keys (which live in other slots) leave it valid */
    CHECK_ST(set_str(db, "other", "x"), MAPH_OK);
    CHECK_ST(maph_del(db, "other", 5), MAPH_OK);
    CHECK(maph_ptr_valid(db, tok));
    CHECK_ST(maph_get_ptr(db, "missing", 7, &v, &n, &tok), MAPH_NOT_FOUND);
    maph_close(db);
}

static void test_ptr_token_turns_invalid_after_the_key_is_overwritten(void) {
    maph_t *db = NULL;
    const void *v = NULL;
    size_t n = 0;
    uint64_t tok = 0;
    REQUIRE_ST(small_store("a.maph", 64, 128, &db), MAPH_OK);
    CHECK_ST(set_str(db, "k", "one"), MAPH_OK);
    REQUIRE_ST(maph_get_ptr(db, "k", 1, &v, &n, &tok), MAPH_OK);
    CHECK(maph_ptr_valid(db, tok));
    CHECK_ST(set_str(db, "k", "one"), MAPH_OK); /* even with the same bytes */
    CHECK(!maph_ptr_valid(db, tok));
    REQUIRE_ST(maph_get_ptr(db, "k", 1, &v, &n, &tok), MAPH_OK);
    CHECK(maph_ptr_valid(db, tok));
    CHECK_ST(set_str(db, "k", "two!"), MAPH_OK);
    CHECK(!maph_ptr_valid(db, tok));
    maph_close(db);
}

static void test_ptr_token_turns_invalid_after_the_key_is_deleted(void) {
    maph_t *db = NULL;
    const void *v = NULL;
    size_t n = 0;
    uint64_t tok = 0;
    REQUIRE_ST(small_store("a.maph", 64, 128, &db), MAPH_OK);
    CHECK_ST(set_str(db, "k", "one"), MAPH_OK);
    REQUIRE_ST(maph_get_ptr(db, "k", 1, &v, &n, &tok), MAPH_OK);
    CHECK_ST(maph_del(db, "k", 1), MAPH_OK);
    CHECK(!maph_ptr_valid(db, tok));
    /* and re-inserting the key does not revive the old token */
    CHECK_ST(set_str(db, "k", "one"), MAPH_OK);
    CHECK(!maph_ptr_valid(db, tok));
    maph_close(db);
}

static void test_ptr_valid_is_false_for_null_db_and_tokens_naming_no_slot(void) {
    maph_t *db = NULL;
    const void *v = NULL;
    size_t n = 0;
    uint64_t tok = 0;
    REQUIRE_ST(small_store("a.maph", 64, 128, &db), MAPH_OK);
    CHECK_ST(set_str(db, "k", "one"), MAPH_OK);
    REQUIRE_ST(maph_get_ptr(db, "k", 1, &v, &n, &tok), MAPH_OK);
    CHECK(!maph_ptr_valid(NULL, tok));
    CHECK(!maph_ptr_valid(db, (uint64_t)64 << 32));   /* slot 64 of 64 */
    CHECK(!maph_ptr_valid(db, UINT64_MAX));
    CHECK(!maph_ptr_valid(db, tok | 1));               /* odd: mid-write */
    CHECK(maph_ptr_valid(db, tok));
    maph_close(db);
}

static void test_status_name_is_the_enumerator_name_for_every_status(void) {
    CHECK(strcmp(maph_status_name(MAPH_OK), "MAPH_OK") == 0);
    CHECK(strcmp(maph_status_name(MAPH_NOT_FOUND), "MAPH_NOT_FOUND") == 0);
    CHECK(strcmp(maph_status_name(MAPH_E_FULL), "MAPH_E_FULL") == 0);
    CHECK(strcmp(maph_status_name(MAPH_E_OVERFLOW), "MAPH_E_OVERFLOW") == 0);
    CHECK(strcmp(maph_status_name(MAPH_E_OVERFLOW + 1), "unknown status") == 0);
    CHECK(strcmp(maph_status_name(0xFFFFFFFFu), "unknown status") == 0);
}

static void test_strerror_is_never_null_and_distinct_for_every_status(void) {
    uint32_t s, t, known = 0;
    const char *unknown = maph_strerror(1000);
    REQUIRE(unknown != NULL);
    CHECK(strcmp(unknown, "unknown status") == 0);
    CHECK(maph_strerror(0xFFFFFFFFu) != NULL);
    CHECK(strcmp(maph_strerror(0xFFFFFFFFu), "unknown status") == 0);
    CHECK(strcmp(maph_strerror(0x80000000u), "unknown status") == 0);
    /* the known statuses are 0..known-1: every one named in maph.h at
     * least, each with its own non-empty message */
    while (known < 256 && strcmp(maph_strerror(known), unknown) != 0) known++;
    CHECK(known > MAPH_E_CONFLICT);
    for (s = 0; s < 256; s++) {
        const char *m = maph_strerror(s);
        REQUIRE(m != NULL);
        CHECK(m[0] != '\0');
        if (s >= known) {
            CHECK(strcmp(m, unknown) == 0);
            continue;
        }
        for (t = 0; t < s; t++) CHECK(strcmp(m, maph_strerror(t)) != 0);
    }
    CHECK(strcmp(maph_strerror(MAPH_OK), "success") == 0);
    CHECK(strcmp(maph_strerror(MAPH_E_PANIC), unknown) != 0);
    CHECK(strcmp(maph_strerror(MAPH_E_EMPTY), unknown) != 0);
    CHECK(strcmp(maph_strerror(MAPH_E_TIMEOUT), unknown) != 0);
    CHECK(strcmp(maph_strerror(MAPH_E_CONFLICT), unknown) != 0);
}

static void test_last_error_describes_the_last_failure(void) {
    char p[H_PATH_MAX];
    maph_t *db = NULL;
    const char *m = maph_last_error();
    REQUIRE(m != NULL);
    CHECK_ST(maph_open(h_path(p, "does-not-exist.maph"), MAPH_RDONLY, &db), MAPH_E_IO);
    m = maph_last_error();
    REQUIRE(m != NULL);
    CHECK(m[0] != '\0');
    CHECK_ST(maph_open(p, 0, &db), MAPH_E_INVALID_ARG);
    m = maph_last_error();
    REQUIRE(m != NULL);
    CHECK(m[0] != '\0');
    CHECK(strstr(m, "flags") != NULL);
}

static void test_close_of_null_is_harmless(void) {
    maph_close(NULL);
    CHECK(1);
}

static void test_thousand_keys_in_a_default_store_all_read_back(void) {
    char p[H_PATH_MAX];
    maph_t *db = NULL;
    char k[32], v[64];
    int i, bad = 0;
    REQUIRE_ST(maph_create(h_path(p, "big.maph"), NULL, &db), MAPH_OK);
    for (i = 0; i < 1000; i++) {
        snprintf(k, sizeof k, "user:%d", i);
        snprintf(v, sizeof v, "{\"id\":%d,\"name\":\"n%d\"}", i, i * 31);
        if (set_str(db, k, v) != MAPH_OK) bad++;
    }
    for (i = 0; i < 1000; i++) {
        snprintf(k, sizeof k, "user:%d", i);
        snprintf(v, sizeof v, "{\"id\":%d,\"name\":\"n%d\"}", i, i * 31);
        if (!has_str(db, k, v)) bad++;
    }
    CHECK(bad == 0);
    maph_close(db);
}

int main(void) {
    RUN(test_options_default_fills_documented_defaults);
    RUN(test_options_default_with_null_does_not_crash);
    RUN(test_create_with_null_options_uses_defaults);
    RUN(test_new_file_has_mode_0600_despite_umask_022);
    RUN(test_mode_option_is_applied_through_umask);
    RUN(test_create_leaves_no_temporary_file_behind);
    RUN(test_set_then_get_returns_the_same_bytes);
    RUN(test_get_of_missing_key_reports_not_found);
    RUN(test_get_with_small_buffer_reports_needed_size);
    RUN(test_get_with_null_buffer_and_zero_capacity_asks_the_size);
    RUN(test_get_with_exactly_sized_buffer_succeeds);
    RUN(test_overwrite_with_longer_then_shorter_value_leaves_no_stale_bytes);
    RUN(test_empty_value_with_null_pointer_round_trips);
    RUN(test_binary_keys_and_values_with_nul_and_high_bytes_are_distinct);
    RUN(test_key_and_value_filling_the_slot_capacity_exactly_fit);
    RUN(test_deleted_key_reads_not_found_and_stays_deleted_after_reopen);
    RUN(test_del_of_missing_key_reports_not_found);
    RUN(test_stats_count_keys_tombstones_and_load_factor);
    RUN(test_reinserting_deleted_keys_reuses_their_tombstones);
    RUN(test_values_persist_after_close_and_reopen);
    RUN(test_two_handles_on_one_file_see_each_others_writes);
    RUN(test_sync_returns_ok_on_read_write_and_read_only_handles);
    RUN(test_get_ptr_points_at_the_value_with_a_valid_token);
    RUN(test_ptr_token_turns_invalid_after_the_key_is_overwritten);
    RUN(test_ptr_token_turns_invalid_after_the_key_is_deleted);
    RUN(test_ptr_valid_is_false_for_null_db_and_tokens_naming_no_slot);
    RUN(test_status_name_is_the_enumerator_name_for_every_status);
    RUN(test_strerror_is_never_null_and_distinct_for_every_status);
    RUN(test_last_error_describes_the_last_failure);
    RUN(test_close_of_null_is_harmless);
    RUN(test_thousand_keys_in_a_default_store_all_read_back);
    return h_summary();
}
