/*
 * A tiny test harness for the maph C tests.
 *
 *   static void test_something_guards_against_x(void) { CHECK(1 + 1 == 2); }
 *   int main(void) { RUN(test_something_guards_against_x); return h_summary(); }
 *
 * CHECK(cond)            records a failure (file:line and the expression) and
 *                        goes on with the test case.
 * REQUIRE(cond)          the same, then returns from the test case (use it
 *                        when going on would crash, e.g. on a NULL handle).
 * CHECK_ST(call, want)   compares a maph_status with the expected one; on a
 *                        mismatch prints both names and maph_last_error().
 * REQUIRE_ST(call, want) the same, then returns.
 *
 * RUN(fn) runs one test case in a fresh temporary directory (mkdtemp under
 * /tmp, in h_dir; h_path() builds a path inside it), removes the directory
 * afterwards, and prints one line per case. h_summary() prints the binary's
 * last line, "N passed, N failed" (counting test cases), which the Makefile
 * sums over all binaries; it returns the exit status (0: all passed).
 */
#ifndef MAPH_C_TESTS_HARNESS_H
#define MAPH_C_TESTS_HARNESS_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "maph.h"

#define H_PATH_MAX 512

static int h_passed;
static int h_failed;
static int h_case_failures;
static char h_dir[H_PATH_MAX];

/* The enumerator name of a status, for failure messages: from the library's
 * own status table (maph_status_name), so it cannot drift from the enum. */
static inline const char *h_status_name(uint32_t s) {
    return maph_status_name(s);
}

static inline void h_fail(const char *file, int line, const char *what) {
    h_case_failures++;
    fprintf(stderr, "%s:%d: CHECK failed: %s\n", file, line, what);
}

static inline int h_check_st(const char *file, int line, const char *expr,
                             uint32_t got, uint32_t want) {
    if (got == want) {
        return 1;
    }
    h_case_failures++;
    fprintf(stderr, "%s:%d: CHECK failed: %s == %s, got %s (last error: \"%s\")\n",
            file, line, expr, h_status_name(want), h_status_name(got),
            maph_last_error());
    return 0;
}

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) h_fail(__FILE__, __LINE__, #cond);                      \
    } while (0)

