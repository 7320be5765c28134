/*
 * A store larger than the free space of its file system must be refused at
 * creation with MAPH_E_FULL and leave nothing behind; one that fits must be
 * fillable to its load limit without the process dying of SIGBUS (the bug:
 * a 64 MiB store was created on a 16 MiB tmpfs and the first write past
 * the free space killed the process).
 *
 * Each case forks a child that enters its own mount namespace
 * (unshare(CLONE_NEWNS)), mounts a 16 MiB tmpfs on a directory and on
 * /dev/shm, and runs the scenario; the parent checks that the child exited
 * 0 and was not killed by a signal. Mounting needs root: as another user
 * the cases print SKIPPED, and fail when CI is set (CI runs as root).
 */
#define _GNU_SOURCE
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>

#include "harness.h"

#define KEYS_FIT 16384u

static int child_failures;

#define C_CHECK(cond)                                                        \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "%s:%d: child CHECK failed: %s (last error: \"%s\")\n", \
                    __FILE__, __LINE__, #cond, maph_last_error());           \
            child_failures++;                                                \
        }                                                                    \
    } while (0)

static maph_options opts_for(uint64_t slots) {
    maph_options o;
    maph_options_default(&o);
    o.slots = slots;
    o.slot_size = 512; /* the sizes below are in 512-byte slots */
    o.lock_count = 64;
    return o;
}

static int dir_is_empty_but(const char *dir, const char *allowed) {
    DIR *d = opendir(dir);
    struct dirent *e;
    int ok = 1;
    if (d == NULL) return 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        if (allowed != NULL && strcmp(e->d_name, allowed) == 0) continue;
        fprintf(stderr, "left behind: %s/%s\n", dir, e->d_name);
        ok = 0;
    }
    closedir(d);
    return ok;
}

/* Writes 400-byte values until MAPH_E_FULL; checks every one reads back. */
static uint32_t fill(maph_t *db) {
    char key[32], val[400], buf[512];
    uint32_t i, n = 0;
    size_t len;
    maph_status st = MAPH_OK;
    for (i = 0; i < KEYS_FIT; i++) {
        int kl = snprintf(key, sizeof key, "key:%08u", i);
        memset(val, (int)(i % 251), sizeof val);
        st = maph_set(db, key, (size_t)kl, val, sizeof val);
        if (st != MAPH_OK) break;
        n++;
    }
    C_CHECK(st == MAPH_OK || st == MAPH_E_FULL);
    for (i = 0; i < n; i++) {
        int kl = snprintf(key, sizeof key, "key:%08u", i);
        memset(val, (int)(i % 251), sizeof val);
        C_CHECK(maph_get(db, key, (size_t)kl, buf, sizeof buf, &len) == MAPH_OK &&
                len == sizeof val && memcmp(buf, val, len) == 0);
    }
    return n;
}

static void scenario_file(const char *mnt) {
    char big[H_PATH_MAX], fits[H_PATH_MAX], second[H_PATH_MAX];
    maph_options o = opts_for(131072); /* 64 MiB on a 16 MiB tmpfs */
    maph_t *db = (maph_t *)1;
    h_path(big, "mnt/big");
    h_path(fits, "mnt/fits");
    h_path(second, "mnt/second");

    C_CHECK(maph_create(big, &o, &db) == MAPH_E_FULL);
    C_CHECK(db == NULL);
    C_CHECK(strstr(maph_last_error(), "No space left") != NULL);
    C_CHECK(dir_is_empty_but(mnt, NULL));

    o = opts_for(KEYS_FIT); /* 8 MiB fits */
    C_CHECK(maph_create(fits, &o, &db) == MAPH_OK);
    if (db == NULL) return;
    C_CHECK(fill(db) >= KEYS_FIT * 3 / 4);
    maph_close(db);

    C_CHECK(maph_create(second, &o, &db) == MAPH_E_FULL);
    C_CHECK(dir_is_empty_but(mnt, "fits"));

    o = opts_for(131072);
    o.flags = MAPH_CREATE_SPARSE; /* asked for: created, takes no space */
    C_CHECK(maph_create(big, &o, &db) == MAPH_OK);
    maph_close(db);
}

