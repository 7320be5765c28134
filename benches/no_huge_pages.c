/*
 * no_huge_pages.c: an LD_PRELOAD shim for benchmarks only. It makes
 * madvise(MADV_HUGEPAGE) a no-op (and passes every other advice to the
 * kernel), so that maph's mappings stay on 4 KiB pages even where the
 * kernel would give them 2 MiB pages (a tmpfs mounted huge=advise, or a
 * file system with large folios such as ext4 on Linux 6.x). It lets one
 * run measure maph on 4 KiB pages beside maph as shipped: benches/anchors.sh
 * builds it for its SMALL_PAGES=1 column. Not part of the library.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

int madvise(void *addr, size_t len, int advice) {
    if (advice == MADV_HUGEPAGE) return 0;
    return (int)syscall(SYS_madvise, addr, len, advice);
}
