/*
 * Queue sets: maph_queue_create, maph_queue_create_anon, maph_queue_open,
 * maph_queue_close, maph_queue_unlink, maph_queue_info, maph_queue_name,
 * maph_queue_lookup, maph_queue_push, maph_queue_pull,
 * maph_queue_push_many, maph_queue_pull_many, maph_queue_wait,
 * maph_queue_elem, maph_queue_len, maph_queue_locate, maph_queue_held,
 * maph_queue_reclaim, maph_queue_audit; and many processes moving
 * elements at once, some of them killed with SIGKILL at random moments.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "harness.h"

static char set_name[64];

static const char *fresh_name(void) {
    static int n;
    snprintf(set_name, sizeof set_name, "maph-ctest-q-%d-%d", (int)getpid(), n++);
    return set_name;
}

static uint64_t qlen(const maph_queue_t *q, uint32_t qid) {
    uint64_t n = UINT64_MAX;
    if (maph_queue_len(q, qid, &n) != MAPH_OK) return UINT64_MAX;
    return n;
}

static int child_ok(pid_t pid) {
    int status = 0;
    return waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* 1 when the audit finds every element once, with `held` of them held. */
static int audit_is(const maph_queue_t *q, uint64_t count, uint64_t held) {
    maph_queue_audit_t a;
    memset(&a, 0xAB, sizeof a);
    if (maph_queue_audit(q, &a) != MAPH_OK) return 0;
    return a.elem_count == count && a.queued + a.held == count && a.held == held &&
           a.in_transit == 0 && a.stale == 0 && a.locks_held == 0 && a.reserved == 0;
}

static void test_new_set_has_every_element_in_queue_0_in_index_order(void) {
    maph_queue_t *q = NULL;
    maph_queue_info_t info;
    uint32_t elems[16];
    size_t n = 0, i;
    REQUIRE_ST(maph_queue_create_anon(8, 100, 3, &q), MAPH_OK);
    memset(&info, 0, sizeof info);
    CHECK_ST(maph_queue_info(q, &info), MAPH_OK);
    CHECK(info.elem_count == 8 && info.elem_size == 100 && info.queue_count == 3);
    CHECK(info.elem_stride == 128); /* 100 rounded up to 64 */
    CHECK(info.total_bytes >= 8 * 128);
    CHECK(qlen(q, 0) == 8 && qlen(q, 1) == 0 && qlen(q, 2) == 0);
    CHECK(audit_is(q, 8, 0));
    CHECK_ST(maph_queue_pull_many(q, 0, elems, 16, &n), MAPH_OK);
    CHECK(n == 8);
    for (i = 0; i < n; i++) CHECK(elems[i] == i);
    CHECK(qlen(q, 0) == 0);
    CHECK(audit_is(q, 8, 8));
    maph_queue_close(q);
}

static void test_pull_from_empty_queue_reports_empty(void) {
    maph_queue_t *q = NULL;
    uint32_t e = 99, elems[4];
    size_t n = 99;
    REQUIRE_ST(maph_queue_create_anon(4, 64, 2, &q), MAPH_OK);
    CHECK_ST(maph_queue_pull(q, 1, &e), MAPH_E_EMPTY);
    CHECK_ST(maph_queue_pull_many(q, 1, elems, 4, &n), MAPH_E_EMPTY);
    CHECK(n == 0);
    maph_queue_close(q);
}

static void test_push_and_pull_are_fifo_and_track_who_holds_each_element(void) {
    maph_queue_t *q = NULL;
    uint32_t a = 99, b = 99, c = 99, qid = 99, pid = 99;
    uint64_t held = 99;
    REQUIRE_ST(maph_queue_create_anon(4, 64, 2, &q), MAPH_OK);
    CHECK_ST(maph_queue_pull(q, 0, &a), MAPH_OK);
    CHECK_ST(maph_queue_pull(q, 0, &b), MAPH_OK);
    CHECK(a == 0 && b == 1);
    CHECK_ST(maph_queue_locate(q, a, &qid, &pid), MAPH_OK);
    CHECK(qid == MAPH_QUEUE_HELD && pid == (uint32_t)getpid());
    CHECK_ST(maph_queue_held(q, (uint32_t)getpid(), &held), MAPH_OK);
    CHECK(held == 2);
    CHECK_ST(maph_queue_held(q, 0, &held), MAPH_OK);
    CHECK(held == 2);
    CHECK_ST(maph_queue_push(q, 1, b), MAPH_OK);
    CHECK_ST(maph_queue_push(q, 1, a), MAPH_OK);
    CHECK_ST(maph_queue_locate(q, a, &qid, &pid), MAPH_OK);
    CHECK(qid == 1 && pid == 0);
    CHECK(qlen(q, 1) == 2);
    CHECK_ST(maph_queue_pull(q, 1, &c), MAPH_OK);
    CHECK(c == b); /* first in, first out */
    CHECK_ST(maph_queue_pull(q, 1, &c), MAPH_OK);
    CHECK(c == a);
    CHECK_ST(maph_queue_push(q, 0, a), MAPH_OK);
    CHECK_ST(maph_queue_push(q, 0, b), MAPH_OK);
    CHECK(audit_is(q, 4, 0));
    CHECK_ST(maph_queue_held(q, 0, &held), MAPH_OK);
    CHECK(held == 0);
    maph_queue_close(q);
}

