/*
 * Batches: maph_mset and maph_mget. Every key gets its own status; one
 * key's failure leaves the others alone; batches longer than a hashing
 * group (16) are handled whole.
 */
#include "harness.h"

#define N 100

static maph_status make(const char *name, uint64_t slots, uint32_t slot_size, maph_t **db) {
    char p[H_PATH_MAX];
    maph_options o;
    maph_options_default(&o);
    o.slots = slots;
    o.slot_size = slot_size;
    o.lock_count = 64;
    return maph_create(h_path(p, name), &o, db);
}

struct batch {
    char kbuf[N][16], vbuf[N][48], out[N][64];
    const void *keys[N];
    size_t key_lens[N];
    const void *vals[N];
    size_t val_lens[N];
    void *bufs[N];
    size_t caps[N];
    size_t got[N];
    maph_status st[N];
};

static void fill(struct batch *b, const char *prefix) {
    int i;
    memset(b, 0, sizeof *b);
    for (i = 0; i < N; i++) {
        snprintf(b->kbuf[i], sizeof b->kbuf[i], "%s%d", prefix, i);
        snprintf(b->vbuf[i], sizeof b->vbuf[i], "value of %s%d: %.*s", prefix, i, i % 20,
                 "xxxxxxxxxxxxxxxxxxxx");
        b->keys[i] = b->kbuf[i];
        b->key_lens[i] = strlen(b->kbuf[i]);
        b->vals[i] = b->vbuf[i];
        b->val_lens[i] = strlen(b->vbuf[i]);
        b->bufs[i] = b->out[i];
        b->caps[i] = sizeof b->out[i];
        b->st[i] = (maph_status)0xEE;
        b->got[i] = 0xEE;
    }
}

/* Number of keys whose mget status or value is wrong. */
static int mget_wrong(const maph_t *db, struct batch *b, size_t n) {
    size_t i;
    int bad = 0;
    if (maph_mget(db, n, b->keys, b->key_lens, b->bufs, b->caps, b->got, b->st) != MAPH_OK)
        return (int)n;
    for (i = 0; i < n; i++) {
        if (b->st[i] != MAPH_OK || b->got[i] != b->val_lens[i] ||
            memcmp(b->out[i], b->vals[i], b->got[i]) != 0) {
            if (bad < 5)
                fprintf(stderr, "mget key %s: %s\n", b->kbuf[i], h_status_name(b->st[i]));
            bad++;
        }
    }
    return bad;
}

static void test_mset_then_mget_round_trip_across_several_groups(void) {
    static struct batch b;
    maph_t *db = NULL;
    maph_stats_t s;
    char buf[64];
    size_t n = 0, i;
    int bad = 0;
    REQUIRE_ST(make("b.maph", 512, 128, &db), MAPH_OK);
    fill(&b, "k");
    CHECK_ST(maph_mset(db, N, b.keys, b.key_lens, b.vals, b.val_lens, b.st), MAPH_OK);
    for (i = 0; i < N; i++) if (b.st[i] != MAPH_OK) bad++;
    CHECK(bad == 0);
    CHECK(mget_wrong(db, &b, N) == 0);
    /* single-key reads agree with the batch */
    for (i = 0; i < N; i++) {
        if (maph_get(db, b.keys[i], b.key_lens[i], buf, sizeof buf, &n) != MAPH_OK ||
            n != b.val_lens[i] || memcmp(buf, b.vals[i], n) != 0)
            bad++;
    }
    CHECK(bad == 0);
    CHECK_ST(maph_stats(db, &s), MAPH_OK);
    CHECK(s.keys == N);
    /* odd sizes: 1, 15, 16, 17 keys */
    CHECK(mget_wrong(db, &b, 1) == 0);
    CHECK(mget_wrong(db, &b, 15) == 0);
    CHECK(mget_wrong(db, &b, 16) == 0);
    CHECK(mget_wrong(db, &b, 17) == 0);
    maph_close(db);
}

