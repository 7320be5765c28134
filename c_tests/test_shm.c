/*
 * Tables in shared memory: by name in /dev/shm (maph_shm_create,
 * maph_shm_open_or_create, maph_shm_open, maph_shm_unlink) and anonymous
 * (maph_create_anonymous). Names are unique per process and test, and are
 * unlinked at the end of each test.
 */
#include <sys/wait.h>

#include "harness.h"

static char shm_name[64];

static const char *fresh_name(void) {
    static int n;
    snprintf(shm_name, sizeof shm_name, "maph-ctest-%d-%d", (int)getpid(), n++);
    return shm_name;
}

static maph_options small_options(void) {
    maph_options o;
    maph_options_default(&o);
    o.slots = 64;
    o.slot_size = 128;
    o.lock_count = 16;
    return o;
}

static int shm_exists(const char *name) {
    char p[128];
    struct stat st;
    snprintf(p, sizeof p, "/dev/shm/%s", name);
    return stat(p, &st) == 0;
}

static int has_str(const maph_t *db, const char *key, const char *want) {
    char buf[128];
    size_t n = 0;
    if (maph_get(db, key, strlen(key), buf, sizeof buf, &n) != MAPH_OK) return 0;
    return n == strlen(want) && memcmp(buf, want, n) == 0;
}

static int child_ok(pid_t pid) {
    int status = 0;
    return waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void test_shm_table_is_shared_by_name_with_other_handles_and_processes(void) {
    const char *name = fresh_name();
    maph_options o = small_options();
    maph_t *db = NULL, *ro = NULL;
    pid_t pid;
    REQUIRE_ST(maph_shm_create(name, &o, &db), MAPH_OK);
    CHECK(shm_exists(name));
    CHECK_ST(maph_set(db, "k", 1, "v", 1), MAPH_OK);
    CHECK_ST(maph_shm_open(name, MAPH_RDONLY, &ro), MAPH_OK);
    CHECK(ro != NULL && has_str(ro, "k", "v"));
    if (ro != NULL) CHECK_ST(maph_set(ro, "x", 1, "y", 1), MAPH_E_READ_ONLY);
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        maph_t *c = NULL;
        int ok = maph_shm_open(name, MAPH_RDWR, &c) == MAPH_OK && has_str(c, "k", "v") &&
                 maph_set(c, "from-child", 10, "hi", 2) == MAPH_OK;
        maph_close(c);
        _exit(ok ? 0 : 1);
    }
    CHECK(child_ok(pid));
    CHECK(has_str(db, "from-child", "hi"));
    CHECK(ro != NULL && has_str(ro, "from-child", "hi"));
    maph_close(ro);
    maph_close(db);
    CHECK_ST(maph_shm_unlink(name), MAPH_OK);
    CHECK(!shm_exists(name));
}

static void test_shm_contents_outlive_the_handles_until_unlinked(void) {
    const char *name = fresh_name();
    maph_options o = small_options();
    maph_t *db = NULL;
    REQUIRE_ST(maph_shm_create(name, &o, &db), MAPH_OK);
    CHECK_ST(maph_set(db, "k", 1, "kept", 4), MAPH_OK);
    maph_close(db);
    REQUIRE_ST(maph_shm_open(name, MAPH_RDWR, &db), MAPH_OK);
    CHECK(has_str(db, "k", "kept"));
    maph_close(db);
    CHECK_ST(maph_shm_unlink(name), MAPH_OK);
}

static void test_shm_create_of_existing_name_reports_exists(void) {
    const char *name = fresh_name();
    maph_options o = small_options();
    maph_t *db = NULL, *second = (maph_t *)(uintptr_t)0x1000;
    REQUIRE_ST(maph_shm_create(name, &o, &db), MAPH_OK);
    CHECK_ST(maph_set(db, "k", 1, "v", 1), MAPH_OK);
    CHECK_ST(maph_shm_create(name, &o, &second), MAPH_E_EXISTS);
    CHECK(second == NULL);
    CHECK(has_str(db, "k", "v"));
    maph_close(db);
    CHECK_ST(maph_shm_unlink(name), MAPH_OK);
}

static void test_shm_open_or_create_creates_then_opens_with_the_first_options(void) {
    const char *name = fresh_name();
    maph_options o = small_options(), other = small_options();
    maph_t *a = NULL, *b = NULL;
    maph_stats_t s;
    REQUIRE_ST(maph_shm_open_or_create(name, &o, &a), MAPH_OK);
    CHECK_ST(maph_set(a, "k", 1, "v", 1), MAPH_OK);
    other.slots = 128;
    REQUIRE_ST(maph_shm_open_or_create(name, &other, &b), MAPH_OK);
    CHECK_ST(maph_stats(b, &s), MAPH_OK);
    CHECK(s.slots == 64);
    CHECK(has_str(b, "k", "v"));
    maph_close(a);
    maph_close(b);
    CHECK_ST(maph_shm_unlink(name), MAPH_OK);
}