static void test_push_of_an_element_not_held_reports_conflict(void) {
    maph_queue_t *q = NULL;
    uint32_t e = 0, pair[2];
    REQUIRE_ST(maph_queue_create_anon(4, 64, 2, &q), MAPH_OK);
    CHECK_ST(maph_queue_push(q, 1, 3), MAPH_E_CONFLICT); /* 3 is in queue 0 */
    CHECK(maph_last_error()[0] != '\0');
    CHECK_ST(maph_queue_pull(q, 0, &e), MAPH_OK);
    CHECK_ST(maph_queue_push(q, 1, e), MAPH_OK);
    CHECK_ST(maph_queue_push(q, 1, e), MAPH_E_CONFLICT); /* pushed twice */
    /* push_many: a repeated index, or an element not held: nothing moves */
    CHECK_ST(maph_queue_pull(q, 0, &pair[0]), MAPH_OK);
    pair[1] = pair[0];
    CHECK_ST(maph_queue_push_many(q, 1, pair, 2), MAPH_E_CONFLICT);
    pair[1] = 3; /* still in queue 0 */
    CHECK_ST(maph_queue_push_many(q, 1, pair, 2), MAPH_E_CONFLICT);
    CHECK(qlen(q, 1) == 1);
    CHECK(audit_is(q, 4, 1));
    CHECK_ST(maph_queue_push_many(q, 1, pair, 1), MAPH_OK);
    CHECK(audit_is(q, 4, 0));
    maph_queue_close(q);
}

static void test_push_many_and_pull_many_move_batches_in_order(void) {
    maph_queue_t *q = NULL;
    uint32_t out[64], back[64];
    size_t n = 0, m = 0, i;
    REQUIRE_ST(maph_queue_create_anon(40, 8, 2, &q), MAPH_OK);
    CHECK_ST(maph_queue_pull_many(q, 0, out, 25, &n), MAPH_OK);
    CHECK(n == 25);
    CHECK_ST(maph_queue_push_many(q, 1, out, n), MAPH_OK);
    CHECK(qlen(q, 1) == 25 && qlen(q, 0) == 15);
    CHECK_ST(maph_queue_pull_many(q, 1, back, 10, &m), MAPH_OK);
    CHECK(m == 10);
    for (i = 0; i < m; i++) CHECK(back[i] == out[i]);
    CHECK_ST(maph_queue_pull_many(q, 1, back + 10, 64, &m), MAPH_OK);
    CHECK(m == 15);
    for (i = 10; i < 25; i++) CHECK(back[i] == out[i]);
    CHECK_ST(maph_queue_pull_many(q, 1, back, 0, &m), MAPH_OK); /* cap 0 */
    CHECK(m == 0);
    CHECK_ST(maph_queue_push_many(q, 1, NULL, 0), MAPH_OK); /* n 0 */
    CHECK_ST(maph_queue_push_many(q, 0, out, 25), MAPH_OK);
    CHECK(audit_is(q, 40, 0));
    maph_queue_close(q);
}

static void test_element_memory_is_aligned_distinct_and_kept_across_moves(void) {
    maph_queue_t *q = NULL;
    uint32_t e = 0, f = 0;
    unsigned char *p0, *p1;
    REQUIRE_ST(maph_queue_create_anon(4, 100, 2, &q), MAPH_OK);
    p0 = maph_queue_elem(q, 0);
    p1 = maph_queue_elem(q, 1);
    REQUIRE(p0 != NULL && p1 != NULL);
    CHECK(((uintptr_t)p0 % 64) == 0 && ((uintptr_t)p1 % 64) == 0);
    CHECK(p1 - p0 == 128);
    CHECK(maph_queue_elem(q, 4) == NULL);
    CHECK(maph_queue_elem(q, UINT32_MAX) == NULL);
    CHECK(maph_queue_elem(NULL, 0) == NULL);
    CHECK_ST(maph_queue_pull(q, 0, &e), MAPH_OK);
    memset(maph_queue_elem(q, e), 0x5a, 100);
    CHECK_ST(maph_queue_push(q, 1, e), MAPH_OK);
    CHECK_ST(maph_queue_pull(q, 1, &f), MAPH_OK);
    CHECK(f == e);
    {
        unsigned char *p = maph_queue_elem(q, f);
        int i, ok = 1;
        for (i = 0; i < 100; i++) ok &= p[i] == 0x5a;
        CHECK(ok);
    }
    CHECK_ST(maph_queue_push(q, 0, f), MAPH_OK);
    maph_queue_close(q);
}

