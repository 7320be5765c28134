/* The crash test, from C (the Rust twin is tests/crash.rs).
 *
 * A parent creates one /dev/shm table and forks workers that hammer it:
 * sets, adds and deletes of keys each worker owns (logged before and after
 * in shared memory), sets and deletes of shared keys, and maph_incr of one
 * counter. The parent kills a random worker with SIGKILL at a random
 * moment, MAPH_CRASH_KILLS times (default 500), restarting it each time.
 * Guards against: survivors stalling after a kill (each must make progress
 * within a second), an acknowledged write lost or torn, an increment
 * applied twice or half, and broken invariants (maph_recover then
 * maph_check find nothing). */
#include "harness.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#define WORKERS 3
#define OWN_KEYS 64
#define SHARED_KEYS 32

struct wlog {
    uint64_t progress, incr_acked, incr_in_flight, key_in_flight, in_flight_state, violations, seq;
    uint64_t keys[OWN_KEYS]; /* acknowledged state: seq << 1 | 1 (present) or 0 (absent) */
};
struct shared {
    uint64_t stop;
    struct wlog logs[WORKERS];
};

#include "crash_common.h"

/* State of own key i as the store shows it; -1 for a torn value or error. */
static int64_t observed(maph_t *db, int w, int i) {
    char k[32];
    unsigned char buf[512];
    size_t n = 0;
    int64_t seq;
    maph_status st;
    snprintf(k, sizeof k, "own:%d:%d", w, i);
    st = maph_get(db, k, strlen(k), buf, sizeof buf, &n);
    if (st == MAPH_NOT_FOUND) return 0;
    if (st != MAPH_OK || (seq = whole(buf, n)) < 0) return -1;
    return (seq << 1) | 1;
}

static void worker(maph_t *db, struct shared *sh, int w) {
    struct wlog *log = &sh->logs[w];
    uint64_t rng = (uint64_t)(w + 1) * 0x9E3779B97F4A7C15ull ^ (uint64_t)getpid();
    uint64_t k = LD(&log->key_in_flight);
    unsigned char val[256];
    char key[32];
    if (k != 0) { /* resolve what the previous incarnation left in flight */
        int i = (int)(k - 1);
        int64_t s = observed(db, w, i);
        if (s >= 0 && ((uint64_t)s == LD(&log->keys[i]) || (uint64_t)s == LD(&log->in_flight_state)))
            ST(&log->keys[i], (uint64_t)s);
        else
            ADD(&log->violations, 1);
        ST(&log->key_in_flight, 0);
    }
    ST(&log->incr_in_flight, 0);
    while (!LD(&sh->stop)) {
        uint64_t seq = ADD(&log->seq, 1) + 1, r;
        maph_status st;
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        r = rng % 10;
        if (r <= 3) { /* an owned key: set, add or delete, logged around */
            int i = (int)((rng >> 8) % OWN_KEYS);
            uint64_t acked = LD(&log->keys[i]), intended;
            snprintf(key, sizeof key, "own:%d:%d", w, i);
            if (acked != 0 && (rng & 0x10000)) {
                intended = 0;
                ST(&log->in_flight_state, 0);
                ST(&log->key_in_flight, (uint64_t)i + 1);
                st = maph_del(db, key, strlen(key));
            } else {
                size_t n = make_value(val, seq, (uint64_t)w);
                intended = (seq << 1) | 1;
                ST(&log->in_flight_state, intended);
                ST(&log->key_in_flight, (uint64_t)i + 1);
                st = acked == 0 ? maph_add(db, key, strlen(key), val, n) : maph_set(db, key, strlen(key), val, n);
            }
            if (st != MAPH_OK) ADD(&log->violations, 1);
            ST(&log->keys[i], intended);
            ST(&log->key_in_flight, 0);
        } else if (r <= 6) {
            snprintf(key, sizeof key, "shared:%d", (int)((rng >> 8) % SHARED_KEYS));
            if (rng & 0x100000) {
                st = maph_del(db, key, strlen(key));
                if (st != MAPH_OK && st != MAPH_NOT_FOUND) ADD(&log->violations, 1);
            } else {
                size_t n = make_value(val, seq, (uint64_t)w);
                if (maph_set(db, key, strlen(key), val, n) != MAPH_OK) ADD(&log->violations, 1);
            }
        } else if (r <= 8) {
            ST(&log->incr_in_flight, 1);
            if (maph_incr(db, "counter", 7, 1, NULL) == MAPH_OK) ADD(&log->incr_acked, 1);
            else ADD(&log->violations, 1);
            ST(&log->incr_in_flight, 0);
        } else {
            unsigned char buf[512];
            size_t n = 0;
            snprintf(key, sizeof key, "shared:%d", (int)((rng >> 8) % SHARED_KEYS));
            st = maph_get(db, key, strlen(key), buf, sizeof buf, &n);
            if ((st == MAPH_OK && whole(buf, n) < 0) || (st != MAPH_OK && st != MAPH_NOT_FOUND))
                ADD(&log->violations, 1);
        }
        ADD(&log->progress, 1);
    }
    _exit(0);
}

