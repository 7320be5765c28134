"""pytest tests of the maph Python package (ctypes over libmaph.so).

Set MAPH_LIBRARY to the libmaph.so under test, or install it.
"""

import os
import subprocess
import sys
import textwrap
import time

import pytest

import maph


@pytest.fixture
def db(tmp_path):
    with maph.Store.create(str(tmp_path / "s.maph"), slots=1024, lock_count=64) as s:
        yield s


def test_set_get_round_trip_bytes_and_str(db):
    db.set(b"k", b"v\x00w")
    db["text"] = "h\u00e9"
    assert db.get(b"k") == b"v\x00w"
    assert db[b"text"] == "h\u00e9".encode()
    assert b"k" in db
    assert db.get(b"absent") is None
    assert db.get(b"absent", b"dflt") == b"dflt"


def test_long_value_read_back_whole(db):
    v = bytes(range(256)) + b"x" * 200
    db.set(b"long", v)
    assert db.get(b"long") == v


def test_missing_key_raises_not_found_which_is_a_key_error(db):
    with pytest.raises(maph.NotFound) as e:
        db[b"absent"]
    assert isinstance(e.value, KeyError)
    assert e.value.status == 1
    with pytest.raises(maph.NotFound):
        db.delete(b"absent")
    with pytest.raises(KeyError):
        del db[b"absent"]


def test_delete_removes_the_key(db):
    db.set(b"k", b"v")
    del db[b"k"]
    assert db.get(b"k") is None


def test_errors_are_classes_named_after_statuses(tmp_path, db):
    path = str(tmp_path / "x.maph")
    maph.Store.create(path, slots=16).close()
    with pytest.raises(maph.Exists) as e:
        maph.Store.create(path)
    assert e.value.status == 12 and e.value.function == "maph_create"
    with pytest.raises(maph.TooLarge):  # larger than the store's heap
        db.set(b"k", b"v" * 4_000_000)
    with pytest.raises(maph.InvalidArg) as e:
        db.set(b"", b"v")
    assert isinstance(e.value, ValueError)
    with maph.Store.open(path, readonly=True) as ro:
        with pytest.raises(maph.ReadOnly):
            ro.set(b"k", b"v")
    with pytest.raises(maph.Io):
        maph.Store.open(str(tmp_path / "no-such-file"))
    junk = tmp_path / "junk"
    junk.write_bytes(b"\x07" * 8192)
    with pytest.raises(maph.Corrupt):
        maph.Store.open(str(junk))
    db.set(b"s", b"abc")
    with pytest.raises(maph.NotInteger):
        db.incr(b"s")
    with pytest.raises(maph.Conflict):
        db.cas(b"s", b"wrong", b"new")
    with pytest.raises(maph.Exists):
        db.add(b"s", b"x")
    with pytest.raises(maph.NotFound):
        db.replace(b"absent", b"x")


def test_full_store_raises_full(tmp_path):
    with maph.Store.create(str(tmp_path / "f"), slots=4) as s:
        with pytest.raises(maph.Full):
            for i in range(10):
                s.set(b"k%d" % i, b"v")


def test_growing_store_adds_levels_and_every_key_reads_back(tmp_path):
    path = str(tmp_path / "g.maph")
    with maph.Store.create(path, slots=0, max_bytes=64 << 20) as s:
        assert s.stats()["slots"] == 1024
        for i in range(5000):
            s.set(b"k%d" % i, b"v%d" % i)
        st = s.stats()
        assert st["keys"] == 5000
        assert st["slots"] > 1024 and st["slots"] % 1024 == 0  # 1024 * (2^levels - 1)
        assert s.check() == 0
    with maph.Store.open(path, readonly=True) as r:
        assert r.stats()["slots"] == st["slots"]
        assert all(r.get(b"k%d" % i) == b"v%d" % i for i in range(5000))


def test_growing_anonymous_store_grows_too():
    with maph.Store.create_anonymous(slots=0, max_bytes=64 << 20) as s:
        for i in range(3000):
            s.set(b"k%d" % i, b"v")
        assert s.stats()["slots"] > 1024
        assert s.mget([b"k0", b"k2999", b"absent"]) == [b"v", b"v", None]