static void scenario_shm(void) {
    maph_options o = opts_for(131072);
    maph_t *db = (maph_t *)1;
    maph_queue_t *q = NULL;
    C_CHECK(maph_shm_create("big", &o, &db) == MAPH_E_FULL);
    C_CHECK(db == NULL);
    C_CHECK(dir_is_empty_but("/dev/shm", NULL));

    o = opts_for(KEYS_FIT);
    C_CHECK(maph_shm_create("fits", &o, &db) == MAPH_OK);
    if (db == NULL) return;
    C_CHECK(fill(db) >= KEYS_FIT * 3 / 4);
    /* 4096 elements of 4 KiB: 16 MiB beside an 8 MiB table */
    C_CHECK(maph_queue_create("q", 4096, 4096, 2, &q) == MAPH_E_FULL);
    C_CHECK(q == NULL);
    C_CHECK(dir_is_empty_but("/dev/shm", "fits"));
    maph_close(db);
    C_CHECK(maph_shm_unlink("fits") == MAPH_OK);
}

/* A log buffer (issue 17) is reserved at creation like a store: a file or
 * /dev/shm log larger than its tmpfs is MAPH_E_FULL, with nothing left. */
static void scenario_log(const char *mnt) {
    char big[H_PATH_MAX];
    maph_log_t *log = (maph_log_t *)1;
    h_path(big, "mnt/big.log");
    C_CHECK(maph_log_create(big, 64u << 20, &log) == MAPH_E_FULL);
    C_CHECK(log == NULL);
    C_CHECK(strstr(maph_last_error(), "No space left") != NULL);
    C_CHECK(dir_is_empty_but(mnt, NULL));
    log = (maph_log_t *)1;
    C_CHECK(maph_log_create("biglog", 64u << 20, &log) == MAPH_E_FULL);
    C_CHECK(log == NULL);
    C_CHECK(dir_is_empty_but("/dev/shm", NULL));
}

/* Runs `scenario` in a child with a private mount namespace and a 16 MiB
 * tmpfs on h_dir/mnt and on /dev/shm. */
static void in_small_tmpfs(int which) {
    char mnt[H_PATH_MAX];
    pid_t pid;
    int status = 0;
    if (geteuid() != 0) {
        CHECK(getenv("CI") == NULL); /* CI runs as root: never skip there */
        printf("SKIPPED: not root, cannot mount a tmpfs\n");
        return;
    }
    h_path(mnt, "mnt");
    REQUIRE(mkdir(mnt, 0700) == 0);
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        if (unshare(CLONE_NEWNS) != 0 ||
            mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
            mount("tmpfs", mnt, "tmpfs", 0, "size=16m") != 0 ||
            mount("tmpfs", "/dev/shm", "tmpfs", 0, "size=16m") != 0) {
            fprintf(stderr, "mount namespace setup: %s\n", strerror(errno));
            _exit(3);
        }
        if (which == 0) {
            scenario_file(mnt);
        } else if (which == 1) {
            scenario_shm();
        } else {
            scenario_log(mnt);
        }
        _exit(child_failures == 0 ? 0 : 1);
    }
    REQUIRE(waitpid(pid, &status, 0) == pid);
    if (WIFSIGNALED(status)) {
        fprintf(stderr, "child killed by signal %d (7 = SIGBUS)\n", WTERMSIG(status));
    }
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_store_larger_than_its_file_system_is_refused_not_sigbus(void) {
    in_small_tmpfs(0);
}

static void test_shm_table_and_queue_larger_than_dev_shm_are_refused_not_sigbus(void) {
    in_small_tmpfs(1);
}

static void test_log_larger_than_its_file_system_is_refused_not_sigbus(void) {
    in_small_tmpfs(2);
}

static void test_unknown_create_flags_are_invalid(void) {
    char p[H_PATH_MAX];
    maph_options o = opts_for(64);
    maph_t *db = (maph_t *)1;
    o.flags = 2;
    CHECK_ST(maph_create(h_path(p, "s"), &o, &db), MAPH_E_INVALID_ARG);
    CHECK(db == NULL);
    CHECK(access(p, F_OK) != 0);
}

int main(void) {
    RUN(test_store_larger_than_its_file_system_is_refused_not_sigbus);
    RUN(test_shm_table_and_queue_larger_than_dev_shm_are_refused_not_sigbus);
    RUN(test_log_larger_than_its_file_system_is_refused_not_sigbus);
    RUN(test_unknown_create_flags_are_invalid);
    return h_summary();
}