static void test_wait_returns_at_once_when_non_empty_and_times_out_when_empty(void) {
    maph_queue_t *q = NULL;
    double t0, dt;
    REQUIRE_ST(maph_queue_create_anon(4, 64, 2, &q), MAPH_OK);
    CHECK_ST(maph_queue_wait(q, 0, 0), MAPH_OK);
    CHECK_ST(maph_queue_wait(q, 0, MAPH_QUEUE_WAIT_FOREVER), MAPH_OK);
    CHECK_ST(maph_queue_wait(q, 1, 0), MAPH_E_TIMEOUT);
    t0 = h_now();
    CHECK_ST(maph_queue_wait(q, 1, 150), MAPH_E_TIMEOUT);
    dt = h_now() - t0;
    CHECK(dt >= 0.12 && dt < 5.0);
    maph_queue_close(q);
}

struct pusher {
    maph_queue_t *q;
    uint32_t elem;
    maph_status st;
};

static void *push_later(void *arg) {
    struct pusher *p = arg;
    struct timespec ts = {0, 150000000L};
    nanosleep(&ts, NULL);
    p->st = maph_queue_push(p->q, 1, p->elem);
    return NULL;
}

static void test_wait_is_woken_by_a_push_from_another_thread(void) {
    maph_queue_t *q = NULL;
    pthread_t t;
    struct pusher p;
    double t0, dt;
    uint32_t e = 0;
    REQUIRE_ST(maph_queue_create_anon(4, 64, 2, &q), MAPH_OK);
    REQUIRE_ST(maph_queue_pull(q, 0, &p.elem), MAPH_OK);
    p.q = q;
    p.st = (maph_status)99;
    REQUIRE(pthread_create(&t, NULL, push_later, &p) == 0);
    t0 = h_now();
    CHECK_ST(maph_queue_wait(q, 1, 10000), MAPH_OK);
    dt = h_now() - t0;
    pthread_join(t, NULL);
    CHECK_ST(p.st, MAPH_OK);
    CHECK(dt < 5.0);
    CHECK_ST(maph_queue_pull(q, 1, &e), MAPH_OK);
    CHECK(e == p.elem);
    maph_queue_close(q);
}

static void test_anonymous_set_is_shared_with_a_forked_child(void) {
    maph_queue_t *q = NULL;
    uint32_t e = 0;
    pid_t pid;
    REQUIRE_ST(maph_queue_create_anon(8, 64, 3, &q), MAPH_OK);
    REQUIRE_ST(maph_queue_pull(q, 0, &e), MAPH_OK);
    *(uint64_t *)maph_queue_elem(q, e) = 41;
    CHECK_ST(maph_queue_push(q, 1, e), MAPH_OK);
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        uint32_t c = 0;
        int ok = maph_queue_wait(q, 1, 5000) == MAPH_OK && maph_queue_pull(q, 1, &c) == MAPH_OK;
        if (ok) {
            *(uint64_t *)maph_queue_elem(q, c) += 1;
            ok = maph_queue_push(q, 2, c) == MAPH_OK;
        }
        _exit(ok ? 0 : 1);
    }
    CHECK_ST(maph_queue_wait(q, 2, 10000), MAPH_OK);
    CHECK(child_ok(pid));
    CHECK_ST(maph_queue_pull(q, 2, &e), MAPH_OK);
    CHECK(*(uint64_t *)maph_queue_elem(q, e) == 42);
    CHECK_ST(maph_queue_push(q, 0, e), MAPH_OK);
    CHECK(audit_is(q, 8, 0));
    maph_queue_close(q);
}