static void test_shm_open_or_create_racing_processes_share_one_table(void) {
    const char *name = fresh_name();
    maph_options o = small_options();
    maph_t *db = NULL;
    pid_t pids[3];
    char k[8];
    int i;
    fflush(stdout);
    fflush(stderr);
    for (i = 0; i < 3; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            maph_t *c = NULL;
            char kk[8];
            int ok;
            snprintf(kk, sizeof kk, "p%d", i);
            ok = maph_shm_open_or_create(name, &o, &c) == MAPH_OK &&
                 maph_set(c, kk, strlen(kk), "v", 1) == MAPH_OK;
            maph_close(c);
            _exit(ok ? 0 : 1);
        }
    }
    for (i = 0; i < 3; i++) CHECK(pids[i] > 0 && child_ok(pids[i]));
    REQUIRE_ST(maph_shm_open(name, MAPH_RDONLY, &db), MAPH_OK);
    for (i = 0; i < 3; i++) {
        snprintf(k, sizeof k, "p%d", i);
        CHECK(has_str(db, k, "v"));
    }
    maph_close(db);
    CHECK_ST(maph_shm_unlink(name), MAPH_OK);
}

/* A missing table and a missing queue set answer the same status (they
 * answered MAPH_E_IO and MAPH_NOT_FOUND before). */
static void test_missing_table_and_missing_queue_set_both_report_not_found(void) {
    maph_t *db = (maph_t *)(uintptr_t)0x1000;
    maph_queue_t *q = (maph_queue_t *)(uintptr_t)0x1000;
    const char *name = fresh_name();
    CHECK_ST(maph_shm_open(name, MAPH_RDONLY, &db), MAPH_NOT_FOUND);
    CHECK(db == NULL);
    CHECK_ST(maph_shm_unlink(name), MAPH_NOT_FOUND);
    CHECK_ST(maph_queue_open(name, &q), MAPH_NOT_FOUND);
    CHECK(q == NULL);
    CHECK_ST(maph_queue_unlink(name), MAPH_NOT_FOUND);
}

static void test_shm_unlink_keeps_open_handles_working_and_frees_the_name(void) {
    const char *name = fresh_name();
    maph_options o = small_options();
    maph_t *db = NULL, *again = NULL;
    REQUIRE_ST(maph_shm_create(name, &o, &db), MAPH_OK);
    CHECK_ST(maph_shm_unlink(name), MAPH_OK);
    CHECK(!shm_exists(name));
    CHECK_ST(maph_set(db, "k", 1, "still here", 10), MAPH_OK);
    CHECK(has_str(db, "k", "still here"));
    CHECK_ST(maph_shm_unlink(name), MAPH_NOT_FOUND);
    CHECK_ST(maph_shm_open(name, MAPH_RDONLY, &again), MAPH_NOT_FOUND);
    /* the name can be created anew: a new, empty table */
    REQUIRE_ST(maph_shm_create(name, &o, &again), MAPH_OK);
    CHECK(!has_str(again, "k", "still here"));
    maph_close(again);
    maph_close(db);
    CHECK_ST(maph_shm_unlink(name), MAPH_OK);
}

static void test_shm_table_has_mode_0600_despite_umask_022(void) {
    const char *name = fresh_name();
    maph_t *db = NULL;
    char p[128];
    struct stat st;
    mode_t old = umask(022);
    REQUIRE_ST(maph_shm_create(name, NULL, &db), MAPH_OK);
    umask(old);
    snprintf(p, sizeof p, "/dev/shm/%s", name);
    CHECK(stat(p, &st) == 0 && (st.st_mode & 07777) == 0600);
    maph_close(db);
    CHECK_ST(maph_shm_unlink(name), MAPH_OK);
}

static void test_bad_shm_names_report_invalid_arg(void) {
    char long_name[300];
    const char *bad[5];
    maph_options o = small_options();
    size_t i;
    memset(long_name, 'n', 256);
    long_name[256] = '\0';
    bad[0] = "";
    bad[1] = "a/b";
    bad[2] = "/leading-slash";
    bad[3] = long_name;
    bad[4] = "..";
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        maph_t *db = (maph_t *)(uintptr_t)0x1000;
        CHECK_ST(maph_shm_create(bad[i], &o, &db), MAPH_E_INVALID_ARG);
        CHECK(db == NULL);
        CHECK_ST(maph_shm_open_or_create(bad[i], &o, &db), MAPH_E_INVALID_ARG);
        CHECK_ST(maph_shm_open(bad[i], MAPH_RDWR, &db), MAPH_E_INVALID_ARG);
        CHECK_ST(maph_shm_unlink(bad[i]), MAPH_E_INVALID_ARG);
    }
    /* 255 bytes is allowed */
    long_name[255] = '\0';
    {
        maph_t *db = NULL;
        CHECK_ST(maph_shm_create(long_name, &o, &db), MAPH_OK);
        maph_close(db);
        CHECK_ST(maph_shm_unlink(long_name), MAPH_OK);
    }
}

