/*
 * Every failure status a caller can meet: MAPH_E_IO, MAPH_E_EXISTS,
 * MAPH_E_CORRUPT (damaged files and damaged slots), MAPH_E_VERSION,
 * MAPH_E_FULL, MAPH_E_TOO_LARGE, MAPH_E_READ_ONLY, MAPH_E_BUSY.
 * (MAPH_NOT_FOUND, MAPH_E_BUFFER_TOO_SMALL: test_api.c; MAPH_E_INVALID_ARG:
 * test_invalid_args.c.)
 *
 * MAPH_E_PANIC cannot be triggered through the API: it is what a Rust panic
 * inside the library becomes instead of unwinding into C, i.e. it only
 * appears when maph has a bug. Its message is checked in test_api.c
 * (maph_strerror); the Rust unit test `a_panic_becomes_a_status_not_an_unwind`
 * covers the mechanism.
 *
 * The other statuses are met where their functions are tested:
 * MAPH_E_CONFLICT (maph_cas, test_ops.c; maph_queue_push, test_queue.c),
 * MAPH_E_NOT_INTEGER and MAPH_E_OVERFLOW (maph_incr, test_ops.c),
 * MAPH_E_EMPTY and MAPH_E_TIMEOUT (maph_queue_pull, maph_queue_wait,
 * test_queue.c).
 *
 * File offsets used below (docs/FORMAT.md): header u32 version at 8, u32
 * slot_size at 16, u64 slot_count at 24, u64 slots_offset at 56, u64
 * ctrl_offset at 88, u64 checksum at 96, u64 keys_outside_mphf at 144, u64 longest_probe at 192;
 * slot: u64 seqlock word at +0, u16 key_len at +8, u8 state at +10 (1 =
 * live), u8 flags at +11, u32 val_len at +12, key at +16.
 */
#include "harness.h"

static const maph_t *const NOT_NULL = (const maph_t *)(uintptr_t)0x1000;

static maph_options small_options(uint64_t slots, uint32_t slot_size) {
    maph_options o;
    maph_options_default(&o);
    o.slots = slots;
    o.slot_size = slot_size;
    o.lock_count = 64;
    return o;
}

/* Makes h_dir/name: 64 slots of 128 bytes holding keys "key0".."key9"
 * (value "value<i>"); closes it. Returns the path in p or NULL. */
static char *make_store(char p[H_PATH_MAX], const char *name) {
    maph_options o = small_options(64, 128);
    maph_t *db = NULL;
    char k[16], v[16];
    int i;
    if (maph_create(h_path(p, name), &o, &db) != MAPH_OK) return NULL;
    for (i = 0; i < 10; i++) {
        snprintf(k, sizeof k, "key%d", i);
        snprintf(v, sizeof v, "value%d", i);
        if (maph_set(db, k, strlen(k), v, strlen(v)) != MAPH_OK) {
            maph_close(db);
            return NULL;
        }
    }
    maph_close(db);
    return p;
}

static off_t file_size(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 ? st.st_size : -1;
}

/* Expects maph_open(path) to fail with `want` with both flags, reset *out
 * to NULL and leave a message. */
static void expect_open_fails(const char *file, int line, const char *path, uint32_t want) {
    static const uint32_t flags[] = {MAPH_RDONLY, MAPH_RDWR};
    size_t i;
    for (i = 0; i < 2; i++) {
        maph_t *db = (maph_t *)(uintptr_t)NOT_NULL;
        uint32_t st = maph_open(path, flags[i], &db);
        if (!h_check_st(file, line, flags[i] == MAPH_RDONLY ? "maph_open(RDONLY)"
                                                            : "maph_open(RDWR)",
                        st, want)) {
            if (st == MAPH_OK) maph_close(db);
            continue;
        }
        if (db != NULL) h_fail(file, line, "*out reset to NULL on failure");
        if (maph_last_error()[0] == '\0') h_fail(file, line, "a message in maph_last_error");
    }
}
#define EXPECT_OPEN_FAILS(path, want) expect_open_fails(__FILE__, __LINE__, path, want)

