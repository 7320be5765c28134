/*
 * maph.hpp: a header-only C++17 wrapper over the C API of maph.h.
 *
 * - maph::store and maph::queue_set own a handle (maph_t*, maph_queue_t*)
 *   and close it in their destructor: on scope exit, on an early return and
 *   during stack unwinding from an exception. They are move-only.
 * - Keys and values are std::string_view (bytes; may hold NULs); values read
 *   are returned as std::string (copies).
 * - Absent things are answers, not errors: every lookup that can miss
 *   returns std::optional (store::get, ttl, uid, get_by_uid; queue_set::pull,
 *   lookup) or bool (store::del, add, replace, expire; queue_set::wait). Every
 *   other failure throws maph::error, which carries the maph_status
 *   (error::status()) and the text of maph_strerror plus maph_last_error.
 * - Thread and process safety are those of the C functions (see maph.h):
 *   every member but the destructor, move assignment, close() and release()
 *   may be called from many threads on one object.
 *
 * Link as for maph.h: `pkg-config --cflags --libs maph`.
 */
#ifndef MAPH_HPP
#define MAPH_HPP

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "maph.h"

namespace maph {

/* A failed maph call: status() is the maph_status, what() is
 * "<function>: <maph_strerror>: <maph_last_error>". */
class error : public std::runtime_error {
public:
    error(const char *fn, maph_status st)
        : std::runtime_error(message(fn, st)), status_(st) {}
    maph_status status() const noexcept { return status_; }

private:
    static std::string message(const char *fn, maph_status st) {
        std::string m = fn;
        m += ": ";
        m += maph_strerror(st);
        const char *detail = maph_last_error();
        if (detail != nullptr && detail[0] != '\0') {
            m += ": ";
            m += detail;
        }
        return m;
    }
    maph_status status_;
};

namespace detail {
inline void check(const char *fn, maph_status st) {
    if (st != MAPH_OK) throw error(fn, st);
}
}  // namespace detail

/* The version of the loaded library ("MAJOR.MINOR.PATCH"). */
inline std::string_view version() { return maph_version(); }

/* maph_options with the defaults of maph_options_default. */
inline maph_options default_options() {
    maph_options o;
    maph_options_default(&o);
    return o;
}

/* An open store (maph_t). Made by the static functions below; closed by the
 * destructor. */
class store {
public:
    /* maph_create: a new file; throws maph::error (MAPH_E_EXISTS, ...). */
    static store create(const std::string &path, const maph_options &opts = default_options()) {
        maph_t *db = nullptr;
        detail::check("maph_create", maph_create(path.c_str(), &opts, &db));
        return store(db);
    }
    /* maph_open: flags MAPH_RDONLY or MAPH_RDWR. */
    static store open(const std::string &path, uint32_t flags = MAPH_RDWR) {
        maph_t *db = nullptr;
        detail::check("maph_open", maph_open(path.c_str(), flags, &db));
        return store(db);
    }
    /* maph_shm_create / maph_shm_open / maph_shm_open_or_create. */
    static store shm_create(const std::string &name, const maph_options &opts = default_options()) {
        maph_t *db = nullptr;
        detail::check("maph_shm_create", maph_shm_create(name.c_str(), &opts, &db));
        return store(db);
    }
    static store shm_open(const std::string &name, uint32_t flags = MAPH_RDWR) {
        maph_t *db = nullptr;
        detail::check("maph_shm_open", maph_shm_open(name.c_str(), flags, &db));
        return store(db);
    }
    static store shm_open_or_create(const std::string &name,
                                    const maph_options &opts = default_options()) {
        maph_t *db = nullptr;
        detail::check("maph_shm_open_or_create", maph_shm_open_or_create(name.c_str(), &opts, &db));
        return store(db);
    }
    /* maph_shm_unlink; no such table throws (MAPH_NOT_FOUND). */
    static void shm_unlink(const std::string &name) {
        detail::check("maph_shm_unlink", maph_shm_unlink(name.c_str()));
    }
    /* maph_create_anonymous: shared with children forked afterwards. */
    static store create_anonymous(const maph_options &opts = default_options()) {
        maph_t *db = nullptr;
        detail::check("maph_create_anonymous", maph_create_anonymous(&opts, &db));
        return store(db);
    }

    /* Takes ownership of a handle from the C API (may be NULL). */
    explicit store(maph_t *db) noexcept : db_(db) {}
    store(const store &) = delete;
    store &operator=(const store &) = delete;
    store(store &&o) noexcept : db_(std::exchange(o.db_, nullptr)) {}
    store &operator=(store &&o) noexcept {
        if (this != &o) {
            close();
            db_ = std::exchange(o.db_, nullptr);
        }
        return *this;
    }
    ~store() { close(); }