def test_growing_store_at_its_limit_raises_full(tmp_path):
    with maph.Store.create(str(tmp_path / "g"), slots=0, max_bytes=2 << 20) as s:
        with pytest.raises(maph.Full):
            for i in range(1_000_000):
                s.set(b"k%d" % i, b"v")
        stored = s.stats()["keys"]
        assert 1024 <= stored < 1_000_000
        assert s.get(b"k0") == b"v" and s.get(b"k%d" % (stored - 1)) == b"v"


def test_max_bytes_is_refused_for_a_fixed_store_and_below_two_levels(tmp_path):
    with pytest.raises(maph.InvalidArg) as e:
        maph.Store.create(str(tmp_path / "a"), slots=1024, max_bytes=64 << 20)
    assert "max_bytes" in str(e.value)
    with pytest.raises(maph.InvalidArg):
        maph.Store.create(str(tmp_path / "b"), slots=0, max_bytes=4096)
    assert not os.path.exists(str(tmp_path / "a"))


def test_closed_store_raises_invalid_arg_not_a_crash(tmp_path):
    s = maph.Store.create(str(tmp_path / "c"), slots=16)
    s.close()
    s.close()
    with pytest.raises(maph.InvalidArg):
        s.get(b"k")


def test_get_ptr_reads_in_place_and_raises_once_the_value_changes(db):
    db.set(b"k", b"first")
    ref = db.get_ptr(b"k")
    assert len(ref) == 5
    assert ref.tobytes() == b"first" and bytes(ref) == b"first" and ref[1:3] == b"ir"
    assert ref.valid
    db.set(b"k", b"second")
    assert not ref.valid
    with pytest.raises(maph.StaleValue):
        ref.tobytes()
    with pytest.raises(maph.StaleValue):
        ref[0]
    assert db.get_ptr(b"k").tobytes() == b"second"
    with pytest.raises(maph.NotFound):
        db.get_ptr(b"absent")


def test_get_ptr_raises_after_the_store_is_closed(tmp_path):
    s = maph.Store.create(str(tmp_path / "p"), slots=16)
    s.set(b"k", b"v")
    ref = s.get_ptr(b"k")
    s.close()
    assert not ref.valid
    with pytest.raises(maph.StaleValue):
        ref.tobytes()


def test_values_longer_than_a_slot_live_in_the_heap(db):
    cap = db.stats()["slot_capacity"]
    db.set(b"long", b"L" * (cap + 1))
    db.set(b"huge", b"H" * 100_000)
    assert db.get(b"long") == b"L" * (cap + 1)
    assert db.mget([b"huge", b"long"]) == [b"H" * 100_000, b"L" * (cap + 1)]


def test_mget_and_mset(db):
    db.mset({b"a": b"1", b"b": b"2"})
    db.mset([(b"c", b"3")])
    assert db.mget([b"a", b"missing", b"c", b"b"]) == [b"1", None, b"3", b"2"]
    assert db.mget([]) == []
    with pytest.raises(maph.TooLarge) as e:
        db.mset([(b"ok", b"v"), (b"big", b"x" * 4_000_000), (b"", b"v")])
    assert [(i, k) for i, k, _ in e.value.failed] == [(1, b"big"), (2, b"")]
    assert isinstance(e.value.failed[1][2], maph.InvalidArg)
    assert db.get(b"ok") == b"v"


def test_ttl_expire_and_expiry(db):
    db.set(b"p", b"v")
    assert db.ttl(b"p") is None
    db.expire(b"p", 60_000)
    assert 50_000 < db.ttl(b"p") <= 60_000
    db.expire(b"p", 0)
    assert db.ttl(b"p") is None
    db.set(b"t", b"v", ttl_ms=1)
    time.sleep(0.02)
    assert db.get(b"t") is None
    with pytest.raises(maph.NotFound):
        db.ttl(b"t")
    with pytest.raises(maph.NotFound):
        db.expire(b"absent", 10)
    db.set(b"t2", b"v", ttl_ms=1)
    time.sleep(0.02)
    assert db.flush_expired() >= 1


def test_incr_counts_and_stores_8_byte_little_endian(db):
    assert db.incr(b"c") == 1
    assert db.incr(b"c", 41) == 42
    assert db.incr(b"c", -50) == -8
    assert db.get(b"c") == (-8).to_bytes(8, "little", signed=True)
    with pytest.raises(maph.Overflow):
        db.incr(b"c", -(2**63))