/* ---- MAPH_E_IO / MAPH_E_EXISTS ---------------------------------------- */

static void test_open_of_missing_path_reports_io(void) {
    char p[H_PATH_MAX];
    EXPECT_OPEN_FAILS(h_path(p, "missing.maph"), MAPH_E_IO);
    CHECK(strstr(maph_last_error(), "No such file") != NULL ||
          strstr(maph_last_error(), "open") != NULL);
}

static void test_create_in_missing_directory_reports_io(void) {
    char p[H_PATH_MAX];
    maph_t *db = (maph_t *)(uintptr_t)NOT_NULL;
    CHECK_ST(maph_create(h_path(p, "no/such/dir/x.maph"), NULL, &db), MAPH_E_IO);
    CHECK(db == NULL);
    CHECK(maph_last_error()[0] != '\0');
}

static void test_create_over_existing_store_reports_exists_and_keeps_it(void) {
    char p[H_PATH_MAX];
    maph_t *db = (maph_t *)(uintptr_t)NOT_NULL;
    char buf[16];
    size_t n = 0;
    off_t before;
    REQUIRE(make_store(p, "s.maph") != NULL);
    before = file_size(p);
    CHECK_ST(maph_create(p, NULL, &db), MAPH_E_EXISTS);
    CHECK(db == NULL);
    CHECK(file_size(p) == before);
    REQUIRE_ST(maph_open(p, MAPH_RDONLY, &db), MAPH_OK);
    CHECK_ST(maph_get(db, "key3", 4, buf, sizeof buf, &n), MAPH_OK);
    CHECK(n == 6 && memcmp(buf, "value3", 6) == 0);
    maph_close(db);
}

static void test_create_over_existing_other_file_reports_exists_and_leaves_it(void) {
    char p[H_PATH_MAX];
    maph_t *db = NULL;
    char buf[16] = {0};
    FILE *f = fopen(h_path(p, "notes.txt"), "w");
    REQUIRE(f != NULL);
    fputs("precious", f);
    fclose(f);
    CHECK_ST(maph_create(p, NULL, &db), MAPH_E_EXISTS);
    CHECK(db == NULL);
    CHECK(h_pread(p, 0, buf, 8) == 0 && memcmp(buf, "precious", 8) == 0);
    CHECK(file_size(p) == 8);
}

/* ---- MAPH_E_CORRUPT: damaged files -------------------------------------- */

static void test_open_of_zero_length_file_reports_corrupt(void) {
    char p[H_PATH_MAX];
    int fd = open(h_path(p, "empty.maph"), O_CREAT | O_WRONLY, 0600);
    REQUIRE(fd >= 0);
    close(fd);
    EXPECT_OPEN_FAILS(p, MAPH_E_CORRUPT);
}

static void test_open_of_file_shorter_than_a_header_reports_corrupt(void) {
    char p[H_PATH_MAX];
    REQUIRE(make_store(p, "s.maph") != NULL);
    REQUIRE(truncate(p, 4095) == 0);
    EXPECT_OPEN_FAILS(p, MAPH_E_CORRUPT);
    REQUIRE(truncate(p, 100) == 0);
    EXPECT_OPEN_FAILS(p, MAPH_E_CORRUPT);
    REQUIRE(truncate(p, 1) == 0);
    EXPECT_OPEN_FAILS(p, MAPH_E_CORRUPT);
}

static void test_open_of_store_truncated_by_one_byte_reports_corrupt(void) {
    char p[H_PATH_MAX];
    off_t len;
    REQUIRE(make_store(p, "s.maph") != NULL);
    len = file_size(p);
    REQUIRE(len > 4096);
    REQUIRE(truncate(p, len - 1) == 0);
    EXPECT_OPEN_FAILS(p, MAPH_E_CORRUPT);
    CHECK(strstr(maph_last_error(), "truncated") != NULL);
}