    /* maph_close now (the destructor then does nothing). */
    void close() noexcept {
        maph_close(db_);
        db_ = nullptr;
    }
    /* Gives up ownership: the caller must maph_close the handle. */
    maph_t *release() noexcept { return std::exchange(db_, nullptr); }
    maph_t *handle() const noexcept { return db_; }
    explicit operator bool() const noexcept { return db_ != nullptr; }

    /* The value of key, or std::nullopt when absent (or expired). */
    std::optional<std::string> get(std::string_view key) const {
        std::string val(64, '\0');
        for (;;) {
            size_t len = 0;
            maph_status st = maph_get(db_, key.data(), key.size(), val.data(), val.size(), &len);
            if (st == MAPH_OK) {
                val.resize(len);
                return val;
            }
            if (st == MAPH_NOT_FOUND) return std::nullopt;
            /* The value may grow again between two calls: retry. */
            if (st == MAPH_E_BUFFER_TOO_SMALL) {
                val.resize(len);
                continue;
            }
            throw error("maph_get", st);
        }
    }
    bool contains(std::string_view key) const {
        size_t len = 0;
        maph_status st = maph_get(db_, key.data(), key.size(), nullptr, 0, &len);
        if (st == MAPH_OK || st == MAPH_E_BUFFER_TOO_SMALL) return true;
        if (st == MAPH_NOT_FOUND) return false;
        throw error("maph_get", st);
    }
    void set(std::string_view key, std::string_view val) {
        detail::check("maph_set", maph_set(db_, key.data(), key.size(), val.data(), val.size()));
    }
    /* maph_set_ex: ttl_ms > 0. */
    void set(std::string_view key, std::string_view val, uint64_t ttl_ms) {
        detail::check("maph_set_ex",
                      maph_set_ex(db_, key.data(), key.size(), val.data(), val.size(), ttl_ms));
    }
    /* Inserts only if absent: false when the key exists. */
    bool add(std::string_view key, std::string_view val) {
        maph_status st = maph_add(db_, key.data(), key.size(), val.data(), val.size());
        if (st == MAPH_E_EXISTS) return false;
        detail::check("maph_add", st);
        return true;
    }
    /* Sets only if present: false when the key is absent. */
    bool replace(std::string_view key, std::string_view val) {
        maph_status st = maph_replace(db_, key.data(), key.size(), val.data(), val.size());
        if (st == MAPH_NOT_FOUND) return false;
        detail::check("maph_replace", st);
        return true;
    }
    /* Compare-and-swap: false when the value differs from expected or the
     * key is absent. */
    bool cas(std::string_view key, std::string_view expected, std::string_view val) {
        maph_status st = maph_cas(db_, key.data(), key.size(), expected.data(), expected.size(),
                                  val.data(), val.size());
        if (st == MAPH_E_CONFLICT || st == MAPH_NOT_FOUND) return false;
        detail::check("maph_cas", st);
        return true;
    }
    /* false when the key was absent. */
    bool del(std::string_view key) {
        maph_status st = maph_del(db_, key.data(), key.size());
        if (st == MAPH_NOT_FOUND) return false;
        detail::check("maph_del", st);
        return true;
    }
    /* Adds delta to the 8-byte integer value (absent: starts at 0) and
     * returns the new value; throws for MAPH_E_NOT_INTEGER,
     * MAPH_E_OVERFLOW, and MAPH_NOT_FOUND (delta 0 on an absent key). */
    int64_t incr(std::string_view key, int64_t delta = 1) {
        int64_t v = 0;
        detail::check("maph_incr", maph_incr(db_, key.data(), key.size(), delta, &v));
        return v;
    }
    /* Sets the time to live (0 removes it): false when the key is absent. */
    bool expire(std::string_view key, uint64_t ttl_ms) {
        maph_status st = maph_expire(db_, key.data(), key.size(), ttl_ms);
        if (st == MAPH_NOT_FOUND) return false;
        detail::check("maph_expire", st);
        return true;
    }
    /* Milliseconds left, -1 for no expiry, std::nullopt when absent. */
    std::optional<int64_t> ttl(std::string_view key) const {
        int64_t ms = 0;
        maph_status st = maph_ttl(db_, key.data(), key.size(), &ms);
        if (st == MAPH_NOT_FOUND) return std::nullopt;
        detail::check("maph_ttl", st);
        return ms;
    }
    std::optional<uint64_t> uid(std::string_view key) const {
        uint64_t u = 0;
        maph_status st = maph_uid(db_, key.data(), key.size(), &u);
        if (st == MAPH_NOT_FOUND) return std::nullopt;
        detail::check("maph_uid", st);
        return u;
    }
    std::optional<std::string> get_by_uid(uint64_t uid) const {
        std::string val(64, '\0');
        for (;;) {
            size_t len = 0;
            maph_status st = maph_get_by_uid(db_, uid, val.data(), val.size(), &len);
            if (st == MAPH_OK) {
                val.resize(len);
                return val;
            }
            if (st == MAPH_NOT_FOUND) return std::nullopt;
            if (st == MAPH_E_BUFFER_TOO_SMALL) {
                val.resize(len);
                continue;
            }
            throw error("maph_get_by_uid", st);
        }
    }
    /* maph_mget: one std::optional per key (std::nullopt: absent); throws
     * for the first key that failed otherwise. */
    std::vector<std::optional<std::string>> mget(const std::vector<std::string_view> &keys) const {
        size_t n = keys.size();
        maph_stats_t s = stats();
        std::vector<std::string> bufs(n, std::string(s.slot_capacity, '\0'));
        std::vector<const void *> kp(n);
        std::vector<size_t> kl(n), caps(n), lens(n);
        std::vector<void *> bp(n);
        std::vector<maph_status> sts(n);
        for (size_t i = 0; i < n; i++) {
            kp[i] = keys[i].data();
            kl[i] = keys[i].size();
            bp[i] = bufs[i].data();
            caps[i] = bufs[i].size();
        }
        detail::check("maph_mget", maph_mget(db_, n, kp.data(), kl.data(), bp.data(), caps.data(),
                                             lens.data(), sts.data()));
        std::vector<std::optional<std::string>> out(n);
        for (size_t i = 0; i < n; i++) {
            if (sts[i] == MAPH_OK) {
                bufs[i].resize(lens[i]);
                out[i] = std::move(bufs[i]);
            } else if (sts[i] == MAPH_E_BUFFER_TOO_SMALL) {
                out[i] = get(keys[i]); /* a value in the heap, longer than a slot */
            } else if (sts[i] != MAPH_NOT_FOUND) {
                throw error("maph_mget", sts[i]);
            }
        }
        return out;
    }
    /* maph_mset: every pair is attempted; returns each pair's status
     * (MAPH_OK or why it was not stored). */
    std::vector<maph_status> mset(
        const std::vector<std::pair<std::string_view, std::string_view>> &kvs) {
        size_t n = kvs.size();
        std::vector<const void *> kp(n), vp(n);
        std::vector<size_t> kl(n), vl(n);
        std::vector<maph_status> sts(n);
        for (size_t i = 0; i < n; i++) {
            kp[i] = kvs[i].first.data();
            kl[i] = kvs[i].first.size();
            vp[i] = kvs[i].second.data();
            vl[i] = kvs[i].second.size();
        }
        detail::check("maph_mset",
                      maph_mset(db_, n, kp.data(), kl.data(), vp.data(), vl.data(), sts.data()));
        return sts;
    }
    void optimize() { detail::check("maph_optimize", maph_optimize(db_)); }
    uint64_t recover() {
        uint64_t n = 0;
        detail::check("maph_recover", maph_recover(db_, &n));
        return n;
    }
    /* Number of invariant violations (0: sound). */
    uint64_t check() const {
        uint64_t n = 0;
        detail::check("maph_check", maph_check(db_, &n));
        return n;
    }
    uint64_t flush_expired(uint64_t max_count = 0) {
        uint64_t n = 0;
        detail::check("maph_flush_expired", maph_flush_expired(db_, max_count, &n));
        return n;
    }
    maph_stats_t stats() const {
        maph_stats_t s;
        detail::check("maph_stats", maph_stats(db_, &s));
        return s;
    }
    void sync() { detail::check("maph_sync", maph_sync(db_)); }
    void prefault() const { detail::check("maph_prefault", maph_prefault(db_)); }

private:
    maph_t *db_;
};

/* A queue set (maph_queue_t). Closed by the destructor. */
class queue_set {
public:
    static queue_set create(const std::string &name, uint32_t elem_count, uint32_t elem_size,
                            uint32_t queue_count) {
        maph_queue_t *q = nullptr;
        detail::check("maph_queue_create",
                      maph_queue_create(name.c_str(), elem_count, elem_size, queue_count, &q));
        return queue_set(q);
    }
    static queue_set create_anon(uint32_t elem_count, uint32_t elem_size, uint32_t queue_count) {
        maph_queue_t *q = nullptr;
        detail::check("maph_queue_create_anon",
                      maph_queue_create_anon(elem_count, elem_size, queue_count, &q));
        return queue_set(q);
    }
    static queue_set open(const std::string &name) {
        maph_queue_t *q = nullptr;
        detail::check("maph_queue_open", maph_queue_open(name.c_str(), &q));
        return queue_set(q);
    }
    static void unlink(const std::string &name) {
        detail::check("maph_queue_unlink", maph_queue_unlink(name.c_str()));
    }