static void test_processes_passing_elements_back_and_forth_lose_none(void) {
    maph_queue_t *q = NULL;
    uint32_t all[16];
    size_t n = 0, moved = 0;
    pid_t pid;
    uint64_t sum = 0;
    uint32_t i;
    REQUIRE_ST(maph_queue_create_anon(16, 64, 3, &q), MAPH_OK);
    REQUIRE_ST(maph_queue_pull_many(q, 0, all, 16, &n), MAPH_OK);
    for (i = 0; i < n; i++) *(uint64_t *)maph_queue_elem(q, all[i]) = 0;
    REQUIRE_ST(maph_queue_push_many(q, 1, all, n), MAPH_OK);
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    REQUIRE(pid >= 0);
    /* the child moves 1 -> 2, the parent 2 -> 1, 3000 elements each */
    {
        uint32_t from = pid == 0 ? 1 : 2, to = pid == 0 ? 2 : 1, e;
        int bad = 0;
        double give_up = h_now() + 30.0;
        while (moved < 3000 && h_now() < give_up) {
            maph_status st = maph_queue_pull(q, from, &e);
            if (st == MAPH_E_EMPTY) {
                (void)maph_queue_wait(q, from, 100);
                continue;
            }
            if (st != MAPH_OK) {
                bad++;
                break;
            }
            *(uint64_t *)maph_queue_elem(q, e) += 1;
            if (maph_queue_push(q, to, e) != MAPH_OK) bad++;
            moved++;
        }
        if (pid == 0) _exit(bad == 0 && moved == 3000 ? 0 : 1);
        CHECK(bad == 0 && moved == 3000);
    }
    CHECK(child_ok(pid));
    CHECK(audit_is(q, 16, 0));
    for (i = 0; i < 16; i++) sum += *(uint64_t *)maph_queue_elem(q, i);
    CHECK(sum == 6000);
    maph_queue_close(q);
}

static void test_named_set_is_opened_by_name_and_unlinked(void) {
    const char *name = fresh_name();
    maph_queue_t *a = NULL, *b = NULL, *c = (maph_queue_t *)(uintptr_t)0x1000;
    maph_queue_info_t ia, ib;
    uint32_t e = 0, f = 0;
    char p[128];
    struct stat st;
    mode_t old = umask(022);
    REQUIRE_ST(maph_queue_create(name, 4, 64, 2, &a), MAPH_OK);
    umask(old);
    snprintf(p, sizeof p, "/dev/shm/%s", name);
    CHECK(stat(p, &st) == 0 && (st.st_mode & 07777) == 0600);
    CHECK_ST(maph_queue_create(name, 4, 64, 2, &c), MAPH_E_EXISTS);
    CHECK(c == NULL);
    REQUIRE_ST(maph_queue_open(name, &b), MAPH_OK);
    CHECK_ST(maph_queue_info(a, &ia), MAPH_OK);
    CHECK_ST(maph_queue_info(b, &ib), MAPH_OK);
    CHECK(ia.elem_count == ib.elem_count && ia.queue_count == ib.queue_count &&
          ia.elem_stride == ib.elem_stride && ia.total_bytes == ib.total_bytes);
    CHECK_ST(maph_queue_pull(a, 0, &e), MAPH_OK);
    *(uint32_t *)maph_queue_elem(a, e) = 0xfeed;
    CHECK_ST(maph_queue_push(a, 1, e), MAPH_OK);
    CHECK_ST(maph_queue_pull(b, 1, &f), MAPH_OK);
    CHECK(f == e && *(uint32_t *)maph_queue_elem(b, f) == 0xfeed);
    CHECK_ST(maph_queue_push(b, 0, f), MAPH_OK);
    CHECK_ST(maph_queue_unlink(name), MAPH_OK);
    CHECK(stat(p, &st) != 0);
    CHECK_ST(maph_queue_len(a, 0, &ia.total_bytes), MAPH_OK); /* still usable */
    CHECK_ST(maph_queue_unlink(name), MAPH_NOT_FOUND);
    c = (maph_queue_t *)(uintptr_t)0x1000;
    CHECK_ST(maph_queue_open(name, &c), MAPH_NOT_FOUND);
    CHECK(c == NULL);
    maph_queue_close(b);
    maph_queue_close(a);
}

static void test_bad_set_names_and_shapes_report_invalid_arg_and_leave_nothing(void) {
    char long_name[300];
    maph_queue_t *q = (maph_queue_t *)(uintptr_t)0x1000;
    const char *name = fresh_name();
    char p[128];
    memset(long_name, 'q', 251);
    long_name[251] = '\0';
    CHECK_ST(maph_queue_create("", 4, 64, 2, &q), MAPH_E_INVALID_ARG);
    CHECK(q == NULL);
    CHECK_ST(maph_queue_create("a/b", 4, 64, 2, &q), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_queue_create(long_name, 4, 64, 2, &q), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_queue_open("", &q), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_queue_open("a/b", &q), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_queue_unlink(""), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_queue_unlink("a/b"), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_queue_create(name, 0, 64, 2, &q), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_queue_create(name, 4, 0, 2, &q), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_queue_create(name, 4, 64, 0, &q), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_queue_create(name, 4, 64, 65537, &q), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_queue_create(name, (1u << 30) + 1, 64, 2, &q), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_queue_create(name, 4, (1u << 30) + 1, 2, &q), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_queue_create_anon(0, 64, 2, &q), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_queue_create_anon(4, 64, 0, &q), MAPH_E_INVALID_ARG);
    snprintf(p, sizeof p, "/dev/shm/%s", name);
    CHECK(access(p, F_OK) != 0);
    /* 250 bytes is allowed */
    long_name[250] = '\0';
    CHECK_ST(maph_queue_create(long_name, 1, 1, 1, &q), MAPH_OK);
    maph_queue_close(q);
    CHECK_ST(maph_queue_unlink(long_name), MAPH_OK);
}

