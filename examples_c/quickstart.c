/* maph quickstart: create (or open) a store, set a key, read it back. */
#include <stdio.h>
#include <string.h>

#include "maph.h"

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "/tmp/maph-quickstart.maph";
    maph_t *db = NULL;
    char buf[256];
    size_t len = 0;
    maph_status st = maph_create(path, NULL, &db); /* NULL: default options */
    if (st == MAPH_E_EXISTS) st = maph_open(path, MAPH_RDWR, &db);
    if (st == MAPH_OK) st = maph_set(db, "hello", 5, "world", 5);
    if (st == MAPH_OK) st = maph_get(db, "hello", 5, buf, sizeof buf, &len);
    if (st != MAPH_OK) {
        fprintf(stderr, "maph: %s (%s)\n", maph_strerror(st), maph_last_error());
        maph_close(db); /* NULL is fine */
        return 1;
    }
    printf("hello = %.*s (%s)\n", (int)len, buf, path);
    maph_close(db);
    return 0;
}
