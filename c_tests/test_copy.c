/*
 * maph_copy: a consistent copy of a live store, plain or compacted,
 * optionally optimized; the copy opens, passes maph_check and holds every
 * key that was stable during the copy, with its TTL.
 */
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static maph_status make(const char *name, uint64_t slots, maph_t **db) {
    char p[H_PATH_MAX];
    maph_options o;
    maph_options_default(&o);
    o.slots = slots;
    o.slot_size = 128;
    return maph_create(h_path(p, name), &o, db);
}

static void val_of(int i, char *v, size_t *vl) {
    /* Every 9th value goes to the heap. */
    *vl = i % 9 == 0 ? 500 : 20;
    memset(v, 'a' + i % 26, *vl);
}

/* Number of keys "s<i>" (i < n) missing or wrong in `db`. */
static int stable_missing(const maph_t *db, int n) {
    int i, bad = 0;
    for (i = 0; i < n; i++) {
        char k[32], v[600], got[600];
        size_t kl, vl, gl = 0;
        kl = (size_t)snprintf(k, sizeof k, "s%d", i);
        val_of(i, v, &vl);
        if (maph_get(db, k, kl, got, sizeof got, &gl) != MAPH_OK || gl != vl || memcmp(got, v, vl) != 0)
            bad++;
    }
    return bad;
}

static off_t file_size(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 ? st.st_size : -1;
}

static void test_copies_taken_beside_a_writer_process_hold_every_stable_key(void) {
    char src[H_PATH_MAX], dst[H_PATH_MAX];
    maph_t *db = NULL, *cp = NULL;
    pid_t pid;
    int i, status = 0;
    uint32_t flags[4] = {0, MAPH_COPY_COMPACT, MAPH_COPY_OPTIMIZE, MAPH_COPY_COMPACT | MAPH_COPY_OPTIMIZE};
    REQUIRE_ST(make("src.maph", 20000, &db), MAPH_OK);
    h_path(src, "src.maph");
    for (i = 0; i < 5000; i++) {
        char k[32], v[600];
        size_t kl = (size_t)snprintf(k, sizeof k, "s%d", i), vl;
        val_of(i, v, &vl);
        CHECK_ST(maph_set(db, k, kl, v, vl), MAPH_OK);
    }
    CHECK_ST(maph_set_ex(db, "ttl-key", 7, "t", 1, 3600000), MAPH_OK);
    pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        maph_t *w = NULL;
        unsigned n = 0;
        if (maph_open(src, MAPH_RDWR, &w) != MAPH_OK) _exit(3);
        for (;;) {
            char k[32], v[400];
            size_t kl = (size_t)snprintf(k, sizeof k, "w%u", n % 3000);
            size_t vl = n % 5 == 0 ? 300 : 8;
            memset(v, 'w', vl);
            if (n % 4 == 3) maph_del(w, k, kl);
            else maph_set(w, k, kl, v, vl);
            n++;
        }
    }
    usleep(20000);
    for (i = 0; i < 4; i++) {
        char name[32];
        uint64_t violations = 1;
        int64_t ttl = 0;
        maph_stats_t st;
        snprintf(name, sizeof name, "copy%d.maph", i);
        CHECK_ST(maph_copy(db, h_path(dst, name), flags[i]), MAPH_OK);
        REQUIRE_ST(maph_open(dst, MAPH_RDONLY, &cp), MAPH_OK);
        CHECK_ST(maph_check(cp, &violations), MAPH_OK);
        CHECK(violations == 0);
        CHECK(stable_missing(cp, 5000) == 0);
        CHECK_ST(maph_ttl(cp, "ttl-key", 7, &ttl), MAPH_OK);
        CHECK(ttl > 3000000 && ttl <= 3600000);
        CHECK_ST(maph_stats(cp, &st), MAPH_OK);
        CHECK((st.mphf_in_use != 0) == ((flags[i] & MAPH_COPY_OPTIMIZE) != 0));
        if (flags[i] & MAPH_COPY_COMPACT) {
            /* ~7,500 keys: ~10,000 slots of the source's 20,000. */
            CHECK(st.slots < 12000);
            CHECK(file_size(dst) < file_size(src) / 5 * 3);
        } else {
            CHECK(st.slots == 20000);
        }
        maph_close(cp);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status));
    maph_close(db);
}

static void test_copy_refuses_an_existing_path_bad_flags_and_null(void) {
    char p[H_PATH_MAX], q[H_PATH_MAX];
    maph_t *db = NULL;
    REQUIRE_ST(make("src.maph", 64, &db), MAPH_OK);
    h_path(p, "src.maph");
    CHECK_ST(maph_copy(db, p, 0), MAPH_E_EXISTS);
    CHECK_ST(maph_copy(db, p, MAPH_COPY_COMPACT), MAPH_E_EXISTS);
    CHECK_ST(maph_copy(db, h_path(q, "new.maph"), 4), MAPH_E_INVALID_ARG);
    CHECK(access(q, F_OK) != 0);
    CHECK_ST(maph_copy(NULL, q, 0), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_copy(db, NULL, 0), MAPH_E_INVALID_ARG);
    maph_close(db);
}

static void test_copy_of_a_grown_store_holds_every_key(void) {
    char p[H_PATH_MAX], q[H_PATH_MAX];
    maph_options o;
    maph_t *db = NULL, *cp = NULL;
    int i, f;
    maph_options_default(&o);
    o.slots = 0;
    REQUIRE_ST(maph_create(h_path(p, "grow.maph"), &o, &db), MAPH_OK);
    for (i = 0; i < 5000; i++) {
        char k[32], v[600];
        size_t kl = (size_t)snprintf(k, sizeof k, "s%d", i), vl;
        val_of(i, v, &vl);
        CHECK_ST(maph_set(db, k, kl, v, vl), MAPH_OK);
    }
    for (f = 0; f < 2; f++) {
        uint64_t violations = 1;
        CHECK_ST(maph_copy(db, h_path(q, f ? "c1.maph" : "c0.maph"), f ? MAPH_COPY_COMPACT : 0), MAPH_OK);
        REQUIRE_ST(maph_open(q, MAPH_RDONLY, &cp), MAPH_OK);
        CHECK_ST(maph_check(cp, &violations), MAPH_OK);
        CHECK(violations == 0);
        CHECK(stable_missing(cp, 5000) == 0);
        maph_close(cp);
    }
    maph_close(db);
}

int main(void) {
    RUN(test_copies_taken_beside_a_writer_process_hold_every_stable_key);
    RUN(test_copy_refuses_an_existing_path_bad_flags_and_null);
    RUN(test_copy_of_a_grown_store_holds_every_key);
    return h_summary();
}