static void test_queue_names_are_unique_and_looked_up(void) {
    maph_queue_t *q = NULL;
    uint32_t id = 99;
    char name32[40];
    REQUIRE_ST(maph_queue_create_anon(4, 64, 3, &q), MAPH_OK);
    CHECK_ST(maph_queue_lookup(q, "work", &id), MAPH_NOT_FOUND);
    CHECK_ST(maph_queue_name(q, 1, "work"), MAPH_OK);
    CHECK_ST(maph_queue_lookup(q, "work", &id), MAPH_OK);
    CHECK(id == 1);
    CHECK_ST(maph_queue_name(q, 2, "work"), MAPH_E_EXISTS);
    CHECK_ST(maph_queue_name(q, 2, "done"), MAPH_OK);
    CHECK_ST(maph_queue_lookup(q, "done", &id), MAPH_OK);
    CHECK(id == 2);
    CHECK_ST(maph_queue_name(q, 1, ""), MAPH_OK); /* removes the name */
    CHECK_ST(maph_queue_lookup(q, "work", &id), MAPH_NOT_FOUND);
    CHECK_ST(maph_queue_name(q, 2, "work"), MAPH_OK); /* free again */
    memset(name32, 'n', 32);
    name32[32] = '\0';
    CHECK_ST(maph_queue_name(q, 0, name32), MAPH_E_INVALID_ARG); /* > 31 bytes */
    CHECK_ST(maph_queue_lookup(q, name32, &id), MAPH_E_INVALID_ARG);
    name32[MAPH_QUEUE_NAME_MAX] = '\0';
    CHECK_ST(maph_queue_name(q, 0, name32), MAPH_OK);
    CHECK_ST(maph_queue_lookup(q, name32, &id), MAPH_OK);
    CHECK(id == 0);
    CHECK_ST(maph_queue_name(q, 3, "x"), MAPH_E_INVALID_ARG); /* qid out of range */
    CHECK_ST(maph_queue_lookup(q, "", &id), MAPH_E_INVALID_ARG);
    maph_queue_close(q);
}

static void test_reclaim_returns_elements_of_a_dead_process_to_queue_0(void) {
    maph_queue_t *q = NULL;
    maph_queue_audit_t a;
    uint64_t held = 0, moved = 99;
    pid_t pid;
    REQUIRE_ST(maph_queue_create_anon(8, 64, 2, &q), MAPH_OK);
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        uint32_t e[3];
        size_t n = 0;
        /* pulls three and dies holding them */
        _exit(maph_queue_pull_many(q, 0, e, 3, &n) == MAPH_OK && n == 3 ? 0 : 1);
    }
    CHECK(child_ok(pid));
    CHECK(qlen(q, 0) == 5);
    CHECK_ST(maph_queue_held(q, (uint32_t)pid, &held), MAPH_OK);
    CHECK(held == 3);
    CHECK_ST(maph_queue_audit(q, &a), MAPH_OK);
    CHECK(a.queued == 5 && a.held == 3 && a.held_by_dead == 3);
    CHECK_ST(maph_queue_reclaim(q, (uint32_t)getpid(), &moved), MAPH_E_CONFLICT); /* alive */
    CHECK_ST(maph_queue_reclaim(q, (uint32_t)pid, &moved), MAPH_OK);
    CHECK(moved == 3);
    CHECK(qlen(q, 0) == 8);
    CHECK(audit_is(q, 8, 0));
    CHECK_ST(maph_queue_reclaim(q, 0, &moved), MAPH_OK);
    CHECK(moved == 0);
    CHECK_ST(maph_queue_reclaim(q, 0, NULL), MAPH_OK);
    maph_queue_close(q);
}

