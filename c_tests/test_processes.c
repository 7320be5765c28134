/*
 * Many processes on one store: a handle inherited across fork(), and a
 * child that opens the same path anew. Children report through their exit
 * status (0: every check passed; otherwise the number of failed checks,
 * capped at 100) and print their failures to stderr.
 */
#include <sys/wait.h>

#include "harness.h"

#define PER_PROC 1000

static int child_failures;

#define CCHECK(cond)                                                         \
    do {                                                                     \
        if (!(cond)) {                                                       \
            child_failures++;                                                \
            fprintf(stderr, "%s:%d: child %d: CHECK failed: %s\n", __FILE__, \
                    __LINE__, (int)getpid(), #cond);                         \
        }                                                                    \
    } while (0)

static void child_exit(void) {
    fflush(stderr);
    _exit(child_failures > 100 ? 100 : child_failures);
}

/* Waits for `pid`; 1 when it exited with status 0. */
static int child_ok(pid_t pid) {
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) return 0;
    if (!WIFEXITED(status)) {
        fprintf(stderr, "child %d did not exit normally (status %#x)\n", (int)pid, status);
        return 0;
    }
    if (WEXITSTATUS(status) != 0) {
        fprintf(stderr, "child %d reported %d failed checks\n", (int)pid, WEXITSTATUS(status));
    }
    return WEXITSTATUS(status) == 0;
}

static void key_of(char *k, size_t cap, char who, int i) {
    snprintf(k, cap, "%c:%d", who, i);
}

static void val_of(char *v, size_t cap, char who, int i) {
    /* lengths vary with i so that a mixed-up value cannot pass */
    snprintf(v, cap, "%c-value-%d-%.*s", who, i, i % 40, "0123456789012345678901234567890123456789");
}

/* Writes who:0..PER_PROC-1; returns the number of failed writes. */
static int write_keys(maph_t *db, char who) {
    char k[32], v[96];
    int i, bad = 0;
    for (i = 0; i < PER_PROC; i++) {
        key_of(k, sizeof k, who, i);
        val_of(v, sizeof v, who, i);
        if (maph_set(db, k, strlen(k), v, strlen(v)) != MAPH_OK) bad++;
    }
    return bad;
}

/* Reads who:0..PER_PROC-1 back; returns the number of wrong values. */
static int read_keys(const maph_t *db, char who) {
    char k[32], v[96], buf[128];
    size_t n;
    int i, bad = 0;
    for (i = 0; i < PER_PROC; i++) {
        key_of(k, sizeof k, who, i);
        val_of(v, sizeof v, who, i);
        n = 0;
        if (maph_get(db, k, strlen(k), buf, sizeof buf, &n) != MAPH_OK || n != strlen(v) ||
            memcmp(buf, v, n) != 0) {
            if (bad < 5) fprintf(stderr, "process %d: %s is wrong\n", (int)getpid(), k);
            bad++;
        }
    }
    return bad;
}

static maph_status make(const char *name, maph_t **db) {
    char p[H_PATH_MAX];
    maph_options o;
    maph_options_default(&o);
    o.slots = 8192;
    o.slot_size = 128;
    o.lock_count = 256;
    return maph_create(h_path(p, name), &o, db);
}

static int send_byte(int fd, char c) { return write(fd, &c, 1) == 1 ? 0 : -1; }

static int recv_byte(int fd, char want) {
    char c = 0;
    return read(fd, &c, 1) == 1 && c == want ? 0 : -1;
}

static void test_fork_parent_and_child_write_concurrently_then_read_all_keys(void) {
    maph_t *db = NULL;
    maph_stats_t s;
    int c2p[2], p2c[2];
    pid_t pid;
    REQUIRE_ST(make("f.maph", &db), MAPH_OK);
    REQUIRE(pipe(c2p) == 0 && pipe(p2c) == 0);
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        close(c2p[0]);
        close(p2c[1]);
        /* start together */
        CCHECK(send_byte(c2p[1], 'r') == 0);
        CCHECK(recv_byte(p2c[0], 'g') == 0);
        CCHECK(write_keys(db, 'c') == 0);
        /* rendezvous: both done writing */
        CCHECK(send_byte(c2p[1], 'd') == 0);
        CCHECK(recv_byte(p2c[0], 'd') == 0);
        CCHECK(read_keys(db, 'c') == 0);
        CCHECK(read_keys(db, 'p') == 0);
        maph_close(db);
        child_exit();
    }
    close(c2p[1]);
    close(p2c[0]);
    CHECK(recv_byte(c2p[0], 'r') == 0);
    CHECK(send_byte(p2c[1], 'g') == 0);
    CHECK(write_keys(db, 'p') == 0);
    CHECK(recv_byte(c2p[0], 'd') == 0);
    CHECK(send_byte(p2c[1], 'd') == 0);
    CHECK(read_keys(db, 'p') == 0);
    CHECK(read_keys(db, 'c') == 0);
    CHECK(child_ok(pid));
    close(c2p[0]);
    close(p2c[1]);
    CHECK_ST(maph_stats(db, &s), MAPH_OK);
    CHECK(s.keys == 2 * PER_PROC);
    maph_close(db);
}

