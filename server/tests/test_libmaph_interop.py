"""Local processes and maph-server on one store: a C program (libmaph) reads
what a Redis client wrote through the server, and the reverse, including the
INCR rule in both directions (see server/README.md, "INCR")."""

import subprocess

import pytest

from conftest import ROOT

LIB = ROOT / "target/release/libmaph.so"


@pytest.fixture(scope="module")
def peer(tmp_path_factory):
    assert LIB.exists(), f"build libmaph first: cargo build --release -p maph ({LIB})"
    exe = tmp_path_factory.mktemp("c") / "maph_peer"
    subprocess.run(["cc", "-O1", "-Wall", "-Werror", "-I", str(ROOT / "include"),
                    str(ROOT / "server/tests/c/maph_peer.c"), "-o", str(exe),
                    "-L", str(LIB.parent), "-lmaph", f"-Wl,-rpath,{LIB.parent}"], check=True)

    def run(store, *args, ok=True):
        r = subprocess.run([str(exe), str(store), *args], capture_output=True, timeout=30)
        if ok:
            assert r.returncode == 0, r.stderr
        return r

    return run


def test_c_reads_what_a_redis_client_wrote(server, peer):
    c = server.client()
    c.set("feature:42", b"\x01\x02vector")
    c.mset({f"m{i}": f"v{i}" for i in range(100)})
    assert peer(server.store, "get", "feature:42").stdout == b"\x01\x02vector"
    for i in range(0, 100, 7):
        assert peer(server.store, "get", f"m{i}").stdout == f"v{i}".encode()
    c.delete("m0")
    assert peer(server.store, "get", "m0", ok=False).returncode == 3


def test_redis_client_reads_what_c_wrote(server, peer):
    peer(server.store, "set", "from-c", "hello from C")
    c = server.client()
    assert c.get("from-c") == b"hello from C"
    assert c.exists("from-c") == 1
    peer(server.store, "set", "from-c", "changed")
    assert c.get("from-c") == b"changed"


def test_counter_made_by_redis_incr_is_decimal_text_for_c(server, peer):
    c = server.client()
    assert c.incrby("hits", 41) == 41
    assert c.incr("hits") == 42
    assert peer(server.store, "get", "hits").stdout == b"42"
    # maph_incr works on 8-byte integers only: the text counter is refused.
    r = peer(server.store, "incr", "hits", "1", ok=False)
    assert r.returncode == 4 and b"maph_incr" in r.stderr
    assert c.get("hits") == b"42", "the refused maph_incr changed nothing"


def test_counter_made_by_maph_incr_stays_native_under_redis_incr(server, peer):
    assert peer(server.store, "incr", "native", "7").stdout == b"7"
    c = server.client()
    assert c.incrby("native", 0) == 7, "INCRBY 0 reads a native counter as a number"
    assert c.incr("native") == 8
    assert peer(server.store, "incr", "native", "1").stdout == b"9"
    assert c.decrby("native", 10) == -1
    assert peer(server.store, "incr", "native", "0").stdout == b"-1"
    assert c.get("native") == (-1).to_bytes(8, "little", signed=True)


def test_many_interleaved_increments_from_both_sides_add_up(server, peer):
    c = server.client()
    assert peer(server.store, "incr", "both", "1").stdout == b"1"
    for _ in range(20):
        c.incr("both")
        peer(server.store, "incr", "both", "1")
    assert c.incrby("both", 0) == 41