static void test_open_of_store_truncated_to_its_header_reports_corrupt(void) {
    char p[H_PATH_MAX];
    REQUIRE(make_store(p, "s.maph") != NULL);
    REQUIRE(truncate(p, 4096) == 0);
    EXPECT_OPEN_FAILS(p, MAPH_E_CORRUPT);
}

static void test_open_of_store_with_an_extra_byte_reports_corrupt(void) {
    char p[H_PATH_MAX];
    off_t len;
    REQUIRE(make_store(p, "s.maph") != NULL);
    len = file_size(p);
    REQUIRE(truncate(p, len + 1) == 0);
    EXPECT_OPEN_FAILS(p, MAPH_E_CORRUPT);
}

static void test_open_of_file_with_bad_magic_reports_corrupt(void) {
    char p[H_PATH_MAX];
    REQUIRE(make_store(p, "s.maph") != NULL);
    REQUIRE(h_pwrite(p, 0, "MAPHSTOX", 8) == 0);
    EXPECT_OPEN_FAILS(p, MAPH_E_CORRUPT);
    CHECK(strstr(maph_last_error(), "magic") != NULL);
}

static void test_open_of_non_store_file_of_store_size_reports_corrupt(void) {
    char p[H_PATH_MAX];
    int fd = open(h_path(p, "zeros.maph"), O_CREAT | O_WRONLY, 0600);
    REQUIRE(fd >= 0);
    REQUIRE(ftruncate(fd, 1 << 16) == 0);
    close(fd);
    EXPECT_OPEN_FAILS(p, MAPH_E_CORRUPT);
}

static void test_open_with_changed_slot_count_fails_checksum_and_reports_corrupt(void) {
    char p[H_PATH_MAX];
    uint64_t count;
    REQUIRE(make_store(p, "s.maph") != NULL);
    count = h_read_u64(p, 24);
    REQUIRE(count == 64);
    REQUIRE(h_write_u64(p, 24, count * 2) == 0);
    EXPECT_OPEN_FAILS(p, MAPH_E_CORRUPT);
    REQUIRE(h_write_u64(p, 24, count - 1) == 0);
    EXPECT_OPEN_FAILS(p, MAPH_E_CORRUPT);
    REQUIRE(h_write_u64(p, 24, count) == 0); /* restored: opens again */
    {
        maph_t *db = NULL;
        CHECK_ST(maph_open(p, MAPH_RDONLY, &db), MAPH_OK);
        maph_close(db);
    }
}

static void test_open_with_any_flipped_checksummed_header_byte_reports_corrupt(void) {
    char p[H_PATH_MAX];
    int off;
    REQUIRE(make_store(p, "s.maph") != NULL);
    /* bytes [0, 104): the checked fields and the checksum itself; version
     * (8..11) is checked first and answers MAPH_E_VERSION, below */
    for (off = 0; off < 104; off++) {
        unsigned char b;
        if (off >= 8 && off < 12) continue;
        REQUIRE(h_pread(p, off, &b, 1) == 0);
        b ^= 0x10;
        REQUIRE(h_pwrite(p, off, &b, 1) == 0);
        EXPECT_OPEN_FAILS(p, MAPH_E_CORRUPT);
        b ^= 0x10;
        REQUIRE(h_pwrite(p, off, &b, 1) == 0);
    }
}

