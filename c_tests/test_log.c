/* The multiplexed log's C API (maph_log_*, issue 17): per-writer order
 * across forked processes, drops counted and announced, waits that time
 * out, lines too long refused (write and printf), the drain thread's file,
 * writers killed with SIGKILL at random moments, names and bad arguments. */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/wait.h>

#include "harness.h"

#define MAX_WRITERS 64

/* Checks the stream as the drain callback sees it: positions increase and
 * each pid's lines "w<w> <seq>" have consecutive seq. */
typedef struct {
    uint64_t last_pos;
    int have_pos;
    uint32_t pids[MAX_WRITERS];
    uint64_t next[MAX_WRITERS];
    int npids;
    uint64_t lines, dropped, torn, bad;
} checker;

static int check_cb(void *ctx, const maph_log_record_t *r) {
    checker *c = (checker *)ctx;
    char buf[MAPH_LOG_MAX_LINE + 1];
    unsigned w = 0;
    unsigned long long seq = 0;
    int i;
    if (r->kind != MAPH_LOG_DROPPED) {
        if (c->have_pos && r->pos <= c->last_pos) c->bad++;
        c->last_pos = r->pos;
        c->have_pos = 1;
    }
    if (r->kind == MAPH_LOG_DROPPED) { c->dropped += r->count; return 0; }
    if (r->kind == MAPH_LOG_TORN) { c->torn++; return 0; }
    if (r->kind != MAPH_LOG_LINE) { c->bad++; return 0; }
    c->lines++;
    memcpy(buf, r->line, r->len);
    buf[r->len] = 0;
    if (sscanf(buf, "w%u %llu", &w, &seq) != 2) { c->bad++; return 0; }
    for (i = 0; i < c->npids && c->pids[i] != r->pid; i++) {}
    if (i == c->npids) {
        if (c->npids == MAX_WRITERS) { c->bad++; return 0; }
        c->pids[c->npids++] = r->pid;
        c->next[i] = 0;
    }
    if (seq != c->next[i]) c->bad++;
    c->next[i] = seq + 1;
    return 0;
}

static void drain_all(maph_log_t *log, checker *c) {
    size_t n = 0;
    do {
        n = 0;
        if (maph_log_drain(log, check_cb, c, 4096, &n) != MAPH_OK) { c->bad++; return; }
    } while (n > 0);
}

static void write_lines(maph_log_t *log, unsigned w, uint64_t count) {
    uint64_t i;
    for (i = 0; i < count; i++) {
        if (maph_log_printf(log, MAPH_LOG_INFO, "w%u %llu some padding", w,
                            (unsigned long long)i) != MAPH_OK)
            _exit(2);
    }
}