static void test_mget_reports_each_keys_own_status(void) {
    static struct batch b;
    maph_t *db = NULL;
    static char huge[65536]; /* one byte over the longest key */
    REQUIRE_ST(make("b.maph", 512, 128, &db), MAPH_OK);
    fill(&b, "k");
    CHECK_ST(maph_set(db, "k0", 2, "zero", 4), MAPH_OK);
    CHECK_ST(maph_set(db, "k2", 2, "a value longer than 4", 21), MAPH_OK);
    CHECK_ST(maph_set(db, "k3", 2, "three", 5), MAPH_OK);
    CHECK_ST(maph_set(db, "k7", 2, "seven", 5), MAPH_OK);
    memset(huge, 'h', sizeof huge);
    /* 0 found; 1 missing; 2 buffer too small; 3 NULL buffer, capacity 0;
     * 4 empty key; 5 NULL key; 6 key longer than a slot; 7 found */
    b.caps[2] = 4;
    b.bufs[3] = NULL;
    b.caps[3] = 0;
    b.key_lens[4] = 0;
    b.keys[5] = NULL;
    b.keys[6] = huge;
    b.key_lens[6] = sizeof huge;
    CHECK_ST(maph_mget(db, 8, b.keys, b.key_lens, b.bufs, b.caps, b.got, b.st), MAPH_OK);
    CHECK_ST(b.st[0], MAPH_OK);
    CHECK(b.got[0] == 4 && memcmp(b.out[0], "zero", 4) == 0);
    CHECK_ST(b.st[1], MAPH_NOT_FOUND);
    CHECK_ST(b.st[2], MAPH_E_BUFFER_TOO_SMALL);
    CHECK(b.got[2] == 21);
    CHECK_ST(b.st[3], MAPH_E_BUFFER_TOO_SMALL);
    CHECK(b.got[3] == 5);
    CHECK_ST(b.st[4], MAPH_E_INVALID_ARG);
    CHECK_ST(b.st[5], MAPH_E_INVALID_ARG);
    CHECK_ST(b.st[6], MAPH_E_TOO_LARGE);
    CHECK_ST(b.st[7], MAPH_OK);
    CHECK(b.got[7] == 5 && memcmp(b.out[7], "seven", 5) == 0);
    CHECK(b.st[8] == (maph_status)0xEE); /* nothing past n is written */
    maph_close(db);
}

static void test_mset_reports_each_keys_own_status(void) {
    static struct batch b;
    maph_t *db = NULL;
    static char big[70000]; /* larger than the store's 64 KiB heap */
    char buf[64];
    size_t n = 0;
    maph_stats_t s;
    REQUIRE_ST(make("b.maph", 512, 64, &db), MAPH_OK); /* capacity 48 */
    fill(&b, "k");
    memset(big, 'b', sizeof big);
    /* 0 ok; 1 empty key; 2 NULL key; 3 too large; 4 NULL value with a
     * length; 5 NULL value, length 0 (an empty value); 6 ok */
    b.vals[0] = "v0";
    b.val_lens[0] = 2;
    b.key_lens[1] = 0;
    b.keys[2] = NULL;
    b.vals[3] = big;
    b.val_lens[3] = sizeof big;
    b.vals[4] = NULL;
    b.val_lens[4] = 3;
    b.vals[5] = NULL;
    b.val_lens[5] = 0;
    b.vals[6] = "v6";
    b.val_lens[6] = 2;
    CHECK_ST(maph_mset(db, 7, b.keys, b.key_lens, b.vals, b.val_lens, b.st), MAPH_OK);
    CHECK_ST(b.st[0], MAPH_OK);
    CHECK_ST(b.st[1], MAPH_E_INVALID_ARG);
    CHECK_ST(b.st[2], MAPH_E_INVALID_ARG);
    CHECK_ST(b.st[3], MAPH_E_TOO_LARGE);
    CHECK_ST(b.st[4], MAPH_E_INVALID_ARG);
    CHECK_ST(b.st[5], MAPH_OK);
    CHECK_ST(b.st[6], MAPH_OK);
    CHECK(b.st[7] == (maph_status)0xEE);
    CHECK_ST(maph_get(db, "k0", 2, buf, sizeof buf, &n), MAPH_OK);
    CHECK(n == 2 && memcmp(buf, "v0", 2) == 0);
    CHECK_ST(maph_get(db, "k3", 2, buf, sizeof buf, &n), MAPH_NOT_FOUND);
    CHECK_ST(maph_get(db, "k4", 2, buf, sizeof buf, &n), MAPH_NOT_FOUND);
    CHECK_ST(maph_get(db, "k5", 2, buf, sizeof buf, &n), MAPH_OK);
    CHECK(n == 0);
    CHECK_ST(maph_stats(db, &s), MAPH_OK);
    CHECK(s.keys == 3);
    maph_close(db);
}