static void test_open_with_counters_beyond_their_limits_reports_corrupt(void) {
    char p[H_PATH_MAX];
    REQUIRE(make_store(p, "s.maph") != NULL);
    REQUIRE(h_read_u32(p, 20) == 64);       /* max_probes */
    REQUIRE(h_read_u64(p, 192) < 64);       /* longest_probe */
    REQUIRE(h_write_u64(p, 192, 65) == 0);  /* beyond max_probes */
    EXPECT_OPEN_FAILS(p, MAPH_E_CORRUPT);
    REQUIRE(h_write_u64(p, 192, 0) == 0);
    {
        maph_t *db = NULL;
        CHECK_ST(maph_open(p, MAPH_RDONLY, &db), MAPH_OK);
        maph_close(db);
    }
    REQUIRE(h_write_u64(p, 264, 65) == 0);  /* mphf_keys beyond slots */
    EXPECT_OPEN_FAILS(p, MAPH_E_CORRUPT);
    REQUIRE(h_write_u64(p, 264, 0) == 0);
    /* keys_outside_mphf is advisory (it only grows between optimize()
     * calls): a large value must not make the store unopenable. */
    REQUIRE(h_write_u64(p, 144, 1000) == 0);
    {
        maph_t *db = NULL;
        CHECK_ST(maph_open(p, MAPH_RDONLY, &db), MAPH_OK);
        maph_close(db);
    }
}

/* ---- MAPH_E_VERSION ---------------------------------------------------- */

static void test_open_of_another_format_version_reports_version_before_checksum(void) {
    char p[H_PATH_MAX];
    /* 1: a store made before the control bytes (format 1) */
    /* 2: a store made before the value heap (format 2) */
    /* 3: a store with 32-byte slot headers (format 3) */
    /* 4: a store made before growing stores (format 4) */
    static const uint32_t versions[] = {1, 2, 3, 4, 6, 0, 0xFFFFFFFFu};
    size_t i;
    REQUIRE(make_store(p, "s.maph") != NULL);
    REQUIRE(h_read_u32(p, 8) == 5);
    for (i = 0; i < sizeof versions / sizeof versions[0]; i++) {
        REQUIRE(h_write_u32(p, 8, versions[i]) == 0);
        EXPECT_OPEN_FAILS(p, MAPH_E_VERSION);
    }
}

/* ---- MAPH_E_CORRUPT: damaged slots ------------------------------------- */

static void test_get_of_slot_whose_value_length_exceeds_the_slot_reports_corrupt(void) {
    char p[H_PATH_MAX];
    maph_t *db = NULL;
    char buf[256];
    size_t n = 0;
    const void *v = NULL;
    uint64_t tok = 0;
    off_t slot;
    REQUIRE(make_store(p, "s.maph") != NULL);
    slot = h_slot_of(p, "key5", 4);
    REQUIRE(slot > 0);
    REQUIRE(h_write_u32(p, slot + 12, 100000) == 0);
    REQUIRE_ST(maph_open(p, MAPH_RDONLY, &db), MAPH_OK);
    CHECK_ST(maph_get(db, "key5", 4, buf, sizeof buf, &n), MAPH_E_CORRUPT);
    CHECK(maph_last_error()[0] != '\0');
    CHECK_ST(maph_get(db, "key5", 4, NULL, 0, &n), MAPH_E_CORRUPT);
    CHECK_ST(maph_get_ptr(db, "key5", 4, &v, &n, &tok), MAPH_E_CORRUPT);
    maph_close(db);
    REQUIRE_ST(maph_open(p, MAPH_RDWR, &db), MAPH_OK);
    CHECK_ST(maph_get(db, "key5", 4, buf, sizeof buf, &n), MAPH_E_CORRUPT);
    maph_close(db);
}

static void test_get_of_slot_whose_key_length_exceeds_the_slot_reports_corrupt(void) {
    char p[H_PATH_MAX];
    maph_t *db = NULL;
    char buf[256];
    size_t n = 0;
    off_t slot;
    REQUIRE(make_store(p, "s.maph") != NULL);
    slot = h_slot_of(p, "key7", 4);
    REQUIRE(slot > 0);
    REQUIRE(h_pwrite(p, slot + 8, "\xff\xff", 2) == 0);
    REQUIRE_ST(maph_open(p, MAPH_RDONLY, &db), MAPH_OK);
    CHECK_ST(maph_get(db, "key7", 4, buf, sizeof buf, &n), MAPH_E_CORRUPT);
    maph_close(db);
}