#define REQUIRE(cond)                                                        \
    do {                                                                     \
        if (!(cond)) {                                                       \
            h_fail(__FILE__, __LINE__, #cond);                               \
            return;                                                          \
        }                                                                    \
    } while (0)

#define CHECK_ST(call, want)                                                 \
    ((void)h_check_st(__FILE__, __LINE__, #call, (uint32_t)(call), (uint32_t)(want)))

#define REQUIRE_ST(call, want)                                               \
    do {                                                                     \
        if (!h_check_st(__FILE__, __LINE__, #call, (uint32_t)(call),         \
                        (uint32_t)(want)))                                   \
            return;                                                          \
    } while (0)

/* Removes `path` and everything under it (no symlinks are followed). */
static inline void h_rm_rf(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) {
        return;
    }
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d != NULL) {
            struct dirent *e;
            while ((e = readdir(d)) != NULL) {
                char sub[H_PATH_MAX];
                int n;
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
                    continue;
                }
                n = snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
                if (n > 0 && (size_t)n < sizeof sub) h_rm_rf(sub);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

/* `out` = h_dir + "/" + name; returns out. Aborts on a name too long. */
static inline char *h_path(char out[H_PATH_MAX], const char *name) {
    int n = snprintf(out, H_PATH_MAX, "%s/%s", h_dir, name);
    if (n < 0 || n >= H_PATH_MAX) {
        fprintf(stderr, "h_path: path too long: %s/%s\n", h_dir, name);
        abort();
    }
    return out;
}

static inline double h_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reads/writes a little-endian integer at `off` of the file at `path`
 * (maph builds only for little-endian targets, so a plain copy is LE). */
static inline int h_pread(const char *path, off_t off, void *buf, size_t n) {
    int fd = open(path, O_RDONLY);
    ssize_t r;
    if (fd < 0) return -1;
    r = pread(fd, buf, n, off);
    close(fd);
    return r == (ssize_t)n ? 0 : -1;
}

static inline int h_pwrite(const char *path, off_t off, const void *buf, size_t n) {
    int fd = open(path, O_WRONLY);
    ssize_t r;
    if (fd < 0) return -1;
    r = pwrite(fd, buf, n, off);
    close(fd);
    return r == (ssize_t)n ? 0 : -1;
}

static inline uint32_t h_read_u32(const char *path, off_t off) {
    uint32_t v = 0;
    if (h_pread(path, off, &v, sizeof v) != 0) return UINT32_MAX;
    return v;
}

static inline uint64_t h_read_u64(const char *path, off_t off) {
    uint64_t v = 0;
    if (h_pread(path, off, &v, sizeof v) != 0) return UINT64_MAX;
    return v;
}

static inline int h_write_u32(const char *path, off_t off, uint32_t v) {
    return h_pwrite(path, off, &v, sizeof v);
}

static inline int h_write_u64(const char *path, off_t off, uint64_t v) {
    return h_pwrite(path, off, &v, sizeof v);
}

/* File offset of the live slot holding `key` in the store at `path`, or
 * -1. Reads the header (u32 slot_size at 16, u64 slot_count at 24, u64
 * slots_offset at 56) and each slot (u16 key_len at +8, u8 state at +10,
 * 1 = live, u8 flags at +11, key bytes at +16 — after an 8-byte expiry time
 * when flags bit 0 is set); see docs/FORMAT.md. Keys up to 64 bytes. */
static inline off_t h_slot_of(const char *path, const void *key, size_t klen) {
    uint32_t slot_size = h_read_u32(path, 16);
    uint64_t count = h_read_u64(path, 24);
    uint64_t base = h_read_u64(path, 56);
    uint64_t i;
    if (klen > 64 || slot_size < 64 || count == UINT64_MAX) return -1;
    for (i = 0; i < count; i++) {
        unsigned char hdr[24 + 64];
        off_t off = (off_t)(base + i * slot_size);
        uint16_t kl;
        size_t want = 24 + klen;
        size_t at;
        if (h_pread(path, off, hdr, want) != 0) return -1;
        memcpy(&kl, hdr + 8, 2);
        at = (hdr[11] & 1) ? 24 : 16;
        if (hdr[10] == 1 && kl == klen && memcmp(hdr + at, key, klen) == 0) return off;
    }
    return -1;
}

static inline void h_run(const char *name, void (*fn)(void)) {
    /* mkdtemp's template: the name ends in six 'X's, which it replaces. */
    size_t n = (size_t)snprintf(h_dir, sizeof h_dir, "/tmp/maph-ctest-");
    memset(h_dir + n, 'X', 6);
    h_dir[n + 6] = '\0';
    if (mkdtemp(h_dir) == NULL) {
        fprintf(stderr, "%s: mkdtemp: %s\n", name, strerror(errno));
        h_failed++;
        printf("[ FAIL ] %s\n", name);
        return;
    }
    h_case_failures = 0;
    printf("[ RUN  ] %s\n", name);
    fflush(stdout);
    fn();
    h_rm_rf(h_dir);
    if (h_case_failures == 0) {
        h_passed++;
        printf("[  OK  ] %s\n", name);
    } else {
        h_failed++;
        printf("[ FAIL ] %s\n", name);
    }
    fflush(stdout);
    fflush(stderr);
}

#define RUN(fn) h_run(#fn, fn)

static inline int h_summary(void) {
    printf("%d passed, %d failed\n", h_passed, h_failed);
    fflush(stdout);
    return h_failed == 0 ? 0 : 1;
}

#endif /* MAPH_C_TESTS_HARNESS_H */