static void test_mset_through_read_only_handle_reports_read_only_per_key(void) {
    static struct batch b;
    char p[H_PATH_MAX];
    maph_t *db = NULL;
    size_t i;
    REQUIRE_ST(make("b.maph", 512, 128, &db), MAPH_OK);
    maph_close(db);
    REQUIRE_ST(maph_open(h_path(p, "b.maph"), MAPH_RDONLY, &db), MAPH_OK);
    fill(&b, "k");
    CHECK_ST(maph_mset(db, 20, b.keys, b.key_lens, b.vals, b.val_lens, b.st), MAPH_OK);
    for (i = 0; i < 20; i++) CHECK_ST(b.st[i], MAPH_E_READ_ONLY);
    CHECK_ST(maph_mget(db, 20, b.keys, b.key_lens, b.bufs, b.caps, b.got, b.st), MAPH_OK);
    for (i = 0; i < 20; i++) CHECK_ST(b.st[i], MAPH_NOT_FOUND);
    maph_close(db);
}

static void test_mset_into_full_store_reports_full_for_the_keys_that_do_not_fit(void) {
    static struct batch b;
    maph_t *db = NULL;
    char p[H_PATH_MAX];
    maph_options o;
    maph_stats_t s;
    size_t i, ok = 0, full = 0;
    maph_options_default(&o);
    o.slots = 8;
    o.slot_size = 128;
    o.max_probes = 8;
    o.lock_count = 8;
    REQUIRE_ST(maph_create(h_path(p, "f.maph"), &o, &db), MAPH_OK);
    fill(&b, "k");
    CHECK_ST(maph_mset(db, 20, b.keys, b.key_lens, b.vals, b.val_lens, b.st), MAPH_OK);
    for (i = 0; i < 20; i++) {
        if (b.st[i] == MAPH_OK) ok++;
        else if (b.st[i] == MAPH_E_FULL) full++;
        else CHECK_ST(b.st[i], MAPH_E_FULL);
    }
    CHECK(ok == 8 && full == 12);
    /* the first 8 fit: they were set in order */
    for (i = 0; i < 8; i++) CHECK_ST(b.st[i], MAPH_OK);
    CHECK_ST(maph_stats(db, &s), MAPH_OK);
    CHECK(s.keys == 8 && s.load_factor == 1.0);
    maph_close(db);
}

static void test_zero_key_batches_accept_null_arrays(void) {
    maph_t *db = NULL;
    REQUIRE_ST(make("b.maph", 64, 128, &db), MAPH_OK);
    CHECK_ST(maph_mget(db, 0, NULL, NULL, NULL, NULL, NULL, NULL), MAPH_OK);
    CHECK_ST(maph_mset(db, 0, NULL, NULL, NULL, NULL, NULL), MAPH_OK);
    maph_close(db);
}

static void test_mget_after_optimize_finds_every_key_and_misses_absent_ones(void) {
    static struct batch b, absent;
    maph_t *db = NULL;
    maph_stats_t s;
    size_t i;
    REQUIRE_ST(make("b.maph", 512, 128, &db), MAPH_OK);
    fill(&b, "k");
    fill(&absent, "absent");
    CHECK_ST(maph_mset(db, N, b.keys, b.key_lens, b.vals, b.val_lens, b.st), MAPH_OK);
    CHECK_ST(maph_optimize(db), MAPH_OK);
    CHECK_ST(maph_stats(db, &s), MAPH_OK);
    CHECK(s.mphf_in_use == 1);
    CHECK(mget_wrong(db, &b, N) == 0);
    CHECK_ST(maph_mget(db, N, absent.keys, absent.key_lens, absent.bufs, absent.caps,
                       absent.got, absent.st), MAPH_OK);
    for (i = 0; i < N; i++) CHECK_ST(absent.st[i], MAPH_NOT_FOUND);
    maph_close(db);
}

int main(void) {
    RUN(test_mset_then_mget_round_trip_across_several_groups);
    RUN(test_mget_reports_each_keys_own_status);
    RUN(test_mset_reports_each_keys_own_status);
    RUN(test_mset_through_read_only_handle_reports_read_only_per_key);
    RUN(test_mset_into_full_store_reports_full_for_the_keys_that_do_not_fit);
    RUN(test_zero_key_batches_accept_null_arrays);
    RUN(test_mget_after_optimize_finds_every_key_and_misses_absent_ones);
    return h_summary();
}