/* ---- MAPH_E_TOO_LARGE -------------------------------------------------- */

static void test_set_beyond_the_heap_or_the_longest_key_reports_too_large(void) {
    char p[H_PATH_MAX];
    maph_options o = small_options(16, 64); /* capacity 48, heap 64 KiB */
    maph_t *db = NULL;
    static char big[70000];
    maph_stats_t s;
    memset(big, 'x', sizeof big);
    REQUIRE_ST(maph_create(h_path(p, "t.maph"), &o, &db), MAPH_OK);
    CHECK_ST(maph_set(db, big, 16, big, 16), MAPH_OK);
    CHECK_ST(maph_set(db, big, 16, big, 33), MAPH_OK);  /* the heap */
    CHECK_ST(maph_set(db, big, 65536, "v", 1), MAPH_E_TOO_LARGE);
    CHECK(maph_last_error()[0] != '\0');
    CHECK_ST(maph_set(db, "k", 1, big, sizeof big), MAPH_E_TOO_LARGE);
    CHECK_ST(maph_set(db, big, 1, big, 47), MAPH_OK);
    CHECK_ST(maph_set(db, big, 49, NULL, 0), MAPH_OK);  /* a long key, in the heap */
    CHECK_ST(maph_stats(db, &s), MAPH_OK);
    CHECK(s.keys == 3);
    {
        uint64_t violations = 1;
        CHECK_ST(maph_check(db, &violations), MAPH_OK);
        CHECK(violations == 0);
    }
    maph_close(db);
}

static void test_get_with_a_key_over_65535_bytes_reports_too_large(void) {
    char p[H_PATH_MAX];
    maph_options o = small_options(16, 64);
    maph_t *db = NULL;
    static char big[65536];
    char buf[64];
    size_t n = 0;
    const void *v = NULL;
    uint64_t tok = 0;
    memset(big, 'y', sizeof big);
    REQUIRE_ST(maph_create(h_path(p, "t.maph"), &o, &db), MAPH_OK);
    CHECK_ST(maph_get(db, big, 65536, buf, sizeof buf, &n), MAPH_E_TOO_LARGE);
    CHECK_ST(maph_get_ptr(db, big, 65536, &v, &n, &tok), MAPH_E_TOO_LARGE);
    CHECK_ST(maph_get(db, big, 65535, buf, sizeof buf, &n), MAPH_NOT_FOUND);
    CHECK_ST(maph_get(db, big, 49, buf, sizeof buf, &n), MAPH_NOT_FOUND);
    maph_close(db);
}

/* ---- MAPH_E_FULL ------------------------------------------------------- */

static void test_insert_into_full_store_reports_full_and_stats_show_it(void) {
    char p[H_PATH_MAX];
    maph_options o = small_options(8, 64);
    maph_t *db = NULL;
    maph_stats_t s;
    char k[16];
    int i, ok = 0;
    uint32_t st = MAPH_OK;
    o.max_probes = 8;
    o.seed = 0x5eed;
    REQUIRE_ST(maph_create(h_path(p, "f.maph"), &o, &db), MAPH_OK);
    for (i = 0; i < 100; i++) {
        snprintf(k, sizeof k, "k%d", i);
        st = maph_set(db, k, strlen(k), "v", 1);
        if (st != MAPH_OK) break;
        ok++;
    }
    CHECK_ST(st, MAPH_E_FULL);
    CHECK(maph_last_error()[0] != '\0');
    /* max_probes == slots: every slot is reachable, so all 8 fill */
    CHECK(ok == 8);
    CHECK_ST(maph_stats(db, &s), MAPH_OK);
    CHECK(s.keys == 8 && s.slots == 8);
    CHECK(s.load_factor == 1.0);
    CHECK(s.max_probes == 8);
    /* 8 keys in 8 slots: with this fixed seed some key is off its home */
    CHECK(s.longest_probe >= 1 && s.longest_probe <= 7);
    /* a second failed insert changes nothing */
    CHECK_ST(maph_set(db, "another", 7, "v", 1), MAPH_E_FULL);
    CHECK_ST(maph_stats(db, &s), MAPH_OK);
    CHECK(s.keys == 8);
    maph_close(db);
}

