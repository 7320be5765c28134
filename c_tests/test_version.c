/*
 * maph_version() and the MAPH_VERSION_* macros: a program compiled against
 * one header and run against another library must be able to tell.
 */
#include "harness.h"

static void test_version_string_matches_the_header_macros(void) {
    char want[64];
    const char *v = maph_version();
    REQUIRE(v != NULL);
    snprintf(want, sizeof want, "%d.%d.%d", MAPH_VERSION_MAJOR, MAPH_VERSION_MINOR,
             MAPH_VERSION_PATCH);
    CHECK(strcmp(v, want) == 0);
}

static void test_version_is_the_same_static_string_on_every_call(void) {
    CHECK(maph_version() == maph_version());
}

int main(void) {
    RUN(test_version_string_matches_the_header_macros);
    RUN(test_version_is_the_same_static_string_on_every_call);
    return h_summary();
}