static void test_reclaim_of_all_dead_keeps_elements_held_by_the_living(void) {
    maph_queue_t *q = NULL;
    uint32_t mine = 0;
    uint64_t moved = 0, held = 0;
    pid_t pid;
    REQUIRE_ST(maph_queue_create_anon(4, 64, 2, &q), MAPH_OK);
    REQUIRE_ST(maph_queue_pull(q, 0, &mine), MAPH_OK);
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        uint32_t e = 0;
        _exit(maph_queue_pull(q, 0, &e) == MAPH_OK ? 0 : 1);
    }
    CHECK(child_ok(pid));
    CHECK_ST(maph_queue_reclaim(q, 0, &moved), MAPH_OK);
    CHECK(moved == 1);
    CHECK_ST(maph_queue_held(q, 0, &held), MAPH_OK);
    CHECK(held == 1);
    CHECK_ST(maph_queue_push(q, 0, mine), MAPH_OK);
    CHECK(audit_is(q, 4, 0));
    maph_queue_close(q);
}

static void test_queue_functions_reject_null_and_out_of_range_arguments(void) {
    maph_queue_t *q = NULL;
    maph_queue_info_t info;
    maph_queue_audit_t a;
    uint32_t e = 0, id = 0, pid = 0, arr[2] = {0, 1};
    uint64_t n64 = 0;
    size_t n = 0;
    CHECK_ST(maph_queue_create("x", 4, 64, 2, NULL), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_queue_create(NULL, 4, 64, 2, &q), MAPH_E_INVALID_ARG);
    CHECK(q == NULL);
    CHECK_ST(maph_queue_create_anon(4, 64, 2, NULL), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_queue_open(NULL, &q), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_queue_open("x", NULL), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_queue_unlink(NULL), MAPH_E_INVALID_ARG);
    maph_queue_close(NULL);
    CHECK_ST(maph_queue_info(NULL, &info), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_queue_name(NULL, 0, "a"), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_queue_lookup(NULL, "a", &id), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_queue_push(NULL, 0, 0), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_queue_pull(NULL, 0, &e), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_queue_push_many(NULL, 0, arr, 1), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_queue_pull_many(NULL, 0, arr, 1, &n), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_queue_wait(NULL, 0, 0), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_queue_len(NULL, 0, &n64), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_queue_locate(NULL, 0, &id, &pid), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_queue_held(NULL, 0, &n64), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_queue_reclaim(NULL, 0, &n64), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_queue_audit(NULL, &a), MAPH_E_INVALID_ARG);
    REQUIRE_ST(maph_queue_create_anon(4, 64, 2, &q), MAPH_OK);
    /* NULL out-parameters */
    CHECK_ST(maph_queue_info(q, NULL), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_queue_name(q, 0, NULL), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_queue_lookup(q, NULL, &id), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_queue_lookup(q, "a", NULL), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_queue_pull(q, 0, NULL), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_queue_push_many(q, 0, NULL, 1), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_queue_pull_many(q, 0, NULL, 1, &n), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_queue_pull_many(q, 0, arr, 1, NULL), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_queue_len(q, 0, NULL), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_queue_locate(q, 0, NULL, &pid), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_queue_locate(q, 0, &id, NULL), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_queue_held(q, 0, NULL), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_queue_audit(q, NULL), MAPH_E_INVALID_ARG);
    /* qid and elem out of range */
    CHECK_ST(maph_queue_pull(q, 2, &e), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_queue_pull_many(q, 2, arr, 2, &n), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_queue_wait(q, 2, 0), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_queue_len(q, 2, &n64), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_queue_pull(q, 0, &e), MAPH_OK);
    CHECK_ST(maph_queue_push(q, 2, e), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_queue_push(q, 0, 4), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_queue_locate(q, 4, &id, &pid), MAPH_E_INVALID_ARG);
    arr[0] = e;
    arr[1] = 4;
    CHECK_ST(maph_queue_push_many(q, 0, arr, 2), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_queue_push_many(q, 0, arr, 5), MAPH_E_INVALID_ARG); /* n > elem_count */
    CHECK_ST(maph_queue_push(q, 0, e), MAPH_OK);
    CHECK(audit_is(q, 4, 0));
    maph_queue_close(q);
}

/* ---- many processes, and processes killed at random moments ---------- */

/* xorshift64* */
static uint64_t rnd(uint64_t *s) {
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

/* 1 when `pid` runs (exists and is not a zombie). */
static int running(uint32_t pid) {
    char path[64], buf[256], *close_paren;
    FILE *f;
    size_t n;
    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH) return 0;
    snprintf(path, sizeof path, "/proc/%u/stat", pid);
    f = fopen(path, "r");
    if (f == NULL) return 0;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    close_paren = strrchr(buf, ')');
    return close_paren == NULL || (close_paren[2] != 'Z' && close_paren[2] != 'X');
}

/* Word 0 of each element says which process holds it: a pull swaps in our
 * pid and counts a violation in *bad when another running process had it;
 * a push clears it first. */