static void test_full_store_still_overwrites_and_reuses_a_deleted_slot(void) {
    char p[H_PATH_MAX];
    maph_options o = small_options(8, 64);
    maph_t *db = NULL;
    maph_stats_t s;
    char k[16], buf[16];
    size_t n = 0;
    int i;
    o.max_probes = 8;
    REQUIRE_ST(maph_create(h_path(p, "f.maph"), &o, &db), MAPH_OK);
    for (i = 0; i < 8; i++) {
        snprintf(k, sizeof k, "k%d", i);
        CHECK_ST(maph_set(db, k, strlen(k), "v", 1), MAPH_OK);
    }
    CHECK_ST(maph_set(db, "new", 3, "v", 1), MAPH_E_FULL);
    CHECK_ST(maph_set(db, "k3", 2, "changed", 7), MAPH_OK);
    CHECK_ST(maph_get(db, "k3", 2, buf, sizeof buf, &n), MAPH_OK);
    CHECK(n == 7 && memcmp(buf, "changed", 7) == 0);
    CHECK_ST(maph_del(db, "k5", 2), MAPH_OK);
    CHECK_ST(maph_set(db, "new", 3, "v", 1), MAPH_OK);
    CHECK_ST(maph_get(db, "new", 3, buf, sizeof buf, &n), MAPH_OK);
    CHECK_ST(maph_stats(db, &s), MAPH_OK);
    CHECK(s.keys == 8 && s.tombstones == 0);
    for (i = 0; i < 8; i++) {
        snprintf(k, sizeof k, "k%d", i);
        CHECK_ST(maph_get(db, k, strlen(k), buf, sizeof buf, &n),
                 i == 5 ? MAPH_NOT_FOUND : MAPH_OK);
    }
    maph_close(db);
}

static void test_max_probes_1_reports_full_before_the_store_fills(void) {
    char p[H_PATH_MAX];
    maph_options o = small_options(64, 64);
    maph_t *db = NULL;
    maph_stats_t s;
    char k[16];
    int i, ok = 0, full = 0;
    o.max_probes = 1;
    REQUIRE_ST(maph_create(h_path(p, "f.maph"), &o, &db), MAPH_OK);
    for (i = 0; i < 1000; i++) {
        uint32_t st;
        snprintf(k, sizeof k, "k%d", i);
        st = maph_set(db, k, strlen(k), "v", 1);
        if (st == MAPH_OK) ok++;
        else if (st == MAPH_E_FULL) full++;
        else CHECK_ST(st, MAPH_OK);
    }
    CHECK(full > 0);
    CHECK(ok > 0 && ok <= 64);
    CHECK_ST(maph_stats(db, &s), MAPH_OK);
    CHECK(s.keys == (uint64_t)ok);
    CHECK(s.longest_probe == 0);
    CHECK(s.load_factor == (double)ok / 64.0);
    maph_close(db);
}

/* ---- MAPH_E_READ_ONLY -------------------------------------------------- */

