/* The crash test of growing stores (issue 12), from C; test_crash.c is the
 * one of a store of fixed size, and this one keeps its structure.
 *
 * A parent creates a growing /dev/shm table (slots = 0: 1,024 slots, then
 * levels of doubling size) and forks workers that insert new keys of their
 * own and overwrite, delete, re-add and read back earlier ones (so older
 * levels are written too), each write logged before and after in shared
 * memory. The parent kills a random worker with SIGKILL at a random moment,
 * MAPH_CRASH_KILLS times (default 500), restarting it each time.
 *
 * Kills during growth steps, three ways: the parent paces the inserts (a
 * budget the workers draw on) so that the levels are added all through the
 * run, not in its first second; near the point where the next level is
 * added (3/4 of the newest level's slots taken) it allows one insert per
 * kill and kills the worker that takes it within 2 us; and a hook on
 * posix_fallocate lets it kill a worker inside a reservation of the store's
 * space (the next level's, under the growth lock, or the heap's). It
 * prints how many kills were of each kind, and how many levels were added
 * around a kill (best effort: no count is asserted).
 *
 * Guards against: survivors stalling after a kill (each must make progress
 * within a second, as in test_crash.c), an acknowledged insert, overwrite
 * or delete lost or torn (read back during the run and checked for every
 * key at the end), the store not growing to 10 levels, and broken
 * invariants (maph_recover then maph_check find nothing). */
#include "harness.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#define WORKERS 3
#define MAX_KEYS (1u << 19) /* per worker */
#define BASE_SLOTS 1024ull
#define LEVELS 10 /* the run must reach this many levels */
/* Taken slots (keys + tombstones) the run ends with: past the 392,448
 * that add the 10th level, well short of the 785,664 that add the 11th. */
#define FINAL_FILL 480000ull
#define HOT_MARGIN 8 /* taken slots short of a growth point where one-insert steps begin */
#define HOT_MAX 30   /* one-insert steps per growth point at most */

/* What went wrong, in the first violation recorded. */
enum { BAD_IN_FLIGHT = 1, BAD_ADD, BAD_SET, BAD_DEL, BAD_READ, BAD_READD };

struct wlog {
    uint64_t progress, key_in_flight, in_flight_state, op_in_flight, violations, seq;
    uint64_t next; /* own keys started: g:w:0 .. g:w:next-1 */
    uint64_t inserts, overwrites, deletes, readds, reads;
    uint64_t keys[MAX_KEYS]; /* acknowledged state: seq << 1 | 1 (present) or 0 (absent) */
};
struct shared {
    uint64_t stop, parent;
    uint64_t adds, allow; /* inserts taken / allowed so far (the parent's pacing) */
    uint64_t last_taker;  /* the worker that took the last insert */
    uint64_t catch_armed, caught; /* the reservation hook: armed by the parent; worker + 1 */
    uint64_t bad_taken, bad[6]; /* first violation: what, worker, key, want, got, status */
    struct wlog logs[WORKERS];
};

#include "crash_common.h"

static void key_of(char *k, size_t cap, int w, uint64_t i) {
    snprintf(k, cap, "g:%d:%llu", w, (unsigned long long)i);
}

/* State of own key i as the store shows it; -1 for a torn value or error. */
static int64_t observed(maph_t *db, int w, uint64_t i) {
    char k[32];
    unsigned char buf[512];
    size_t n = 0;
    int64_t seq;
    maph_status st;
    key_of(k, sizeof k, w, i);
    st = maph_get(db, k, strlen(k), buf, sizeof buf, &n);
    if (st == MAPH_NOT_FOUND) return 0;
    if (st != MAPH_OK || (seq = whole(buf, n)) < 0) return -1;
    return (seq << 1) | 1;
}

static void bad(struct shared *sh, int what, int w, uint64_t i, uint64_t want, int64_t got,
                maph_status st) {
    ADD(&sh->logs[w].violations, 1);
    if (__atomic_exchange_n(&sh->bad_taken, 1, __ATOMIC_SEQ_CST) == 0) {
        ST(&sh->bad[0], (uint64_t)what);
        ST(&sh->bad[1], (uint64_t)w);
        ST(&sh->bad[2], i);
        ST(&sh->bad[3], want);
        ST(&sh->bad[4], (uint64_t)got);
        ST(&sh->bad[5], (uint64_t)st);
    }
}