static void test_shm_create_with_bad_options_reports_invalid_arg_and_leaves_no_name(void) {
    const char *name = fresh_name();
    maph_options o = small_options();
    maph_t *db = NULL;
    o.slot_size = 100;
    CHECK_ST(maph_shm_create(name, &o, &db), MAPH_E_INVALID_ARG);
    CHECK(!shm_exists(name));
    o = small_options();
    o.reserved[0] = 1;
    CHECK_ST(maph_shm_open_or_create(name, &o, &db), MAPH_E_INVALID_ARG);
    CHECK(!shm_exists(name));
}

static void test_anonymous_table_is_shared_with_forked_children(void) {
    maph_options o = small_options();
    maph_t *db = NULL;
    maph_stats_t s;
    pid_t pid;
    REQUIRE_ST(maph_create_anonymous(&o, &db), MAPH_OK);
    CHECK_ST(maph_set(db, "parent", 6, "p", 1), MAPH_OK);
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        int ok = has_str(db, "parent", "p") && maph_set(db, "child", 5, "c", 1) == MAPH_OK;
        _exit(ok ? 0 : 1);
    }
    CHECK(child_ok(pid));
    CHECK(has_str(db, "child", "c"));
    CHECK_ST(maph_stats(db, &s), MAPH_OK);
    CHECK(s.keys == 2 && s.slots == 64);
    maph_close(db);
}

/* A forked worker prefaults the inherited table (no first-touch faults
 * later) and still reads and writes it; NULL is an invalid argument. */
static void test_prefault_in_a_forked_worker_keeps_the_table_shared(void) {
    maph_options o = small_options();
    maph_t *db = NULL;
    pid_t pid;
    REQUIRE_ST(maph_create_anonymous(&o, &db), MAPH_OK);
    CHECK_ST(maph_set(db, "parent", 6, "p", 1), MAPH_OK);
    CHECK_ST(maph_prefault(NULL), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_prefault(db), MAPH_OK);
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        int ok = maph_prefault(db) == MAPH_OK && has_str(db, "parent", "p") &&
                 maph_set(db, "child", 5, "c", 1) == MAPH_OK;
        _exit(ok ? 0 : 1);
    }
    CHECK(child_ok(pid));
    CHECK(has_str(db, "child", "c"));
    maph_close(db);
}

static void test_anonymous_table_with_default_options_works(void) {
    maph_t *db = NULL;
    maph_stats_t s;
    REQUIRE_ST(maph_create_anonymous(NULL, &db), MAPH_OK);
    CHECK_ST(maph_stats(db, &s), MAPH_OK);
    CHECK(s.slots == 65536 && s.slot_size == 128);
    CHECK_ST(maph_set(db, "k", 1, "v", 1), MAPH_OK);
    CHECK(has_str(db, "k", "v"));
    maph_close(db);
}

static void test_anonymous_table_with_bad_options_reports_invalid_arg(void) {
    maph_options o = small_options();
    maph_t *db = (maph_t *)(uintptr_t)0x1000;
    o.slot_size = 100;
    CHECK_ST(maph_create_anonymous(&o, &db), MAPH_E_INVALID_ARG);
    CHECK(db == NULL);
    CHECK_ST(maph_create_anonymous(NULL, NULL), MAPH_E_INVALID_ARG);
}

int main(void) {
    RUN(test_shm_table_is_shared_by_name_with_other_handles_and_processes);
    RUN(test_shm_contents_outlive_the_handles_until_unlinked);
    RUN(test_shm_create_of_existing_name_reports_exists);
    RUN(test_shm_open_or_create_creates_then_opens_with_the_first_options);
    RUN(test_shm_open_or_create_racing_processes_share_one_table);
    RUN(test_missing_table_and_missing_queue_set_both_report_not_found);
    RUN(test_prefault_in_a_forked_worker_keeps_the_table_shared);
    RUN(test_shm_unlink_keeps_open_handles_working_and_frees_the_name);
    RUN(test_shm_table_has_mode_0600_despite_umask_022);
    RUN(test_bad_shm_names_report_invalid_arg);
    RUN(test_shm_create_with_bad_options_reports_invalid_arg_and_leaves_no_name);
    RUN(test_anonymous_table_is_shared_with_forked_children);
    RUN(test_anonymous_table_with_default_options_works);
    RUN(test_anonymous_table_with_bad_options_reports_invalid_arg);
    return h_summary();
}
