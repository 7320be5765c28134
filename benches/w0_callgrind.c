/*
 * w0_callgrind.c: W0's lookups for counting instructions per maph_get with
 * callgrind (issue 10). 20,000 keys "key:%08d" with 100-byte values in an
 * anonymous store of 40,000 slots, optimize() (unless the second argument
 * is 0), then N random hit GETs (first argument, default 1,000,000).
 *
 *   gcc -O2 -Iinclude benches/w0_callgrind.c -Ltarget/release -lmaph \
 *       -Wl,-rpath,$PWD/target/release -o target/w0_callgrind
 *   valgrind --tool=callgrind --toggle-collect=maph_get target/w0_callgrind 100000
 *
 * Instructions per get = the total callgrind reports / N. The key is
 * formatted outside maph_get, so only the lookup is counted.
 */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include "maph.h"
int main(int argc, char **argv) {
    int n = 20000, gets = argc > 1 ? atoi(argv[1]) : 1000000, opt = argc > 2 ? atoi(argv[2]) : 1;
    maph_options o; maph_options_default(&o); o.slots = 40000;
    maph_t *db; if (maph_create_anonymous(&o, &db)) return 1;
    char key[32], val[100], buf[512]; memset(val, 'v', 100);
    for (int i = 0; i < n; i++) { snprintf(key, sizeof key, "key:%08d", i); maph_set(db, key, 12, val, 100); }
    if (opt) maph_optimize(db);
    unsigned long long x = 88172645463325252ull, sum = 0; size_t len;
    for (int i = 0; i < gets; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        snprintf(key, sizeof key, "key:%08d", (int)(x % n));
        if (maph_get(db, key, 12, buf, sizeof buf, &len) == MAPH_OK) sum += len;
    }
    printf("%llu\n", sum);
    return 0;
}
