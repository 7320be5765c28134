/*
 * Links the installed libmaph.a together with a second Rust static library
 * (other_rust_lib.rs) into one C program: with maph's archive exporting
 * only maph_* symbols, the two copies of Rust's runtime do not collide, and
 * both libraries work, panics caught inside the other library included.
 * Exit 0 on success.
 */
#include <stdio.h>
#include <string.h>

#include "maph.h"

int other_len(int);

int main(void) {
    maph_t *db = NULL;
    char buf[16];
    size_t n = 0;
    if (maph_create_anonymous(NULL, &db) != MAPH_OK) return 1;
    if (maph_set(db, "k", 1, "v", 1) != MAPH_OK) return 2;
    if (maph_get(db, "k", 1, buf, sizeof buf, &n) != MAPH_OK || n != 1 || buf[0] != 'v') return 3;
    maph_close(db);
    if (other_len(12345) != 7) return 4;  /* "12345-1" */
    if (other_len(-1) != -1) return 5;    /* the panic was caught, not a crash */
    printf("maph %s and another Rust library in one program: ok\n", maph_version());
    return 0;
}