static void test_process_opening_the_same_path_sees_parent_writes_and_vice_versa(void) {
    char p[H_PATH_MAX];
    maph_t *db = NULL;
    char buf[64];
    size_t n = 0;
    pid_t pid;
    REQUIRE_ST(make("o.maph", &db), MAPH_OK);
    h_path(p, "o.maph");
    CHECK(write_keys(db, 'p') == 0); /* no maph_sync: the page cache is shared */
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        /* forget the inherited handle: open the path anew, twice */
        maph_t *ro = NULL, *rw = NULL;
        CCHECK(maph_open(p, MAPH_RDONLY, &ro) == MAPH_OK);
        CCHECK(maph_open(p, MAPH_RDWR, &rw) == MAPH_OK);
        if (ro != NULL) CCHECK(read_keys(ro, 'p') == 0);
        if (rw != NULL) {
            CCHECK(maph_set(rw, "from-child", 10, "hi parent", 9) == MAPH_OK);
            CCHECK(maph_del(rw, "p:7", 3) == MAPH_OK);
            CCHECK(write_keys(rw, 'c') == 0);
        }
        maph_close(ro);
        maph_close(rw);
        child_exit();
    }
    CHECK(child_ok(pid));
    CHECK_ST(maph_get(db, "from-child", 10, buf, sizeof buf, &n), MAPH_OK);
    CHECK(n == 9 && memcmp(buf, "hi parent", 9) == 0);
    CHECK_ST(maph_get(db, "p:7", 3, buf, sizeof buf, &n), MAPH_NOT_FOUND);
    CHECK(read_keys(db, 'c') == 0);
    maph_close(db);
}

static void test_child_exiting_without_close_leaves_its_writes_visible(void) {
    char p[H_PATH_MAX];
    maph_t *db = NULL;
    char buf[64];
    size_t n = 0;
    pid_t pid;
    REQUIRE_ST(make("x.maph", &db), MAPH_OK);
    h_path(p, "x.maph");
    maph_close(db);
    db = NULL;
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        maph_t *rw = NULL;
        CCHECK(maph_open(p, MAPH_RDWR, &rw) == MAPH_OK);
        if (rw != NULL) CCHECK(maph_set(rw, "last", 4, "words", 5) == MAPH_OK);
        child_exit(); /* no maph_close, no maph_sync */
    }
    CHECK(child_ok(pid));
    REQUIRE_ST(maph_open(p, MAPH_RDWR, &db), MAPH_OK);
    CHECK_ST(maph_get(db, "last", 4, buf, sizeof buf, &n), MAPH_OK);
    CHECK(n == 5 && memcmp(buf, "words", 5) == 0);
    /* the key's lock is free again: another write goes through at once */
    CHECK_ST(maph_set(db, "last", 4, "again", 5), MAPH_OK);
    maph_close(db);
}

static void test_many_forked_writers_of_one_key_leave_one_whole_value(void) {
    maph_t *db = NULL;
    char buf[128];
    size_t n = 0;
    pid_t pids[3];
    int i, j;
    REQUIRE_ST(make("k.maph", &db), MAPH_OK);
    fflush(stdout);
    fflush(stderr);
    for (i = 0; i < 3; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            char v[100];
            for (j = 0; j < 2000; j++) {
                size_t len = (size_t)(10 + (i * 37 + j) % 80); /* key 6 + 89 <= 96 */
                memset(v, 'a' + i, len);
                maph_status st = maph_set(db, "shared", 6, v, len);
                if (st != MAPH_OK && child_failures < 3)
                    fprintf(stderr, "child %d: write %d: %s (%s)\n", i, j,
                            h_status_name(st), maph_last_error());
                CCHECK(st == MAPH_OK);
            }
            child_exit();
        }
        CHECK(pids[i] > 0);
    }
    for (i = 0; i < 3; i++) {
        if (pids[i] > 0) CHECK(child_ok(pids[i]));
    }
    CHECK_ST(maph_get(db, "shared", 6, buf, sizeof buf, &n), MAPH_OK);
    CHECK(n >= 10 && n < 100);
    for (j = 1; j < (int)n; j++) CHECK(buf[j] == buf[0]);
    maph_close(db);
}

int main(void) {
    RUN(test_fork_parent_and_child_write_concurrently_then_read_all_keys);
    RUN(test_process_opening_the_same_path_sees_parent_writes_and_vice_versa);
    RUN(test_child_exiting_without_close_leaves_its_writes_visible);
    RUN(test_many_forked_writers_of_one_key_leave_one_whole_value);
    return h_summary();
}
