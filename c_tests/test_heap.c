/* Records too large for their slot live in the store's value heap
 * (format 3): every boundary size reads back byte for byte, get_ptr points
 * into the heap with a token that turns invalid on overwrite, the heap's
 * counters move, and space comes back on delete. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static maph_t *heap_store(const char *name, uint64_t heap_bytes) {
    char p[H_PATH_MAX];
    maph_options o;
    maph_t *db = NULL;
    maph_options_default(&o);
    o.slots = 64;
    o.slot_size = 128; /* capacity 112 */
    o.heap_bytes = heap_bytes;
    if (maph_create(h_path(p, name), &o, &db) != MAPH_OK) return NULL;
    return db;
}

static void fill(unsigned char *v, size_t n, unsigned seed) {
    size_t i;
    for (i = 0; i < n; i++) v[i] = (unsigned char)(i * 31u + seed);
}

static void test_every_boundary_size_reads_back_whole(void) {
    /* key "b" (1 byte): capacity - 1, = , + 1; 4 KiB; 1 MiB; 64 MiB */
    static const size_t sizes[] = {110, 111, 112, 4096, 1u << 20, 64u << 20};
    /* 64 MiB + header rounds up to the 80 MiB size class */
    maph_t *db = heap_store("b.maph", 100u << 20);
    size_t i, n = 0;
    unsigned char *v, *got;
    REQUIRE(db != NULL);
    v = malloc(64u << 20);
    got = malloc(64u << 20);
    REQUIRE(v != NULL && got != NULL);
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char key[2] = {'a', 0};
        key[0] = (char)('a' + i);
        fill(v, sizes[i], (unsigned)i);
        CHECK_ST(maph_set(db, key, 1, v, sizes[i]), MAPH_OK);
    }
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char key[2] = {'a', 0};
        unsigned char one[1];
        key[0] = (char)('a' + i);
        fill(v, sizes[i], (unsigned)i);
        CHECK_ST(maph_get(db, key, 1, got, 64u << 20, &n), MAPH_OK);
        CHECK(n == sizes[i] && memcmp(got, v, n) == 0);
        CHECK_ST(maph_get(db, key, 1, one, 1, &n), MAPH_E_BUFFER_TOO_SMALL);
        CHECK(n == sizes[i]);
    }
    {
        uint64_t violations = 1;
        CHECK_ST(maph_check(db, &violations), MAPH_OK);
        CHECK(violations == 0);
    }
    free(v);
    free(got);
    maph_close(db);
}

static void test_get_ptr_on_a_heap_value_points_into_the_heap(void) {
    maph_t *db = heap_store("p.maph", 1u << 20);
    unsigned char v[5000];
    const void *ptr = NULL;
    size_t n = 0;
    uint64_t tok = 0;
    REQUIRE(db != NULL);
    fill(v, sizeof v, 7);
    CHECK_ST(maph_set(db, "ptr", 3, v, sizeof v), MAPH_OK);
    CHECK_ST(maph_get_ptr(db, "ptr", 3, &ptr, &n, &tok), MAPH_OK);
    CHECK(n == sizeof v && memcmp(ptr, v, n) == 0);
    CHECK(maph_ptr_valid(db, tok));
    v[0] ^= 1;
    CHECK_ST(maph_set(db, "ptr", 3, v, sizeof v), MAPH_OK);
    CHECK(!maph_ptr_valid(db, tok));
    maph_close(db);
}

