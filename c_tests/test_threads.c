/*
 * Many threads on one handle: writers of different keys read each other's
 * keys; writers and lock-free readers of one key never see a torn value;
 * maph_last_error is per thread.
 */
#include <pthread.h>

#include "harness.h"

#define THREADS 4
#define PER_THREAD 500

struct worker {
    maph_t *db;
    pthread_barrier_t *barrier;
    int id;
    int failures;
};

static void key_of(char *k, size_t cap, int t, int i) { snprintf(k, cap, "t%d:%d", t, i); }

static void val_of(char *v, size_t cap, int t, int i) {
    snprintf(v, cap, "thread %d wrote %d %.*s", t, i, i % 50,
             "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz");
}

static void *write_then_read_all(void *arg) {
    struct worker *w = arg;
    char k[32], v[128], buf[128];
    size_t n;
    int t, i;
    pthread_barrier_wait(w->barrier);
    for (i = 0; i < PER_THREAD; i++) {
        key_of(k, sizeof k, w->id, i);
        val_of(v, sizeof v, w->id, i);
        if (maph_set(w->db, k, strlen(k), v, strlen(v)) != MAPH_OK) w->failures++;
    }
    pthread_barrier_wait(w->barrier);
    for (t = 0; t < THREADS; t++) {
        for (i = 0; i < PER_THREAD; i++) {
            key_of(k, sizeof k, t, i);
            val_of(v, sizeof v, t, i);
            n = 0;
            if (maph_get(w->db, k, strlen(k), buf, sizeof buf, &n) != MAPH_OK ||
                n != strlen(v) || memcmp(buf, v, n) != 0) {
                if (w->failures < 5) fprintf(stderr, "thread %d: %s is wrong\n", w->id, k);
                w->failures++;
            }
        }
    }
    return NULL;
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

static void test_threads_writing_different_keys_read_each_others_keys(void) {
    maph_t *db = NULL;
    maph_stats_t s;
    pthread_t th[THREADS];
    struct worker w[THREADS];
    pthread_barrier_t barrier;
    int i;
    REQUIRE_ST(make("t.maph", &db), MAPH_OK);
    REQUIRE(pthread_barrier_init(&barrier, NULL, THREADS) == 0);
    for (i = 0; i < THREADS; i++) {
        w[i].db = db;
        w[i].barrier = &barrier;
        w[i].id = i;
        w[i].failures = 0;
        REQUIRE(pthread_create(&th[i], NULL, write_then_read_all, &w[i]) == 0);
    }
    for (i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        CHECK(w[i].failures == 0);
    }
    pthread_barrier_destroy(&barrier);
    CHECK_ST(maph_stats(db, &s), MAPH_OK);
    CHECK(s.keys == THREADS * PER_THREAD);
    maph_close(db);
}

/* One key, two writers, two readers: every value is `len` copies of one
 * byte that encodes len, so a torn or mixed read shows. */
struct hot {
    maph_t *db;
    int stop; /* read and written with __atomic builtins */
    int id;
    long reads;
    long failures;
};

static void fill(unsigned char *v, size_t len) { memset(v, (int)(len & 0xff), len); }

static int whole(const unsigned char *v, size_t len) {
    size_t i;
    if (len < 8 || len > 90) return 0;
    for (i = 0; i < len; i++)
        if (v[i] != (unsigned char)(len & 0xff)) return 0;
    return 1;
}

static void *hot_writer(void *arg) {
    struct hot *h = arg;
    unsigned char v[96];
    int i;
    double end = h_now() + 0.5;
    /* half a second of writes, at least 2000 */
    for (i = 0; i < 2000 || h_now() < end; i++) {
        size_t len = (size_t)(8 + (i * 7 + h->id * 13) % 83);
        fill(v, len);
        if (maph_set(h->db, "hot", 3, v, len) != MAPH_OK) h->failures++;
    }
    return NULL;
}

static void *hot_reader(void *arg) {
    struct hot *h = arg;
    unsigned char buf[96], copy[96];
    while (!__atomic_load_n(&h->stop, __ATOMIC_ACQUIRE)) {
        size_t n = 0;
        const void *p = NULL;
        uint64_t tok = 0;
        maph_status st = maph_get(h->db, "hot", 3, buf, sizeof buf, &n);
        if (st != MAPH_OK || !whole(buf, n)) h->failures++;
        st = maph_get_ptr(h->db, "hot", 3, &p, &n, &tok);
        if (st != MAPH_OK || n > sizeof copy) {
            h->failures++;
        } else {
            memcpy(copy, p, n);
            /* only a validated copy counts; an invalid one is retried */
            if (maph_ptr_valid(h->db, tok) && !whole(copy, n)) h->failures++;
        }
        __atomic_add_fetch(&h->reads, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

static void test_readers_never_see_a_torn_value_while_writers_overwrite_it(void) {
    maph_t *db = NULL;
    pthread_t wt[2], rt[2];
    struct hot wh[2], rh[2];
    long before[2], during[2];
    unsigned char v[16];
    int i;
    REQUIRE_ST(make("h.maph", &db), MAPH_OK);
    fill(v, 8);
    REQUIRE_ST(maph_set(db, "hot", 3, v, 8), MAPH_OK);
    for (i = 0; i < 2; i++) {
        memset(&rh[i], 0, sizeof rh[i]);
        rh[i].db = db;
        rh[i].id = i;
        REQUIRE(pthread_create(&rt[i], NULL, hot_reader, &rh[i]) == 0);
    }
    /* the readers are reading before the writers start */
    for (i = 0; i < 2; i++) {
        double give_up = h_now() + 10.0;
        while (__atomic_load_n(&rh[i].reads, __ATOMIC_RELAXED) == 0 && h_now() < give_up)
            usleep(1000);
        before[i] = __atomic_load_n(&rh[i].reads, __ATOMIC_RELAXED);
    }
    for (i = 0; i < 2; i++) {
        memset(&wh[i], 0, sizeof wh[i]);
        wh[i].db = db;
        wh[i].id = i;
        REQUIRE(pthread_create(&wt[i], NULL, hot_writer, &wh[i]) == 0);
    }
    for (i = 0; i < 2; i++) pthread_join(wt[i], NULL);
    for (i = 0; i < 2; i++) during[i] = __atomic_load_n(&rh[i].reads, __ATOMIC_RELAXED) - before[i];
    for (i = 0; i < 2; i++) __atomic_store_n(&rh[i].stop, 1, __ATOMIC_RELEASE);
    for (i = 0; i < 2; i++) pthread_join(rt[i], NULL);
    for (i = 0; i < 2; i++) {
        CHECK(wh[i].failures == 0);
        CHECK(rh[i].failures == 0);
        CHECK(before[i] > 0);
        CHECK(during[i] > 0); /* the readers read while the writers wrote */
    }
    maph_close(db);
}

struct errmsg {
    char seen_at_start[64];
    char seen_after_own_failure[256];
};

static void *fail_in_thread(void *arg) {
    struct errmsg *e = arg;
    maph_t *db = NULL;
    snprintf(e->seen_at_start, sizeof e->seen_at_start, "%s", maph_last_error());
    (void)maph_open("/nonexistent-dir-for-maph/x", MAPH_RDONLY, &db);
    snprintf(e->seen_after_own_failure, sizeof e->seen_after_own_failure, "%s",
             maph_last_error());
    return NULL;
}

static void test_last_error_is_per_thread(void) {
    maph_t *db = NULL;
    pthread_t t;
    struct errmsg e;
    char mine[256];
    CHECK_ST(maph_open("x", 99, &db), MAPH_E_INVALID_ARG);
    snprintf(mine, sizeof mine, "%s", maph_last_error());
    CHECK(mine[0] != '\0');
    memset(&e, 0, sizeof e);
    REQUIRE(pthread_create(&t, NULL, fail_in_thread, &e) == 0);
    pthread_join(t, NULL);
    CHECK(e.seen_at_start[0] == '\0');            /* a new thread has none */
    CHECK(e.seen_after_own_failure[0] != '\0');
    CHECK(strcmp(e.seen_after_own_failure, mine) != 0);
    CHECK(strcmp(maph_last_error(), mine) == 0);  /* ours is unchanged */
}

/* Readers look up every key over and over while the main thread runs
 * maph_optimize repeatedly and a writer inserts new keys. */
struct opt_reader {
    maph_t *db;
    int started;
    int stop;
    long rounds;
    long misses;
};

static void *read_all_until_stopped(void *arg) {
    struct opt_reader *r = arg;
    char k[32], buf[64];
    size_t n;
    int i;
    __atomic_store_n(&r->started, 1, __ATOMIC_RELEASE);
    do {
        for (i = 0; i < 1000; i++) {
            snprintf(k, sizeof k, "old:%d", i);
            if (maph_get(r->db, k, strlen(k), buf, sizeof buf, &n) != MAPH_OK || n != strlen(k) ||
                memcmp(buf, k, n) != 0) {
                if (r->misses < 5) fprintf(stderr, "reader: %s missed\n", k);
                r->misses++;
            }
        }
        r->rounds++;
    } while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE));
    return NULL;
}

static void *insert_new_keys(void *arg) {
    struct opt_reader *r = arg;
    char k[32];
    int i;
    for (i = 0; i < 1000; i++) {
        snprintf(k, sizeof k, "new:%d", i);
        if (maph_set(r->db, k, strlen(k), k, strlen(k)) != MAPH_OK) r->misses++;
    }
    return NULL;
}

static void test_readers_never_miss_a_key_while_optimize_runs(void) {
    maph_t *db = NULL;
    pthread_t rt[2], wt;
    struct opt_reader rd[2], wr;
    maph_stats_t s;
    char k[32], buf[64];
    size_t n;
    int i, bad = 0;
    REQUIRE_ST(make("o.maph", &db), MAPH_OK);
    for (i = 0; i < 1000; i++) {
        snprintf(k, sizeof k, "old:%d", i);
        REQUIRE_ST(maph_set(db, k, strlen(k), k, strlen(k)), MAPH_OK);
    }
    memset(rd, 0, sizeof rd);
    memset(&wr, 0, sizeof wr);
    wr.db = db;
    for (i = 0; i < 2; i++) {
        rd[i].db = db;
        REQUIRE(pthread_create(&rt[i], NULL, read_all_until_stopped, &rd[i]) == 0);
    }
    for (i = 0; i < 2; i++)
        while (!__atomic_load_n(&rd[i].started, __ATOMIC_ACQUIRE)) usleep(1000);
    REQUIRE(pthread_create(&wt, NULL, insert_new_keys, &wr) == 0);
    for (i = 0; i < 5; i++) CHECK_ST(maph_optimize(db), MAPH_OK);
    pthread_join(wt, NULL);
    CHECK_ST(maph_optimize(db), MAPH_OK);
    for (i = 0; i < 2; i++) __atomic_store_n(&rd[i].stop, 1, __ATOMIC_RELEASE);
    for (i = 0; i < 2; i++) {
        pthread_join(rt[i], NULL);
        CHECK(rd[i].misses == 0);
        CHECK(rd[i].rounds > 0);
    }
    CHECK(wr.misses == 0);
    for (i = 0; i < 1000; i++) {
        snprintf(k, sizeof k, "new:%d", i);
        if (maph_get(db, k, strlen(k), buf, sizeof buf, &n) != MAPH_OK) bad++;
    }
    CHECK(bad == 0);
    CHECK_ST(maph_stats(db, &s), MAPH_OK);
    CHECK(s.keys == 2000 && s.mphf_keys == 2000 && s.generation == 6);
    maph_close(db);
}

int main(void) {
    RUN(test_threads_writing_different_keys_read_each_others_keys);
    RUN(test_readers_never_see_a_torn_value_while_writers_overwrite_it);
    RUN(test_last_error_is_per_thread);
    RUN(test_readers_never_miss_a_key_while_optimize_runs);
    return h_summary();
}