static pid_t spawn(maph_t *db, struct shared *sh, int w) {
    pid_t pid;
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid == 0) worker(db, sh, w);
    return pid;
}

static void test_killed_workers_never_wedge_the_table_or_tear_a_write(void) {
    const char *env = getenv("MAPH_CRASH_KILLS");
    int kills = env ? atoi(env) : 500, n, w, i;
    char name[64];
    maph_options o;
    maph_t *db = NULL;
    struct shared *sh;
    pid_t pids[WORKERS];
    uint64_t rng = 0x2545F4914F6CDD1Dull, extra = 0, acked = 0, violations = 99;
    double worst = 0, start = now_ms();
    int64_t counter = -1;

    snprintf(name, sizeof name, "maph-c-crash-%d", (int)getpid());
    maph_options_default(&o);
    o.slots = 4096;
    REQUIRE_ST(maph_shm_create(name, &o, &db), MAPH_OK);
    CHECK_ST(maph_shm_unlink(name), MAPH_OK); /* the workers inherit the handle */
    sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    REQUIRE(sh != MAP_FAILED);
    memset(sh, 0, sizeof *sh);
    for (w = 0; w < WORKERS; w++) REQUIRE((pids[w] = spawn(db, sh, w)) > 0);

    for (n = 0; n < kills; n++) {
        uint64_t before[WORKERS];
        double t;
        int stalled;
        struct timespec d;
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        d.tv_sec = 0;
        d.tv_nsec = (long)(rng % 3000) * 1000;
        nanosleep(&d, NULL);
        w = (int)((rng >> 20) % WORKERS);
        kill(pids[w], SIGKILL);
        REQUIRE(waitpid(pids[w], NULL, 0) == pids[w]);
        extra += LD(&sh->logs[w].incr_in_flight);
        for (i = 0; i < WORKERS; i++) before[i] = LD(&sh->logs[i].progress);
        t = now_ms();
        do { /* every survivor makes progress within a second */
            stalled = 0;
            for (i = 0; i < WORKERS; i++)
                if (i != w && LD(&sh->logs[i].progress) == before[i]) stalled++;
            if (stalled && now_ms() - t > 1000) break;
        } while (stalled);
        CHECK(stalled == 0);
        if (now_ms() - t > worst) worst = now_ms() - t;
        REQUIRE((pids[w] = spawn(db, sh, w)) > 0);
        if (stalled) break;
    }
    ST(&sh->stop, 1);
    for (w = 0; w < WORKERS; w++) {
        int status = 0;
        CHECK(waitpid(pids[w], &status, 0) == pids[w]);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    CHECK_ST(maph_recover(db, NULL), MAPH_OK);
    CHECK_ST(maph_check(db, &violations), MAPH_OK);
    CHECK(violations == 0);
    for (w = 0; w < WORKERS; w++) {
        CHECK(LD(&sh->logs[w].violations) == 0);
        for (i = 0; i < OWN_KEYS; i++) CHECK(observed(db, w, i) == (int64_t)LD(&sh->logs[w].keys[i]));
        acked += LD(&sh->logs[w].incr_acked);
    }
    for (i = 0; i < SHARED_KEYS; i++) {
        char k[32];
        unsigned char buf[512];
        size_t len = 0;
        snprintf(k, sizeof k, "shared:%d", i);
        if (maph_get(db, k, strlen(k), buf, sizeof buf, &len) == MAPH_OK) CHECK(whole(buf, len) >= 0);
    }
    CHECK_ST(maph_incr(db, "counter", 7, 0, &counter), MAPH_OK);
    CHECK(counter >= (int64_t)acked && counter <= (int64_t)(acked + extra));
    printf("  crash: %d kills in %.0f ms, worst survivor stall %.1f ms, counter %lld = %llu acked + %lld in-flight applied (of %llu)\n",
           n, now_ms() - start, worst, (long long)counter, (unsigned long long)acked,
           (long long)counter - (long long)acked, (unsigned long long)extra);
    munmap(sh, sizeof *sh);
    maph_close(db);
}

int main(void) {
    RUN(test_killed_workers_never_wedge_the_table_or_tear_a_write);
    return h_summary();
}