static int child_ok(pid_t pid) {
    int st = 0;
    return waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static void test_lines_of_forked_writers_keep_each_writers_order(void) {
    maph_log_t *log = NULL;
    checker c;
    pid_t kids[3];
    int i, alive = 3;
    memset(&c, 0, sizeof c);
    REQUIRE_ST(maph_log_create_anon(1 << 20, &log), MAPH_OK);
    fflush(stdout);
    fflush(stderr);
    for (i = 0; i < 3; i++) {
        kids[i] = fork();
        REQUIRE(kids[i] >= 0);
        if (kids[i] == 0) {
            uint64_t k;
            char line[64];
            for (k = 0; k < 20000; k++) {
                int n = snprintf(line, sizeof line, "w%d %llu", i, (unsigned long long)k);
                if (maph_log_write_wait(log, MAPH_LOG_INFO, line, (size_t)n,
                                        MAPH_LOG_WAIT_FOREVER) != MAPH_OK)
                    _exit(2);
            }
            _exit(0);
        }
    }
    while (alive > 0) {
        drain_all(log, &c);
        alive = 0;
        for (i = 0; i < 3; i++)
            if (kids[i] > 0 && waitpid(kids[i], NULL, WNOHANG) == 0) alive++;
        usleep(100);
    }
    drain_all(log, &c);
    CHECK(c.bad == 0);
    CHECK(c.lines == 60000);
    CHECK(c.npids == 3);
    for (i = 0; i < c.npids; i++) CHECK(c.next[i] == 20000);
    maph_log_close(log);
}

static void test_full_buffer_drops_counts_and_announces(void) {
    maph_log_t *log = NULL;
    maph_log_stats_t st;
    checker c;
    int i, ok = 0, full = 0;
    memset(&c, 0, sizeof c);
    REQUIRE_ST(maph_log_create_anon(64 * 1024, &log), MAPH_OK);
    for (i = 0; i < 100; i++) {
        char line[32];
        int n = snprintf(line, sizeof line, "w0 %d", i);
        maph_status s = maph_log_write(log, MAPH_LOG_WARN, line, (size_t)n);
        if (s == MAPH_OK) ok++;
        else if (s == MAPH_E_FULL) full++;
    }
    CHECK(ok == 64 && full == 36);
    CHECK_ST(maph_log_stats(log, &st), MAPH_OK);
    CHECK(st.slot_count == 64 && st.dropped == 36 && st.claimed == 64);
    drain_all(log, &c);
    CHECK(c.lines == 64 && c.dropped == 36 && c.bad == 0);
    CHECK_ST(maph_log_stats(log, &st), MAPH_OK);
    CHECK(st.drained == 64 && st.consumed == 64);
    maph_log_close(log);
}

static void test_waiting_writer_times_out_without_a_drainer(void) {
    maph_log_t *log = NULL;
    maph_log_stats_t st;
    double t0;
    int i;
    REQUIRE_ST(maph_log_create_anon(64 * 1024, &log), MAPH_OK);
    for (i = 0; i < 64; i++) CHECK_ST(maph_log_write(log, 6, "x", 1), MAPH_OK);
    t0 = h_now();
    CHECK_ST(maph_log_write_wait(log, 6, "late", 4, 30), MAPH_E_TIMEOUT);
    CHECK(h_now() - t0 >= 0.029);
    CHECK_ST(maph_log_write_wait(log, 6, "late", 4, -2), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_log_stats(log, &st), MAPH_OK);
    CHECK(st.dropped == 1);
    maph_log_close(log);
}

static void test_too_long_line_is_refused_whole_by_write_and_printf(void) {
    maph_log_t *log = NULL;
    maph_log_stats_t st;
    static char big[MAPH_LOG_MAX_LINE + 2];
    memset(big, 'a', sizeof big - 1);
    REQUIRE_ST(maph_log_create_anon(64 * 1024, &log), MAPH_OK);
    CHECK_ST(maph_log_write(log, 6, big, MAPH_LOG_MAX_LINE + 1), MAPH_E_TOO_LARGE);
    CHECK_ST(maph_log_printf(log, 6, "%s", big), MAPH_E_TOO_LARGE);
    CHECK_ST(maph_log_stats(log, &st), MAPH_OK);
    CHECK(st.claimed == 0);
    CHECK_ST(maph_log_write(log, 6, big, MAPH_LOG_MAX_LINE), MAPH_OK);
    /* No log: the line goes to stderr. */
    CHECK_ST(maph_log_printf(NULL, MAPH_LOG_DEBUG, "test_log: printf without a log goes to stderr"),
             MAPH_OK);
    maph_log_close(log);
}

static size_t count_lines(const char *path) {
    FILE *f = fopen(path, "r");
    size_t n = 0;
    int ch;
    if (!f) return 0;
    while ((ch = fgetc(f)) != EOF)
        if (ch == '\n') n++;
    fclose(f);
    return n;
}

static void test_drain_thread_writes_a_file_and_killed_writers_block_nothing(void) {
    char lp[H_PATH_MAX], op[H_PATH_MAX];
    maph_log_t *log = NULL;
    maph_log_stats_t st;
    uint64_t written = 0;
    int round;
    h_path(lp, "app.maphlog");
    h_path(op, "app.out");
    REQUIRE_ST(maph_log_create(lp, 1 << 20, &log), MAPH_OK);
    CHECK_ST(maph_log_drain_start(log, op, -1, MAPH_LOG_TRUNC), MAPH_OK);
    CHECK_ST(maph_log_drain_start(log, op, -1, 0), MAPH_E_CONFLICT);
    fflush(stdout);
    fflush(stderr);
    for (round = 0; round < 200; round++) {
        pid_t p = fork();
        REQUIRE(p >= 0);
        if (p == 0) {
            maph_log_t *mine = NULL;
            /* open by name, as an unrelated process would */
            if (maph_log_open(lp, &mine) != MAPH_OK) _exit(2);
            write_lines(mine, (unsigned)round, UINT64_MAX);
            _exit(0);
        }
        usleep((useconds_t)(200 + (round * 7919) % 1500));
        kill(p, SIGKILL);
        waitpid(p, NULL, 0);
    }
    {
        pid_t p = fork();
        REQUIRE(p >= 0);
        if (p == 0) {
            uint64_t k;
            char line[64];
            for (k = 0; k < 1000; k++) {
                int n = snprintf(line, sizeof line, "w999 %llu", (unsigned long long)k);
                if (maph_log_write_wait(log, MAPH_LOG_INFO, line, (size_t)n,
                                        MAPH_LOG_WAIT_FOREVER) != MAPH_OK)
                    _exit(2);
            }
            _exit(0);
        }
        CHECK(child_ok(p));
    }
    CHECK_ST(maph_log_drain_stop(log, &written), MAPH_OK);
    CHECK_ST(maph_log_drain_stop(log, &written), MAPH_NOT_FOUND);
    CHECK_ST(maph_log_stats(log, &st), MAPH_OK);
    CHECK(st.consumed == st.claimed);
    /* Killed writers drop lines when the drain thread is behind: those are
     * counted and announced, never torn into the stream. */
    CHECK(st.corrupt == 0 && st.stalled == 0);
    CHECK(written >= st.drained + st.torn);
    CHECK(written <= st.drained + st.torn + st.dropped);
    CHECK(count_lines(op) == written);
    CHECK(st.drained >= 1000);
    maph_log_close(log);
}

static void test_names_files_and_bad_arguments(void) {
    char lp[H_PATH_MAX];
    maph_log_t *a = NULL, *b = NULL;
    size_t n = 7;
    h_path(lp, "named.maphlog");
    CHECK_ST(maph_log_create(NULL, 1 << 20, &a), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_log_create(lp, 1 << 20, NULL), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_log_create(lp, 1000, &a), MAPH_E_INVALID_ARG);
    CHECK(a == NULL);
    CHECK_ST(maph_log_open(lp, &a), MAPH_NOT_FOUND);
    REQUIRE_ST(maph_log_create(lp, 1 << 20, &a), MAPH_OK);
    CHECK_ST(maph_log_create(lp, 1 << 20, &b), MAPH_E_EXISTS);
    REQUIRE_ST(maph_log_open(lp, &b), MAPH_OK);
    CHECK_ST(maph_log_write(a, 3, "shared", 6), MAPH_OK);
    CHECK_ST(maph_log_write(a, 3, NULL, 1), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_log_drain(b, NULL, NULL, 10, &n), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_log_drain_start(b, NULL, -1, 0), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_log_drain_start(b, NULL, 2, 0x80), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_log_stats(NULL, NULL), MAPH_E_INVALID_ARG);
    {
        checker c;
        memset(&c, 0, sizeof c);
        CHECK_ST(maph_log_drain(b, check_cb, &c, 10, &n), MAPH_OK);
        CHECK(n == 1);
    }
    maph_log_close(b);
    maph_log_close(a);
    maph_log_close(NULL);
    CHECK_ST(maph_log_unlink(lp), MAPH_OK);
    CHECK_ST(maph_log_unlink(lp), MAPH_NOT_FOUND);
    CHECK_ST(maph_log_unlink(NULL), MAPH_E_INVALID_ARG);
}

int main(void) {
    RUN(test_lines_of_forked_writers_keep_each_writers_order);
    RUN(test_full_buffer_drops_counts_and_announces);
    RUN(test_waiting_writer_times_out_without_a_drainer);
    RUN(test_too_long_line_is_refused_whole_by_write_and_printf);
    RUN(test_drain_thread_writes_a_file_and_killed_writers_block_nothing);
    RUN(test_names_files_and_bad_arguments);
    return h_summary();
}