static void take(maph_queue_t *q, uint32_t e, volatile int *bad) {
    uint64_t *w = maph_queue_elem(q, e);
    uint64_t old = __atomic_exchange_n(w, (uint64_t)getpid(), __ATOMIC_ACQ_REL);
    if (old != 0 && old != (uint64_t)getpid() && running((uint32_t)old)) {
        fprintf(stderr, "element %u pulled by %d while held by running %llu\n", e,
                (int)getpid(), (unsigned long long)old);
        __atomic_fetch_add(bad, 1, __ATOMIC_SEQ_CST);
    }
}

static void give(maph_queue_t *q, uint32_t e) {
    __atomic_store_n((uint64_t *)maph_queue_elem(q, e), 0, __ATOMIC_RELEASE);
}

/* `ops` random moves between the queues of `q` (ops < 0: until killed);
 * pushes back what it holds at the end. Problems go to *bad. */
static void mover(maph_queue_t *q, uint32_t nq, long ops, uint64_t seed, volatile int *bad) {
    uint32_t held[256], buf[64];
    size_t nh = 0, n, i;
    long k;
    for (k = 0; ops < 0 || k < ops; k++) {
        uint32_t qid = (uint32_t)(rnd(&seed) % nq);
        maph_status st;
        switch (rnd(&seed) % 5) {
        case 0:
        case 1:
            if (nh >= 256 - 64) break;
            n = 1 + (size_t)(rnd(&seed) % 64);
            st = maph_queue_pull_many(q, qid, buf, n, &n);
            if (st == MAPH_OK) {
                for (i = 0; i < n; i++) {
                    take(q, buf[i], bad);
                    held[nh++] = buf[i];
                }
            } else if (st != MAPH_E_EMPTY) {
                fprintf(stderr, "pull_many: %s\n", maph_last_error());
                __atomic_fetch_add(bad, 1, __ATOMIC_SEQ_CST);
            }
            break;
        case 2:
            if (nh >= 256) break;
            st = maph_queue_pull(q, qid, &buf[0]);
            if (st == MAPH_OK) {
                take(q, buf[0], bad);
                held[nh++] = buf[0];
            } else if (st != MAPH_E_EMPTY) {
                fprintf(stderr, "pull: %s\n", maph_last_error());
                __atomic_fetch_add(bad, 1, __ATOMIC_SEQ_CST);
            }
            break;
        default:
            if (nh == 0) break;
            n = 1 + (size_t)(rnd(&seed) % nh);
            for (i = nh - n; i < nh; i++) give(q, held[i]);
            st = n == 1 ? maph_queue_push(q, qid, held[nh - 1])
                        : maph_queue_push_many(q, qid, held + nh - n, n);
            if (st != MAPH_OK) {
                fprintf(stderr, "push: %s\n", maph_last_error());
                __atomic_fetch_add(bad, 1, __ATOMIC_SEQ_CST);
            }
            nh -= n;
            break;
        }
    }
    for (i = 0; i < nh; i++) give(q, held[i]);
    if (nh > 0 && maph_queue_push_many(q, 0, held, nh) != MAPH_OK)
        __atomic_fetch_add(bad, 1, __ATOMIC_SEQ_CST);
}

static void test_four_processes_moving_at_random_lose_and_duplicate_nothing(void) {
    maph_queue_t *q = NULL;
    volatile int *bad;
    pid_t pids[4];
    int i;
    bad = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    REQUIRE(bad != MAP_FAILED);
    REQUIRE_ST(maph_queue_create_anon(1000, 64, 4, &q), MAPH_OK);
    fflush(stdout);
    fflush(stderr);
    for (i = 0; i < 4; i++) {
        pids[i] = fork();
        REQUIRE(pids[i] >= 0);
        if (pids[i] == 0) {
            mover(q, 4, 30000, 1000 + (uint64_t)i, bad);
            _exit(0);
        }
    }
    for (i = 0; i < 4; i++) CHECK(child_ok(pids[i]));
    CHECK(*bad == 0);
    CHECK(audit_is(q, 1000, 0));
    maph_queue_close(q);
    munmap((void *)bad, 4096);
}

/* Workers move elements as fast as they can; the parent SIGKILLs one or two
 * at random moments, round after round (reaping some at once and leaving
 * others as zombies for a round), while it moves elements itself, never
 * waiting more than a second for an operation, and reclaims now and then.
 * Then every element must be in exactly one queue. */