/* The reservation hook. The store reserves file space with
 * posix_fallocate (src/sys/space.rs): the next level's pages, ahead of need
 * and at the growth step, under the growth lock; the heap's. This
 * definition takes the place of libc's for the library (the .so's calls
 * bind to the executable's definition, the .a's link to it) and does the
 * same on /dev/shm, except that when the parent has armed it, the one
 * worker that takes it announces itself and waits, before or after the
 * reservation, to be killed. Only for 64-bit targets (the raw syscall takes
 * a 64-bit offset in one register). */
static struct shared *hook_sh;
static int hook_w = -1; /* this process's worker; -1 in the parent */

#if UINTPTR_MAX == UINT64_MAX
static void wait_to_be_killed(void) {
    ST(&hook_sh->caught, (uint64_t)hook_w + 1);
    while (!LD(&hook_sh->stop)) {
    }
}

int posix_fallocate(int fd, off_t off, off_t len) {
    int saved = errno, r, after = 0;
    uint64_t armed = 1;
    if (hook_w >= 0 && LD(&hook_sh->catch_armed) &&
        __atomic_compare_exchange_n(&hook_sh->catch_armed, &armed, 0, 0, __ATOMIC_SEQ_CST,
                                    __ATOMIC_SEQ_CST)) {
        after = (int)(LD(&hook_sh->logs[hook_w].seq) & 1);
        if (!after) wait_to_be_killed();
    }
    do
        r = syscall(SYS_fallocate, fd, 0, off, len) == 0 ? 0 : errno;
    while (r == EINTR);
    if (after) wait_to_be_killed();
    errno = saved;
    return r;
}
#endif

/* One more insert, if the parent's budget allows it. */
static int take_add(struct shared *sh, int w) {
    if (LD(&sh->adds) >= LD(&sh->allow)) return 0;
    ST(&sh->last_taker, (uint64_t)w);
    ADD(&sh->adds, 1);
    return 1;
}

/* Writes own key i (set, add or delete), logged around as in test_crash.c. */
static void write_logged(maph_t *db, struct shared *sh, int w, uint64_t i, uint64_t seq, int op) {
    struct wlog *log = &sh->logs[w];
    unsigned char val[256];
    char key[32];
    uint64_t intended = 0;
    size_t n = 0;
    maph_status st;
    key_of(key, sizeof key, w, i);
    if (op != BAD_DEL) {
        n = make_value(val, seq, (uint64_t)w);
        intended = (seq << 1) | 1;
    }
    ST(&log->in_flight_state, intended);
    ST(&log->op_in_flight, (uint64_t)op);
    ST(&log->key_in_flight, i + 1);
    if (op == BAD_DEL)
        st = maph_del(db, key, strlen(key));
    else if (op == BAD_SET)
        st = maph_set(db, key, strlen(key), val, n);
    else
        st = maph_add(db, key, strlen(key), val, n);
    if (st != MAPH_OK) bad(sh, op, w, i, intended, -1, st);
    ST(&log->keys[i], intended);
    ST(&log->key_in_flight, 0);
}