static void test_writes_through_read_only_handle_report_read_only(void) {
    char p[H_PATH_MAX];
    maph_t *db = NULL;
    maph_stats_t s;
    char buf[16];
    size_t n = 0;
    REQUIRE(make_store(p, "s.maph") != NULL);
    REQUIRE_ST(maph_open(p, MAPH_RDONLY, &db), MAPH_OK);
    CHECK_ST(maph_set(db, "new", 3, "v", 1), MAPH_E_READ_ONLY);
    CHECK(maph_last_error()[0] != '\0');
    CHECK_ST(maph_set(db, "key1", 4, "v", 1), MAPH_E_READ_ONLY);
    CHECK_ST(maph_del(db, "key2", 4), MAPH_E_READ_ONLY);
    CHECK_ST(maph_sync(db), MAPH_OK);
    CHECK_ST(maph_get(db, "key1", 4, buf, sizeof buf, &n), MAPH_OK);
    CHECK(n == 6 && memcmp(buf, "value1", 6) == 0);
    CHECK_ST(maph_get(db, "key2", 4, buf, sizeof buf, &n), MAPH_OK);
    CHECK_ST(maph_get(db, "new", 3, buf, sizeof buf, &n), MAPH_NOT_FOUND);
    CHECK_ST(maph_stats(db, &s), MAPH_OK);
    CHECK(s.keys == 10);
    maph_close(db);
}

/* ---- MAPH_E_BUSY ------------------------------------------------------- */

/* A writer that crashed inside a slot leaves its seqlock word odd. */
static off_t lock_slot_in_file(const char *p, const char *key) {
    off_t slot = h_slot_of(p, key, strlen(key));
    uint64_t w;
    if (slot <= 0) return -1;
    w = h_read_u64(p, slot);
    if (w == 0 || (w & 1) != 0) return -1;
    /* odd version, locked by lock entry 0 (an entry past the table is
     * MAPH_E_CORRUPT at once: tests/fuzz_regressions.rs) */
    if (h_write_u64(p, slot, (w & 0xffffffffu) + 1) != 0) return -1;
    return slot;
}

static void test_get_of_slot_left_locked_by_crashed_writer_reports_busy_not_hang(void) {
    char p[H_PATH_MAX];
    maph_t *db = NULL;
    char buf[16];
    size_t n = 0;
    double t0, dt;
    REQUIRE(make_store(p, "s.maph") != NULL);
    REQUIRE(lock_slot_in_file(p, "key4") > 0);
    REQUIRE_ST(maph_open(p, MAPH_RDONLY, &db), MAPH_OK);
    t0 = h_now();
    CHECK_ST(maph_get(db, "key4", 4, buf, sizeof buf, &n), MAPH_E_BUSY);
    dt = h_now() - t0;
    CHECK(dt >= 1.5 && dt < 20.0); /* the documented 2 s wait limit */
    CHECK(maph_last_error()[0] != '\0');
    maph_close(db);
}

static void test_get_of_slot_with_odd_word_3_reports_busy(void) {
    char p[H_PATH_MAX];
    maph_t *db = NULL;
    char buf[16];
    size_t n = 0;
    off_t slot;
    REQUIRE(make_store(p, "s.maph") != NULL);
    slot = h_slot_of(p, "key6", 4);
    REQUIRE(slot > 0);
    REQUIRE(h_write_u64(p, slot, 3) == 0);
    REQUIRE_ST(maph_open(p, MAPH_RDONLY, &db), MAPH_OK);
    CHECK_ST(maph_get(db, "key6", 4, buf, sizeof buf, &n), MAPH_E_BUSY);
    maph_close(db);
}

/* A slot locked by lock entry 0 while entry 0 is free with no redo record:
 * no writer is inside (a machine crash leaves this). A writable handle
 * publishes the slot as it stands and goes on, instead of answering
 * MAPH_E_BUSY on every access forever. */