def test_optimize_stats_check_recover_sync(db):
    for i in range(100):
        db.set(b"k%d" % i, b"v")
    assert db.stats()["generation"] == 0
    db.optimize()
    st = db.stats()
    assert st["keys"] == 100 and st["generation"] == 1 and st["mphf_keys"] == 100
    assert st["mphf_in_use"] == 1 and st["slots"] == 1024
    assert db.check() == 0
    assert db.recover() == 0
    db.sync()
    db.prefault()


def test_shm_table_create_open_unlink():
    name = "maph-py-test-%d" % os.getpid()
    try:
        with maph.Store.shm_create(name, slots=64) as a:
            a.set(b"k", b"shared")
            with maph.Store.shm_open(name, readonly=True) as b:
                assert b.get(b"k") == b"shared"
            with pytest.raises(maph.Exists):
                maph.Store.shm_create(name)
            with maph.Store.shm_open_or_create(name) as c:
                assert c.get(b"k") == b"shared"
    finally:
        maph.Store.shm_unlink(name)
    with pytest.raises(maph.NotFound):
        maph.Store.shm_open(name)
    with pytest.raises(maph.InvalidArg):
        maph.Store.shm_create("bad/name")


def test_forked_child_writes_and_parent_reads_through_anonymous_memory():
    with maph.Store.create_anonymous(slots=256) as s:
        s.set(b"from-parent", b"p")
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                if s.get(b"from-parent") != b"p":
                    code = 2
                s.set(b"from-child", b"c%d" % os.getpid())
                s.incr(b"n", 5)
            except BaseException:
                code = 3
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
        assert s.get(b"from-child") == b"c%d" % pid
        assert s.incr(b"n", 0) == 5


def test_second_process_reads_what_the_first_wrote(tmp_path):
    path = str(tmp_path / "shared.maph")
    with maph.Store.create(path, slots=256) as s:
        s.set(b"greeting", b"hello from %d" % os.getpid())
        s.sync()
        code = textwrap.dedent(
            """
            import sys, maph
            with maph.Store.open(sys.argv[1], readonly=True) as r:
                sys.stdout.write(r.get(b"greeting").decode())
            with maph.Store.open(sys.argv[1]) as w:
                w.set(b"reply", b"ok")
            """
        )
        out = subprocess.run([sys.executable, "-c", code, path], capture_output=True, check=True,
                             env=os.environ.copy())
        assert out.stdout.decode() == "hello from %d" % os.getpid()
        assert s.get(b"reply") == b"ok"


def test_version_matches_the_package():
    assert maph.version() == maph.__version__


def test_items_returns_every_key_once_with_heap_values_and_parts_cover_all(db):
    want = {b"k%d" % i: (b"v%d" % i) * (300 if i % 10 == 0 else 1) for i in range(500)}
    for k, v in want.items():
        db.set(k, v)
    db.delete(b"k7")
    del want[b"k7"]
    got = list(db.items())
    assert len(got) == len(want)
    assert dict(got) == want
    assert sorted(db) == sorted(want)
    parts = [kv for p in range(3) for kv in db.items(p, 3)]
    assert sorted(parts) == sorted(want.items())
    with pytest.raises(maph.InvalidArg):
        next(db.items(3, 3))


def test_items_stops_with_invalid_arg_when_the_store_is_closed_mid_scan(tmp_path):
    s = maph.Store.create(str(tmp_path / "c.maph"), slots=64)
    s.set(b"a", b"1")
    s.set(b"b", b"2")
    it = s.items()
    next(it)
    s.close()
    with pytest.raises(maph.InvalidArg):
        next(it)


def test_copy_and_compact_copy_hold_every_key(tmp_path, db):
    for i in range(300):
        db.set(b"k%d" % i, b"v%d" % i)
    db.copy(str(tmp_path / "plain.maph"))
    db.copy(str(tmp_path / "small.maph"), compact=True, optimize=True)
    with pytest.raises(maph.Exists):
        db.copy(str(tmp_path / "plain.maph"))
    for name in ("plain.maph", "small.maph"):
        with maph.Store.open(str(tmp_path / name), readonly=True) as c:
            assert dict(c.items()) == {b"k%d" % i: b"v%d" % i for i in range(300)}
    with maph.Store.open(str(tmp_path / "small.maph"), readonly=True) as c:
        assert c.stats()["slots"] < 1024


def test_flush_start_and_stop(db):
    db.flush_start(10, 5)
    for i in range(20):
        db.set(b"f%d" % i, b"x")
    db.flush_stop()
    with pytest.raises(maph.InvalidArg):
        db.flush_start(0, 0)