    explicit queue_set(maph_queue_t *q) noexcept : q_(q) {}
    queue_set(const queue_set &) = delete;
    queue_set &operator=(const queue_set &) = delete;
    queue_set(queue_set &&o) noexcept : q_(std::exchange(o.q_, nullptr)) {}
    queue_set &operator=(queue_set &&o) noexcept {
        if (this != &o) {
            close();
            q_ = std::exchange(o.q_, nullptr);
        }
        return *this;
    }
    ~queue_set() { close(); }

    void close() noexcept {
        maph_queue_close(q_);
        q_ = nullptr;
    }
    maph_queue_t *release() noexcept { return std::exchange(q_, nullptr); }
    maph_queue_t *handle() const noexcept { return q_; }
    explicit operator bool() const noexcept { return q_ != nullptr; }

    maph_queue_info_t info() const {
        maph_queue_info_t i;
        detail::check("maph_queue_info", maph_queue_info(q_, &i));
        return i;
    }
    void name(uint32_t qid, const std::string &n) {
        detail::check("maph_queue_name", maph_queue_name(q_, qid, n.c_str()));
    }
    std::optional<uint32_t> lookup(const std::string &n) const {
        uint32_t qid = 0;
        maph_status st = maph_queue_lookup(q_, n.c_str(), &qid);
        if (st == MAPH_NOT_FOUND) return std::nullopt;
        detail::check("maph_queue_lookup", st);
        return qid;
    }
    void push(uint32_t qid, uint32_t elem) {
        detail::check("maph_queue_push", maph_queue_push(q_, qid, elem));
    }
    /* The element at the head of queue qid, or std::nullopt when empty. */
    std::optional<uint32_t> pull(uint32_t qid) {
        uint32_t e = 0;
        maph_status st = maph_queue_pull(q_, qid, &e);
        if (st == MAPH_E_EMPTY) return std::nullopt;
        detail::check("maph_queue_pull", st);
        return e;
    }
    void push_many(uint32_t qid, const std::vector<uint32_t> &elems) {
        detail::check("maph_queue_push_many",
                      maph_queue_push_many(q_, qid, elems.data(), elems.size()));
    }
    /* Up to cap elements; empty when the queue is. */
    std::vector<uint32_t> pull_many(uint32_t qid, size_t cap) {
        std::vector<uint32_t> out(cap);
        size_t n = 0;
        maph_status st = maph_queue_pull_many(q_, qid, out.data(), cap, &n);
        if (st == MAPH_E_EMPTY) n = 0;
        else detail::check("maph_queue_pull_many", st);
        out.resize(n);
        return out;
    }
    /* true when queue qid is non-empty, false on timeout (negative: wait
     * forever). */
    bool wait(uint32_t qid, int64_t timeout_ms) {
        maph_status st = maph_queue_wait(q_, qid, timeout_ms);
        if (st == MAPH_E_TIMEOUT) return false;
        detail::check("maph_queue_wait", st);
        return true;
    }
    /* The element's memory in this process (elem_size bytes, 64-byte
     * aligned); throws MAPH_E_INVALID_ARG when elem is out of range. */
    void *elem(uint32_t e) const {
        void *p = maph_queue_elem(q_, e);
        if (p == nullptr) throw error("maph_queue_elem", MAPH_E_INVALID_ARG);
        return p;
    }
    uint64_t len(uint32_t qid) const {
        uint64_t n = 0;
        detail::check("maph_queue_len", maph_queue_len(q_, qid, &n));
        return n;
    }
    uint64_t held(uint32_t pid = 0) const {
        uint64_t n = 0;
        detail::check("maph_queue_held", maph_queue_held(q_, pid, &n));
        return n;
    }
    uint64_t reclaim(uint32_t pid = 0) {
        uint64_t n = 0;
        detail::check("maph_queue_reclaim", maph_queue_reclaim(q_, pid, &n));
        return n;
    }
    maph_queue_audit_t audit() const {
        maph_queue_audit_t a;
        detail::check("maph_queue_audit", maph_queue_audit(q_, &a));
        return a;
    }

private:
    maph_queue_t *q_;
};

}  // namespace maph

#endif /* MAPH_HPP */
