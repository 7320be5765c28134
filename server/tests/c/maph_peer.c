/* A local process using the same store as maph-server, through libmaph.
 *
 *   maph_peer PATH get KEY          prints the value (raw bytes); exit 3 if absent
 *   maph_peer PATH set KEY VALUE
 *   maph_peer PATH incr KEY DELTA   maph_incr (8-byte native integer); prints the new value
 *
 * Any other failure: prints the status and exits 4. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maph.h"

static int fail(const char *what, maph_status st) {
  fprintf(stderr, "%s: status %d\n", what, (int)st);
  return 4;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: maph_peer PATH get|set|incr KEY [VALUE|DELTA]\n");
    return 2;
  }
  struct maph_t *db = NULL;
  maph_status st = maph_open(argv[1], MAPH_RDWR, &db);
  if (st != MAPH_OK) return fail("maph_open", st);
  const char *op = argv[2], *key = argv[3];
  int rc = 0;
  if (strcmp(op, "get") == 0) {
    char buf[65536];
    size_t n = 0;
    st = maph_get(db, key, strlen(key), buf, sizeof buf, &n);
    if (st == MAPH_NOT_FOUND) rc = 3;
    else if (st != MAPH_OK) rc = fail("maph_get", st);
    else fwrite(buf, 1, n, stdout);
  } else if (strcmp(op, "set") == 0 && argc == 5) {
    st = maph_set(db, key, strlen(key), argv[4], strlen(argv[4]));
    if (st != MAPH_OK) rc = fail("maph_set", st);
  } else if (strcmp(op, "incr") == 0 && argc == 5) {
    int64_t v = 0;
    st = maph_incr(db, key, strlen(key), strtoll(argv[4], NULL, 10), &v);
    if (st != MAPH_OK) rc = fail("maph_incr", st);
    else printf("%lld", (long long)v);
  } else {
    fprintf(stderr, "bad operation\n");
    rc = 2;
  }
  maph_close(db);
  return rc;
}
