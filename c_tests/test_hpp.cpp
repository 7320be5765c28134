/*
 * The C++17 wrapper include/maph.hpp: RAII (the handle is closed on scope
 * exit, on an early return, during unwinding from an exception, and not
 * twice after a move), std::optional for absent keys, maph::error with the
 * status for every other failure, and each wrapped call.
 *
 * Whether a store is still open is read from /proc/self/maps: an open
 * store's file is mapped (found by its inode); maph_close unmaps it.
 */
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "maph.hpp"

static int passed, failed, case_failures;
static std::string dir;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            case_failures++;                                                         \
            std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                            \
    } while (0)

static void run(const char *name, const std::function<void()> &fn) {
    char tmpl[] = "/tmp/maph-hpp-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
        std::perror("mkdtemp");
        std::exit(1);
    }
    dir = tmpl;
    case_failures = 0;
    try {
        fn();
    } catch (const std::exception &e) {
        case_failures++;
        std::fprintf(stderr, "%s: unexpected exception: %s\n", name, e.what());
    }
    std::string cmd = "rm -rf '" + dir + "'";
    if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "could not remove %s\n", dir.c_str());
    if (case_failures == 0) {
        passed++;
        std::printf("[  OK ] %s\n", name);
    } else {
        failed++;
        std::printf("[FAIL ] %s\n", name);
    }
}

/* Number of mappings of the file at `path` in this process, matched by
 * inode (a store made by maph_create is mapped under the temporary name it
 * was built under, so names do not match). */
static int mappings_of(const std::string &path) {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) return -1;
    std::ifstream maps("/proc/self/maps");
    std::string line;
    int n = 0;
    while (std::getline(maps, line)) {
        std::istringstream f(line);
        std::string addr, perms, off, dev;
        unsigned long long ino = 0;
        if (f >> addr >> perms >> off >> dev >> ino && ino == st.st_ino) n++;
    }
    return n;
}

static maph_options small() {
    maph_options o = maph::default_options();
    o.slots = 256;
    o.lock_count = 64;
    return o;
}

static void test_absent_key_is_nullopt_not_an_exception() {
    auto db = maph::store::create(dir + "/s", small());
    CHECK(!db.get("nope").has_value());
    CHECK(!db.contains("nope"));
    db.set("k", "v");
    CHECK(db.get("k") == std::string("v"));
    CHECK(db.contains("k"));
}

static void test_values_with_nul_bytes_and_longer_than_the_first_buffer_round_trip() {
    auto db = maph::store::create(dir + "/s", small());
    std::string v(300, 'x');
    v[7] = '\0';
    std::string k("a\0b", 3);
    db.set(k, v);
    auto got = db.get(k);
    CHECK(got.has_value() && *got == v);
    CHECK(!db.get("a").has_value());
}

static void test_failure_throws_error_with_status_and_message() {
    std::string p = dir + "/s";
    { auto db = maph::store::create(p, small()); }
    try {
        auto again = maph::store::create(p, small());
        CHECK(false);
    } catch (const maph::error &e) {
        CHECK(e.status() == MAPH_E_EXISTS);
        CHECK(std::strstr(e.what(), "maph_create") != nullptr);
        CHECK(std::strstr(e.what(), maph_strerror(MAPH_E_EXISTS)) != nullptr);
    }
    auto db = maph::store::create(dir + "/t", small());
    try {
        db.set("k", std::string(1 << 20, 'v'));  // larger than the heap
        CHECK(false);
    } catch (const maph::error &e) {
        CHECK(e.status() == MAPH_E_TOO_LARGE);
    }
}

static void test_exception_in_scope_closes_the_handle() {
    std::string p = dir + "/s";
    try {
        auto db = maph::store::create(p, small());
        CHECK(mappings_of(p) > 0);
        db.set("k", "v");
        throw std::runtime_error("caller's own failure");
    } catch (const std::runtime_error &) {
    }
    CHECK(mappings_of(p) == 0);
    try {
        auto db = maph::store::open(p, MAPH_RDONLY);
        CHECK(mappings_of(p) > 0);
        db.set("k", "w"); /* throws MAPH_E_READ_ONLY */
        CHECK(false);
    } catch (const maph::error &e) {
        CHECK(e.status() == MAPH_E_READ_ONLY);
    }
    CHECK(mappings_of(p) == 0);
}