static void worker(maph_t *db, struct shared *sh, int w) {
    struct wlog *log = &sh->logs[w];
    uint64_t rng = (uint64_t)(w + 1) * 0x9E3779B97F4A7C15ull ^ (uint64_t)getpid();
    uint64_t k = LD(&log->key_in_flight);
    hook_sh = sh;
    hook_w = w;
    if (k != 0) { /* resolve what the previous incarnation left in flight */
        uint64_t i = k - 1;
        int64_t s = observed(db, w, i);
        if (s >= 0 && ((uint64_t)s == LD(&log->keys[i]) || (uint64_t)s == LD(&log->in_flight_state)))
            ST(&log->keys[i], (uint64_t)s);
        else
            bad(sh, BAD_IN_FLIGHT, w, i, LD(&log->in_flight_state), s, MAPH_OK);
        ST(&log->key_in_flight, 0);
    }
    while (!LD(&sh->stop)) {
        uint64_t seq = ADD(&log->seq, 1) + 1, next = LD(&log->next), r, i;
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        r = rng % 100;
        i = next ? (rng >> 11) % next : 0;
        if (r < 60 && next < MAX_KEYS && take_add(sh, w)) { /* a new key: the store grows */
            ST(&log->next, next + 1);                    /* started before it is in flight */
            write_logged(db, sh, w, next, seq, BAD_ADD);
            ADD(&log->inserts, 1);
        } else if (r >= 60 && r < 80 && next > 0) { /* an earlier key, in any level */
            uint64_t acked = LD(&log->keys[i]);
            if (r < 75 && acked != 0) {
                write_logged(db, sh, w, i, seq, BAD_SET);
                ADD(&log->overwrites, 1);
            } else if (r < 75 && take_add(sh, w)) { /* deleted: back, into the newest level */
                write_logged(db, sh, w, i, seq, BAD_READD);
                ADD(&log->readds, 1);
            } else if (r >= 75 && acked != 0 && LD(&log->deletes) * 5 < LD(&log->inserts)) {
                write_logged(db, sh, w, i, seq, BAD_DEL);
                ADD(&log->deletes, 1);
            }
        } else if (next > 0) { /* read an earlier key back: it must be as acknowledged */
            uint64_t acked = LD(&log->keys[i]);
            int64_t s = observed(db, w, i);
            if (s != (int64_t)acked) bad(sh, BAD_READ, w, i, acked, s, MAPH_OK);
            ADD(&log->reads, 1);
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
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* no worker outlives a parent that died */
        if (LD(&sh->parent) != (uint64_t)getppid()) _exit(0);
        worker(db, sh, w);
    }
    return pid;
}

static uint64_t slots_now(maph_t *db, uint64_t *fill) {
    maph_stats_t st;
    if (maph_stats(db, &st) != MAPH_OK) return 0;
    if (fill) *fill = st.keys + st.tombstones; /* slots ever taken from EMPTY */
    return st.slots;
}

/* Levels of a growing store of `slots` slots: 1024 * (2^levels - 1). */
static int levels_of(uint64_t slots) {
    int l = 0;
    while (l < 40 && BASE_SLOTS * ((1ull << l) - 1) < slots) l++;
    return l;
}

/* Taken slots at which a store of `levels` levels adds the next one: each
 * level is added when the one before it is 3/4 taken. */
static uint64_t growth_point(int levels) {
    return BASE_SLOTS / 4 * 3 * ((1ull << levels) - 1);
}

/* 2^x for 0 <= x < 40, without libm (the shared build does not link it). */
static double pow2(double x) {
    double r = 1, term = 1, f;
    int i, whole = (int)x;
    f = (x - whole) * 0.6931471805599453;
    for (i = 1; i < 20; i++) {
        term *= f / i;
        r += term;
    }
    return r * (double)(1ull << whole);
}

/* The pacing: taken slots wanted after kill n of `kills`, so that the
 * levels are added at about even intervals of kills, the last (the 10th)
 * at 80% of them. */
static uint64_t fill_goal(int n, int kills) {
    double x = (double)(n + 1) / (double)kills * (LEVELS - 1) / 0.8;
    double f = (double)growth_point(1) * ((x > 30 ? 1e9 : pow2(x)) - 1.0);
    return f > (double)FINAL_FILL ? FINAL_FILL : (uint64_t)f;
}

/* Slots of the newest of `levels` levels that may be taken before the next
 * level is added. */
static uint64_t newest_limit(int levels) {
    return BASE_SLOTS / 4 * 3 << (levels - 1);
}

static void allow_more(struct shared *sh, uint64_t more) {
    ST(&sh->allow, LD(&sh->adds) + more);
}

static void test_killed_workers_of_a_growing_table_never_wedge_it_or_lose_a_write(void) {
    const char *env = getenv("MAPH_CRASH_KILLS");
    int kills = env ? atoi(env) : 500, n, w, i, levels, point_levels = 1, last_hot = 0;
    int steps = 0, hot_here = 0, reserving = 0, near = 0, near_insert = 0;
    char name[64];
    maph_options o;
    maph_t *db = NULL;
    struct shared *sh;
    pid_t pids[WORKERS];
    uint64_t rng = 0x2545F4914F6CDD1Dull, violations = 99, fill = 0, slots, point = growth_point(1), j;
    uint64_t inserts = 0, overwrites = 0, deletes = 0, readds = 0, reads = 0, live = 0, wrong = 0;
    double worst = 0, start = now_ms(), t;

    if (kills < 1) kills = 1;
    snprintf(name, sizeof name, "maph-c-crash-growth-%d", (int)getpid());
    maph_options_default(&o);
    o.slots = 0;
    o.max_bytes = 512ull << 20;
    REQUIRE_ST(maph_shm_create(name, &o, &db), MAPH_OK);
    CHECK_ST(maph_shm_unlink(name), MAPH_OK); /* the workers inherit the handle */
    REQUIRE(slots_now(db, NULL) == BASE_SLOTS);
    sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    REQUIRE(sh != MAP_FAILED); /* zeroed */
    sh->parent = (uint64_t)getpid();
    for (w = 0; w < WORKERS; w++) REQUIRE((pids[w] = spawn(db, sh, w)) > 0);

    for (n = 0; n < kills; n++) {
        uint64_t before[WORKERS], goal = fill_goal(n, kills), s0, op;
        int stalled, hot = 0;
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        slots = slots_now(db, &fill);
        levels = levels_of(slots);
        if (levels != point_levels) {
            /* Added: the next level comes when this one is 3/4 taken. After
             * a one-insert step the fill now is the fill it was added at
             * (give or take that insert), which also counts what went to
             * older levels past their 3/4. */
            point = growth_point(levels);
            if (last_hot && levels == point_levels + 1 && fill + newest_limit(levels) > point)
                point = fill + newest_limit(levels);
            point_levels = levels;
            hot_here = 0;
        }
        w = (int)((rng >> 20) % WORKERS);
        if (goal + HOT_MARGIN >= point && fill + HOT_MARGIN >= point && hot_here < HOT_MAX) {
            /* At a growth point: one more insert, and the worker that
             * takes it killed within 2 us (spinning: nanosleep overshoots
             * by ~50 us), sometimes inside that insert. */
            double until = now_ms() + 10;
            s0 = slots_now(db, NULL);
            allow_more(sh, 1);
            while (LD(&sh->adds) < LD(&sh->allow) && now_ms() < until) {
            }
            w = (int)LD(&sh->last_taker);
            until = now_ms() + (double)((rng >> 8) % 2000) / 1e6;
            while (now_ms() < until) {
            }
            hot = 1;
            hot_here++;
            steps++;
        } else {
            /* A random moment, or the first worker to reserve space
             * before it, inside the reservation. */
            struct timespec d;
            uint64_t armed = 1, c = 0;
            if (hot_here < HOT_MAX && goal + HOT_MARGIN > point) goal = point - HOT_MARGIN;
            allow_more(sh, goal > fill ? goal - fill : 0);
            ST(&sh->catch_armed, 1);
            d.tv_sec = 0;
            d.tv_nsec = (long)((rng >> 8) % 3000) * 1000;
            nanosleep(&d, NULL);
            if (!__atomic_compare_exchange_n(&sh->catch_armed, &armed, 0, 0, __ATOMIC_SEQ_CST,
                                             __ATOMIC_SEQ_CST)) {
                t = now_ms(); /* taken: the worker announces itself at once */
                while ((c = LD(&sh->caught)) == 0 && now_ms() - t < 5000) {
                }
                CHECK(c != 0);
                if (c != 0) w = (int)c - 1;
                ST(&sh->caught, 0);
                reserving += c != 0;
            }
            s0 = slots_now(db, NULL);
        }
        last_hot = hot;
        kill(pids[w], SIGKILL);
        REQUIRE(waitpid(pids[w], NULL, 0) == pids[w]);
        op = LD(&sh->logs[w].key_in_flight) ? LD(&sh->logs[w].op_in_flight) : 0;
        for (i = 0; i < WORKERS; i++) before[i] = LD(&sh->logs[i].progress);
        t = now_ms();
        do { /* every survivor makes progress within a second */
            struct timespec d = {0, 20000}; /* leaving the 2 cores to the workers */
            stalled = 0;
            for (i = 0; i < WORKERS; i++)
                if (i != w && LD(&sh->logs[i].progress) == before[i]) stalled++;
            if (stalled && now_ms() - t > 1000) break;
            if (stalled) nanosleep(&d, NULL);
        } while (stalled);
        CHECK(stalled == 0);
        if (now_ms() - t > worst) worst = now_ms() - t;
        if (slots_now(db, NULL) != s0) { /* added from just before the kill to the survivors' next step */
            near++;
            near_insert += op == BAD_ADD || op == BAD_READD;
        }
        REQUIRE((pids[w] = spawn(db, sh, w)) > 0);
        if (stalled) break;
    }
    /* The last inserts the pacing allows, unhurried (a small
     * MAPH_CRASH_KILLS may leave some). */
    slots_now(db, &fill);
    allow_more(sh, FINAL_FILL > fill ? FINAL_FILL - fill : 0);
    t = now_ms();
    while (LD(&sh->adds) < LD(&sh->allow) && now_ms() - t < 10000) usleep(1000);
    ST(&sh->stop, 1);
    for (w = 0; w < WORKERS; w++) {
        int status = 0;
        CHECK(waitpid(pids[w], &status, 0) == pids[w]);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    CHECK_ST(maph_recover(db, NULL), MAPH_OK);
    CHECK_ST(maph_check(db, &violations), MAPH_OK);
    CHECK(violations == 0);
    slots = slots_now(db, &fill);
    levels = levels_of(slots);
    CHECK(slots == BASE_SLOTS * ((1ull << levels) - 1));
    CHECK(levels >= LEVELS);
    for (w = 0; w < WORKERS; w++) {
        struct wlog *log = &sh->logs[w];
        uint64_t next = LD(&log->next);
        CHECK(LD(&log->violations) == 0);
        CHECK(LD(&log->key_in_flight) == 0);
        for (j = 0; j < next; j++) {
            int64_t s = observed(db, w, j);
            if (s != (int64_t)LD(&log->keys[j])) {
                if (wrong++ < 5)
                    fprintf(stderr, "  key g:%d:%llu: acknowledged state %#llx, store shows %#llx\n", w,
                            (unsigned long long)j, (unsigned long long)LD(&log->keys[j]),
                            (unsigned long long)s);
            }
            live += LD(&log->keys[j]) != 0;
        }
        inserts += LD(&log->inserts);
        overwrites += LD(&log->overwrites);
        deletes += LD(&log->deletes);
        readds += LD(&log->readds);
        reads += LD(&log->reads);
    }
    CHECK(wrong == 0);
    if (LD(&sh->bad_taken))
        fprintf(stderr,
                "  first violation: kind %llu (1 in flight, 2 add, 3 set, 4 del, 5 read, 6 re-add), "
                "key g:%llu:%llu, want %#llx, got %#llx, status %s\n",
                (unsigned long long)sh->bad[0], (unsigned long long)sh->bad[1],
                (unsigned long long)sh->bad[2], (unsigned long long)sh->bad[3],
                (unsigned long long)sh->bad[4], h_status_name((uint32_t)sh->bad[5]));
    printf("  crash-growth: %d kills in %.0f ms (%d inside a reservation of space, %d one insert past a "
           "growth point; %d of %d levels added around a kill, %d with the killed worker inside an insert), "
           "worst survivor stall %.1f ms, %d levels (%llu slots, %llu taken), %llu inserts + %llu re-adds, "
           "%llu overwrites, %llu deletes, %llu reads, %llu keys live\n",
           n, now_ms() - start, reserving, steps, near, levels - 1, near_insert, worst, levels,
           (unsigned long long)slots, (unsigned long long)fill, (unsigned long long)inserts,
           (unsigned long long)readds, (unsigned long long)overwrites, (unsigned long long)deletes,
           (unsigned long long)reads, (unsigned long long)live);
    munmap(sh, sizeof *sh);
    maph_close(db);
}

int main(void) {
    RUN(test_killed_workers_of_a_growing_table_never_wedge_it_or_lose_a_write);
    return h_summary();
}