static void test_heap_stats_follow_writes_and_deletes(void) {
    maph_t *db = heap_store("s.maph", 1u << 20);
    unsigned char v[3000];
    maph_heap_stats_t h;
    REQUIRE(db != NULL);
    fill(v, sizeof v, 1);
    CHECK_ST(maph_heap_stats(db, &h), MAPH_OK);
    CHECK(h.bytes == 1u << 20 && h.used == 0 && h.free == 0);
    CHECK_ST(maph_set(db, "x", 1, v, sizeof v), MAPH_OK);
    CHECK_ST(maph_heap_stats(db, &h), MAPH_OK);
    CHECK(h.used >= sizeof v + 16 && h.used < 2 * sizeof v);
    CHECK_ST(maph_del(db, "x", 1), MAPH_OK);
    CHECK_ST(maph_heap_stats(db, &h), MAPH_OK);
    CHECK(h.used == 0 && h.free > 0);
    CHECK(h.largest_free >= h.untouched);
    CHECK_ST(maph_heap_stats(NULL, &h), MAPH_E_INVALID_ARG);
    CHECK_ST(maph_heap_stats(db, NULL), MAPH_E_INVALID_ARG);
    maph_close(db);
}

static void test_a_record_larger_than_the_heap_is_too_large_and_changes_nothing(void) {
    maph_t *db = heap_store("t.maph", 64u << 10);
    static unsigned char v[70000];
    unsigned char got[8];
    size_t n = 0;
    REQUIRE(db != NULL);
    CHECK_ST(maph_set(db, "k", 1, "old", 3), MAPH_OK);
    CHECK_ST(maph_set(db, "k", 1, v, sizeof v), MAPH_E_TOO_LARGE);
    CHECK_ST(maph_get(db, "k", 1, got, sizeof got, &n), MAPH_OK);
    CHECK(n == 3 && memcmp(got, "old", 3) == 0);
    maph_close(db);
}

static void test_compact_copy_keeps_the_records_and_shrinks_the_heap(void) {
    maph_t *db = heap_store("c.maph", 1u << 20), *copy = NULL;
    unsigned char v[4000], got[4000];
    char p[H_PATH_MAX];
    maph_heap_stats_t before, after;
    size_t n = 0;
    int i;
    REQUIRE(db != NULL);
    for (i = 0; i < 20; i++) {
        char k[8];
        int len = snprintf(k, sizeof k, "k%d", i);
        fill(v, sizeof v, (unsigned)i);
        CHECK_ST(maph_set(db, k, (size_t)len, v, 1000 + 100 * (size_t)i), MAPH_OK);
        if (i % 2 == 0) CHECK_ST(maph_del(db, k, (size_t)len), MAPH_OK);
    }
    CHECK_ST(maph_heap_stats(db, &before), MAPH_OK);
    CHECK_ST(maph_compact_copy(db, h_path(p, "copy.maph"), 0), MAPH_OK);
    CHECK_ST(maph_compact_copy(db, h_path(p, "copy.maph"), 0), MAPH_E_EXISTS);
    CHECK_ST(maph_compact_copy(db, NULL, 0), MAPH_E_INVALID_ARG);
    REQUIRE_ST(maph_open(h_path(p, "copy.maph"), MAPH_RDONLY, &copy), MAPH_OK);
    CHECK_ST(maph_heap_stats(copy, &after), MAPH_OK);
    CHECK(after.free == 0 && after.used < before.used + before.free);
    CHECK(after.bytes < before.bytes);
    fill(v, sizeof v, 7);
    CHECK_ST(maph_get(copy, "k7", 2, got, sizeof got, &n), MAPH_OK);
    CHECK(n == 1700 && memcmp(got, v, n) == 0);
    CHECK_ST(maph_get(copy, "k8", 2, got, sizeof got, &n), MAPH_NOT_FOUND);
    maph_close(copy);
    maph_close(db);
}

int main(void) {
    RUN(test_every_boundary_size_reads_back_whole);
    RUN(test_get_ptr_on_a_heap_value_points_into_the_heap);
    RUN(test_heap_stats_follow_writes_and_deletes);
    RUN(test_a_record_larger_than_the_heap_is_too_large_and_changes_nothing);
    RUN(test_compact_copy_keeps_the_records_and_shrinks_the_heap);
    return h_summary();
}
