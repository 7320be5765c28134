/*
 * maph_del_by_uid on a slot left locked (a writer died inside it) must end
 * in MAPH_E_BUSY after the 2 s wait limit, like maph_del, and never spin
 * forever (an earlier revision retried the slot with a bare spin loop).
 *
 * Setup: a store with one lock entry (lock_count 1: every key's writers
 * serialize on entry 0, whose first u32 at file offset 4096 is the owner
 * pid). The test holds that entry (owner = its own, live, pid) through a
 * second mapping of the file, starts maph_del_by_uid in a thread (it reads
 * the key, then waits for the entry), marks the key's slot locked (odd
 * seqlock word), and releases the entry. Expected: a return, MAPH_E_BUSY.
 */
#include <pthread.h>
#include <sys/mman.h>

#include "harness.h"

struct job {
    maph_t *db;
    uint64_t uid;
    int done;
    maph_status st;
};

static void *del_job(void *arg) {
    struct job *j = arg;
    j->st = maph_del_by_uid(j->db, j->uid);
    __atomic_store_n(&j->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void test_del_by_uid_on_slot_left_locked_reports_busy_not_hang(void) {
    char p[H_PATH_MAX];
    static struct job j; /* the thread may outlive this function */
    maph_options o;
    pthread_t t;
    unsigned char *m;
    uint64_t slots_off;
    volatile uint32_t *owner;
    volatile uint64_t *seq;
    off_t len;
    int fd, i;
    maph_options_default(&o);
    o.slots = 16;
    o.slot_size = 64;
    o.lock_count = 1; /* every key uses lock entry 0, at offset 4096 */
    REQUIRE_ST(maph_create(h_path(p, "s.maph"), &o, &j.db), MAPH_OK);
    REQUIRE_ST(maph_set(j.db, "k", 1, "v", 1), MAPH_OK);
    REQUIRE_ST(maph_uid(j.db, "k", 1, &j.uid), MAPH_OK);
    fd = open(p, O_RDWR);
    REQUIRE(fd >= 0);
    len = lseek(fd, 0, SEEK_END);
    m = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    REQUIRE(m != MAP_FAILED);
    memcpy(&slots_off, m + 56, 8);
    owner = (volatile uint32_t *)(void *)(m + 4096);
    seq = (volatile uint64_t *)(void *)(m + slots_off + (j.uid & 0xffffffffu) * 64);
    *owner = (uint32_t)getpid();   /* a live process holds the key's lock */
    REQUIRE(pthread_create(&t, NULL, del_job, &j) == 0);
    usleep(300000);                /* del_by_uid has read the key and waits */
    *seq = (*seq & 0xffffffffu) + 1; /* a writer (lock entry 0) died inside the slot */
    *owner = 0;                    /* the lock is free again */
    for (i = 0; i < 100 && !__atomic_load_n(&j.done, __ATOMIC_ACQUIRE); i++) usleep(100000);
    CHECK(__atomic_load_n(&j.done, __ATOMIC_ACQUIRE)); /* returned within 10 s */
    if (j.done) {
        CHECK_ST(j.st, MAPH_E_BUSY);
        pthread_join(t, NULL);
        maph_close(j.db);
    } else {
        pthread_detach(t); /* still spinning: leave it, exit ends it */
    }
}

int main(void) {
    RUN(test_del_by_uid_on_slot_left_locked_reports_busy_not_hang);
    return h_summary();
}