static bool early_return(const std::string &p, int *mapped_inside) {
    auto db = maph::store::open(p);
    *mapped_inside = mappings_of(p);
    if (db.get("k").has_value()) return true;
    db.set("k", "v");
    return false;
}

static void test_early_return_closes_the_handle() {
    std::string p = dir + "/s";
    { auto db = maph::store::create(p, small()); }
    CHECK(mappings_of(p) == 0);
    int inside = 0;
    CHECK(!early_return(p, &inside));
    CHECK(inside > 0);
    CHECK(mappings_of(p) == 0);
    CHECK(early_return(p, &inside));
    CHECK(mappings_of(p) == 0);
}

static void test_move_transfers_ownership_and_closes_once() {
    std::string p = dir + "/s", q = dir + "/t";
    auto a = maph::store::create(p, small());
    a.set("k", "v");
    maph::store b = std::move(a);
    CHECK(!a);
    CHECK(b.get("k") == std::string("v"));
    CHECK(mappings_of(p) > 0);
    b = maph::store::create(q, small()); /* closes p */
    CHECK(mappings_of(p) == 0);
    CHECK(mappings_of(q) > 0);
    maph_t *raw = b.release();
    CHECK(!b);
    maph_close(raw);
    CHECK(mappings_of(q) == 0);
}

static void test_conditional_writes_counters_ttl_and_uids() {
    auto db = maph::store::create(dir + "/s", small());
    CHECK(db.add("k", "1"));
    CHECK(!db.add("k", "2"));
    CHECK(db.replace("k", "3"));
    CHECK(!db.replace("absent", "x"));
    CHECK(!db.cas("k", "wrong", "4"));
    CHECK(db.cas("k", "3", "4"));
    CHECK(db.get("k") == std::string("4"));
    CHECK(db.incr("n") == 1);
    CHECK(db.incr("n", -5) == -4);
    try {
        db.incr("k");
        CHECK(false);
    } catch (const maph::error &e) {
        CHECK(e.status() == MAPH_E_NOT_INTEGER);
    }
    CHECK(db.ttl("k") == -1);
    CHECK(db.expire("k", 60000));
    auto t = db.ttl("k");
    CHECK(t.has_value() && *t > 50000 && *t <= 60000);
    CHECK(!db.ttl("absent").has_value());
    CHECK(!db.expire("absent", 1));
    db.set("e", "v", 60000);
    CHECK(db.ttl("e").value_or(0) > 0);
    auto u = db.uid("k");
    CHECK(u.has_value());
    CHECK(db.get_by_uid(*u) == std::string("4"));
    CHECK(db.del("k"));
    CHECK(!db.del("k"));
    CHECK(!db.get_by_uid(*u).has_value());
    CHECK(!db.uid("k").has_value());
}

static void test_mget_mset_optimize_stats_check() {
    auto db = maph::store::create(dir + "/s", small());
    auto sts = db.mset({{"a", "1"}, {"b", "2"}, {"", "empty key"}});
    CHECK(sts.size() == 3 && sts[0] == MAPH_OK && sts[1] == MAPH_OK &&
          sts[2] == MAPH_E_INVALID_ARG);
    auto vals = db.mget({"a", "missing", "b"});
    CHECK(vals.size() == 3);
    CHECK(vals[0] == std::string("1"));
    CHECK(!vals[1].has_value());
    CHECK(vals[2] == std::string("2"));
    // A value longer than a slot (in the heap) comes back whole too.
    std::string big(5000, 'h');
    db.set("big", big);
    CHECK(db.mget({"big"})[0] == big);
    db.del("big");
    db.optimize();
    maph_stats_t s = db.stats();
    CHECK(s.keys == 2 && s.generation == 1 && s.mphf_keys == 2);
    CHECK(db.check() == 0);
    CHECK(db.recover() == 0);
    db.sync();
    db.prefault();
    CHECK(db.flush_expired() == 0);
}