static void test_kill9_at_random_moments_then_reclaim_accounts_for_every_element(void) {
    enum { N = 2000, WORKERS = 3, ROUNDS = 200 };
    maph_queue_t *q = NULL;
    maph_queue_audit_t a;
    volatile int *bad;
    pid_t live[WORKERS], zombies[2];
    int nz = 0, i, round, killed = 0, slow = 0;
    uint64_t seed = 0x5eed, moved = 0;
    uint32_t buf[32];
    bad = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    REQUIRE(bad != MAP_FAILED);
    REQUIRE_ST(maph_queue_create_anon(N, 64, 3, &q), MAPH_OK);
    for (i = 0; i < WORKERS; i++) live[i] = 0;
    for (round = 0; round < ROUNDS; round++) {
        double until;
        int k;
        for (i = 0; i < WORKERS; i++) {
            if (live[i] != 0) continue;
            fflush(stdout);
            fflush(stderr);
            live[i] = fork();
            REQUIRE(live[i] >= 0);
            if (live[i] == 0) {
                mover(q, 3, -1, 77 + (uint64_t)round * WORKERS + (uint64_t)i, bad);
                _exit(0);
            }
        }
        until = h_now() + 0.001 + (double)(rnd(&seed) % 10000) / 1e6;
        while (h_now() < until) {
            double t0 = h_now();
            size_t n = 0;
            maph_status st = maph_queue_pull_many(q, (uint32_t)(rnd(&seed) % 3), buf, 32, &n);
            if (st == MAPH_OK) {
                st = maph_queue_push_many(q, (uint32_t)(rnd(&seed) % 3), buf, n);
                CHECK_ST(st, MAPH_OK);
            } else if (st != MAPH_E_EMPTY) {
                CHECK_ST(st, MAPH_OK);
            }
            if (h_now() - t0 > 1.0) slow++;
        }
        /* last round's zombies are reaped only now */
        for (i = 0; i < nz; i++) waitpid(zombies[i], NULL, 0);
        nz = 0;
        k = 1 + (int)(rnd(&seed) % 2);
        while (k-- > 0) {
            i = (int)(rnd(&seed) % WORKERS);
            if (live[i] == 0) continue;
            kill(live[i], SIGKILL);
            if (rnd(&seed) % 2) waitpid(live[i], NULL, 0);
            else zombies[nz++] = live[i];
            live[i] = 0;
            killed++;
        }
        if (round % 3 == 0) CHECK_ST(maph_queue_reclaim(q, 0, NULL), MAPH_OK);
    }
    for (i = 0; i < nz; i++) waitpid(zombies[i], NULL, 0);
    for (i = 0; i < WORKERS; i++) {
        if (live[i] == 0) continue;
        kill(live[i], SIGKILL);
        waitpid(live[i], NULL, 0);
        killed++;
    }
    CHECK(slow == 0);
    CHECK(*bad == 0);
    CHECK_ST(maph_queue_audit(q, &a), MAPH_OK);
    CHECK(a.queued + a.held + a.in_transit == N && a.held == a.held_by_dead && a.stale == 0);
    CHECK_ST(maph_queue_reclaim(q, 0, &moved), MAPH_OK);
    CHECK(moved >= a.held_by_dead);
    CHECK(audit_is(q, N, 0));
    printf("  %d workers killed, %llu elements reclaimed at the end\n", killed,
           (unsigned long long)moved);
    maph_queue_close(q);
    munmap((void *)bad, 4096);
}

int main(void) {
    RUN(test_new_set_has_every_element_in_queue_0_in_index_order);
    RUN(test_pull_from_empty_queue_reports_empty);
    RUN(test_push_and_pull_are_fifo_and_track_who_holds_each_element);
    RUN(test_push_of_an_element_not_held_reports_conflict);
    RUN(test_push_many_and_pull_many_move_batches_in_order);
    RUN(test_element_memory_is_aligned_distinct_and_kept_across_moves);
    RUN(test_wait_returns_at_once_when_non_empty_and_times_out_when_empty);
    RUN(test_wait_is_woken_by_a_push_from_another_thread);
    RUN(test_anonymous_set_is_shared_with_a_forked_child);
    RUN(test_processes_passing_elements_back_and_forth_lose_none);
    RUN(test_named_set_is_opened_by_name_and_unlinked);
    RUN(test_bad_set_names_and_shapes_report_invalid_arg_and_leave_nothing);
    RUN(test_queue_names_are_unique_and_looked_up);
    RUN(test_reclaim_returns_elements_of_a_dead_process_to_queue_0);
    RUN(test_reclaim_of_all_dead_keeps_elements_held_by_the_living);
    RUN(test_queue_functions_reject_null_and_out_of_range_arguments);
    RUN(test_four_processes_moving_at_random_lose_and_duplicate_nothing);
    RUN(test_kill9_at_random_moments_then_reclaim_accounts_for_every_element);
    return h_summary();
}
