/*
 * Background flush from C: maph_flush_start / maph_flush_stop. Whether
 * the bytes reach the disk is checked from Rust with the kernel's page
 * flags (tests/flush.rs); here: the API's arguments, a handle closed with
 * its flusher running, restarts, and a forked child that inherits the
 * handle but not the thread.
 */
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static maph_status make(maph_t **db) {
    char p[H_PATH_MAX];
    maph_options o;
    maph_options_default(&o);
    o.slots = 256;
    return maph_create(h_path(p, "f.maph"), &o, db);
}

static void test_flush_arguments_are_checked(void) {
    maph_t *db = NULL;
    REQUIRE_ST(make(&db), MAPH_OK);
    CHECK_ST(maph_flush_start(NULL, 10, 0), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_flush_start(db, 0, 0), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_flush_stop(NULL), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_flush_stop(db), MAPH_OK); /* none runs */
    maph_close(db);
}

static void test_restart_stop_and_close_with_a_running_flusher(void) {
    char p[H_PATH_MAX];
    maph_t *db = NULL;
    char buf[8];
    size_t n = 0;
    int i;
    REQUIRE_ST(make(&db), MAPH_OK);
    CHECK_ST(maph_flush_start(db, 5, 10), MAPH_OK);
    for (i = 0; i < 100; i++) CHECK_ST(maph_set(db, "k", 1, "v1", 2), MAPH_OK);
    CHECK_ST(maph_flush_start(db, 0, 3), MAPH_OK); /* new settings */
    CHECK_ST(maph_set(db, "k", 1, "v2", 2), MAPH_OK);
    CHECK_ST(maph_flush_stop(db), MAPH_OK);
    CHECK_ST(maph_flush_start(db, 1000, 0), MAPH_OK);
    maph_close(db); /* stops and joins it */
    REQUIRE_ST(maph_open(h_path(p, "f.maph"), MAPH_RDONLY, &db), MAPH_OK);
    CHECK_ST(maph_get(db, "k", 1, buf, sizeof buf, &n), MAPH_OK);
    CHECK(n == 2 && memcmp(buf, "v2", 2) == 0);
    maph_close(db);
}

static void test_forked_child_closes_a_handle_whose_flusher_runs_in_the_parent(void) {
    maph_t *db = NULL;
    pid_t pid;
    int status = 0;
    REQUIRE_ST(make(&db), MAPH_OK);
    CHECK_ST(maph_flush_start(db, 2, 0), MAPH_OK);
    pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        /* The child has no flush thread: stop and close must not wait for
         * the parent's. */
        if (maph_set(db, "child", 5, "x", 1) != MAPH_OK) _exit(2);
        if (maph_flush_stop(db) != MAPH_OK) _exit(3);
        maph_close(db);
        _exit(0);
    }
    alarm(20);
    CHECK(waitpid(pid, &status, 0) == pid);
    alarm(0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK_ST(maph_flush_stop(db), MAPH_OK);
    maph_close(db);
}

int main(void) {
    RUN(test_flush_arguments_are_checked);
    RUN(test_restart_stop_and_close_with_a_running_flusher);
    RUN(test_forked_child_closes_a_handle_whose_flusher_runs_in_the_parent);
    return h_summary();
}