static void test_shm_store_is_closed_on_scope_exit_and_reopens_by_name() {
    std::string name = "maph-hpp-test-" + std::to_string(getpid());
    std::string p = "/dev/shm/" + name;
    {
        auto db = maph::store::shm_create(name, small());
        db.set("k", "shared");
        CHECK(mappings_of(p) > 0);
    }
    CHECK(mappings_of(p) == 0);
    {
        auto db = maph::store::shm_open(name, MAPH_RDONLY);
        CHECK(db.get("k") == std::string("shared"));
    }
    maph::store::shm_unlink(name);
    try {
        maph::store::shm_open(name);
        CHECK(false);
    } catch (const maph::error &e) {
        CHECK(e.status() == MAPH_NOT_FOUND);
    }
}

static void test_queue_set_moves_elements_and_closes_on_scope_exit() {
    std::string name = "maph-hpp-q-" + std::to_string(getpid());
    std::string p = "/dev/shm/" + name;
    try {
        auto q = maph::queue_set::create(name, 4, 16, 2);
        CHECK(mappings_of(p) > 0);
        q.name(1, "work");
        CHECK(q.lookup("work") == 1u);
        CHECK(!q.lookup("nope").has_value());
        auto e = q.pull(0);
        CHECK(e.has_value());
        std::memcpy(q.elem(*e), "hello", 6);
        q.push(1, *e);
        CHECK(q.len(1) == 1);
        CHECK(q.wait(1, 0));
        auto again = maph::queue_set::open(name);
        auto got = again.pull(1);
        CHECK(got == e);
        CHECK(std::strcmp(static_cast<const char *>(again.elem(*got)), "hello") == 0);
        CHECK(!again.pull(1).has_value());
        CHECK(!again.wait(1, 0));
        again.push(0, *got);
        auto many = q.pull_many(0, 10);
        CHECK(many.size() == 4);
        q.push_many(0, many);
        maph_queue_audit_t a = q.audit();
        CHECK(a.queued == 4 && a.held == 0);
        CHECK(q.info().elem_count == 4);
        try {
            q.elem(99);
            CHECK(false);
        } catch (const maph::error &err) {
            CHECK(err.status() == MAPH_E_INVALID_ARG);
        }
        throw std::runtime_error("leave the scope by an exception");
    } catch (const std::runtime_error &) {
    }
    CHECK(mappings_of(p) == 0);
    maph::queue_set::unlink(name);
    auto anon = maph::queue_set::create_anon(2, 8, 1);
    CHECK(anon.len(0) == 2);
}

int main() {
    CHECK(maph::version() == std::string_view(maph_version()));
    run("absent_key_is_nullopt_not_an_exception", test_absent_key_is_nullopt_not_an_exception);
    run("values_with_nul_bytes_and_longer_than_the_first_buffer_round_trip",
        test_values_with_nul_bytes_and_longer_than_the_first_buffer_round_trip);
    run("failure_throws_error_with_status_and_message",
        test_failure_throws_error_with_status_and_message);
    run("exception_in_scope_closes_the_handle", test_exception_in_scope_closes_the_handle);
    run("early_return_closes_the_handle", test_early_return_closes_the_handle);
    run("move_transfers_ownership_and_closes_once", test_move_transfers_ownership_and_closes_once);
    run("conditional_writes_counters_ttl_and_uids",
        test_conditional_writes_counters_ttl_and_uids);
    run("mget_mset_optimize_stats_check", test_mget_mset_optimize_stats_check);
    run("shm_store_is_closed_on_scope_exit_and_reopens_by_name",
        test_shm_store_is_closed_on_scope_exit_and_reopens_by_name);
    run("queue_set_moves_elements_and_closes_on_scope_exit",
        test_queue_set_moves_elements_and_closes_on_scope_exit);
    std::printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