static void test_set_of_key_in_slot_left_locked_with_no_writer_publishes_it_not_busy(void) {
    char p[H_PATH_MAX];
    maph_t *db = NULL;
    char buf[16];
    size_t n = 0;
    uint64_t violations = 1;
    double t0, dt;
    REQUIRE(make_store(p, "s.maph") != NULL);
    REQUIRE(lock_slot_in_file(p, "key8") > 0);
    REQUIRE_ST(maph_open(p, MAPH_RDWR, &db), MAPH_OK);
    t0 = h_now();
    CHECK_ST(maph_set(db, "key8", 4, "new", 3), MAPH_OK);
    dt = h_now() - t0;
    CHECK(dt < 1.0);
    CHECK_ST(maph_get(db, "key8", 4, buf, sizeof buf, &n), MAPH_OK);
    CHECK(n == 3 && memcmp(buf, "new", 3) == 0);
    CHECK_ST(maph_check(db, &violations), MAPH_OK);
    CHECK(violations == 0);
    maph_close(db);
}

/* The same slot while entry 0 is owned by a live process (this one): a
 * writer may be inside, so a write waits the documented 2 s and answers
 * MAPH_E_BUSY instead of hanging. */
static void test_set_of_key_in_slot_locked_by_a_live_writer_reports_busy_not_hang(void) {
    char p[H_PATH_MAX];
    maph_t *db = NULL;
    double t0, dt;
    REQUIRE(make_store(p, "s.maph") != NULL);
    REQUIRE(lock_slot_in_file(p, "key8") > 0);
    /* lock entry 0's owner word: the first u32 at locks_offset (header 48) */
    REQUIRE(h_write_u32(p, (off_t)h_read_u64(p, 48), (uint32_t)getpid()) == 0);
    REQUIRE_ST(maph_open(p, MAPH_RDWR, &db), MAPH_OK);
    t0 = h_now();
    CHECK_ST(maph_set(db, "key8", 4, "new", 3), MAPH_E_BUSY);
    dt = h_now() - t0;
    CHECK(dt >= 1.5 && dt < 20.0);
    maph_close(db);
}

int main(void) {
    RUN(test_open_of_missing_path_reports_io);
    RUN(test_create_in_missing_directory_reports_io);
    RUN(test_create_over_existing_store_reports_exists_and_keeps_it);
    RUN(test_create_over_existing_other_file_reports_exists_and_leaves_it);
    RUN(test_open_of_zero_length_file_reports_corrupt);
    RUN(test_open_of_file_shorter_than_a_header_reports_corrupt);
    RUN(test_open_of_store_truncated_by_one_byte_reports_corrupt);
    RUN(test_open_of_store_truncated_to_its_header_reports_corrupt);
    RUN(test_open_of_store_with_an_extra_byte_reports_corrupt);
    RUN(test_open_of_file_with_bad_magic_reports_corrupt);
    RUN(test_open_of_non_store_file_of_store_size_reports_corrupt);
    RUN(test_open_with_changed_slot_count_fails_checksum_and_reports_corrupt);
    RUN(test_open_with_any_flipped_checksummed_header_byte_reports_corrupt);
    RUN(test_open_with_counters_beyond_their_limits_reports_corrupt);
    RUN(test_open_of_another_format_version_reports_version_before_checksum);
    RUN(test_get_of_slot_whose_value_length_exceeds_the_slot_reports_corrupt);
    RUN(test_get_of_slot_whose_key_length_exceeds_the_slot_reports_corrupt);
    RUN(test_set_beyond_the_heap_or_the_longest_key_reports_too_large);
    RUN(test_get_with_a_key_over_65535_bytes_reports_too_large);
    RUN(test_insert_into_full_store_reports_full_and_stats_show_it);
    RUN(test_full_store_still_overwrites_and_reuses_a_deleted_slot);
    RUN(test_max_probes_1_reports_full_before_the_store_fills);
    RUN(test_writes_through_read_only_handle_report_read_only);
    RUN(test_get_of_slot_left_locked_by_crashed_writer_reports_busy_not_hang);
    RUN(test_get_of_slot_with_odd_word_3_reports_busy);
    RUN(test_set_of_key_in_slot_left_locked_with_no_writer_publishes_it_not_busy);
    RUN(test_set_of_key_in_slot_locked_by_a_live_writer_reports_busy_not_hang);
    return h_summary();
}
