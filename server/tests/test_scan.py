"""SCAN, KEYS and FLUSHDB through redis-py and redis-cli, the REST key
listing, and the glob matcher against a real redis-server when one is
installed (Debian's redis-server; server/ci.sh installs it)."""

import collections
import http.client
import json
import random
import shutil
import subprocess
import threading
import time

import pytest
import redis

from conftest import Server, free_port, raw, wait_port


def err(fn, *a):
    with pytest.raises(redis.ResponseError) as e:
        fn(*a)
    return str(e.value)


def fill(c, keys, value=b"v"):
    p = c.pipeline(transaction=False)
    for k in keys:
        p.set(k, value)
    p.execute()


def counted(it):
    return collections.Counter(it)


def test_scan_iter_returns_each_of_10000_keys_exactly_once(r):
    keys = [f"key:{i}".encode() for i in range(10_000)]
    fill(r, keys)
    for count in (None, 1, 7, 1000):
        got = counted(r.scan_iter(count=count))
        assert set(got) == set(keys), f"COUNT {count}"
        assert max(got.values()) == 1, f"COUNT {count}: a key came back twice"


def test_scan_reply_shape_cursor_and_count(r):
    fill(r, [f"k{i}" for i in range(300)])
    cur, batch = r.scan(0)
    assert isinstance(cur, int) and cur != 0 and isinstance(batch, list)
    # COUNT is a hint of keys looked at per call: COUNT 1 returns few.
    cur, batch = r.scan(0, count=1)
    assert cur != 0 and len(batch) <= 2
    # A huge COUNT is bounded, and still scans the whole 20,000-slot store.
    cur, batch = r.scan(0, count=10**12)
    assert cur == 0 and len(batch) == 300
    # A cursor past the end ends the scan.
    assert r.scan(2**64 - 1) == (0, [])
    # Raw reply: a two-element array, the cursor as a bulk string.
    port = r.connection_pool.connection_kwargs["port"]
    assert raw(port, b"SCAN 99999999\r\n") == b"*2\r\n$1\r\n0\r\n*0\r\n"
    assert raw(port, b"SCAN 0 COUNT 10000 MATCH k299\r\n") == b"*2\r\n$1\r\n0\r\n*1\r\n$4\r\nk299\r\n"


def test_scan_match_count_and_type(r):
    fill(r, ["apple", "apricot", "banana", "a*b", "axb", "avocado", "b[1]"])
    assert set(r.scan_iter(match="a*")) == {b"apple", b"apricot", b"a*b", b"axb", b"avocado"}
    assert set(r.scan_iter(match="a\\*b")) == {b"a*b"}
    assert set(r.scan_iter(match="a?b")) == {b"a*b", b"axb"}
    assert set(r.scan_iter(match="[ab]p*")) == {b"apple", b"apricot"}
    assert set(r.scan_iter(match="[^a]*")) == {b"banana", b"b[1]"}
    assert set(r.scan_iter(match="b\\[1]")) == {b"b[1]"}
    assert set(r.scan_iter(match="nothing*")) == set()
    assert len(set(r.scan_iter(match="*", count=2))) == 7
    assert len(set(r.scan_iter(_type="string"))) == 7
    assert len(set(r.scan_iter(_type="STRING", match="b*"))) == 2
    assert set(r.scan_iter(_type="list")) == set()
    assert set(r.scan_iter(_type="hash", count=100)) == set()
    # The last MATCH / COUNT / TYPE given wins, as in Redis.
    cur, ks = r.execute_command("SCAN", 0, "MATCH", "zz*", "MATCH", "ban*", "COUNT", 1, "COUNT", 10000)
    assert (cur, ks) == (0, [b"banana"])


def test_scan_errors_use_redis_wording(r):
    assert err(r.execute_command, "SCAN") == "wrong number of arguments for 'scan' command"
    for bad in ("x", "1.5", " 1", "1 ", "0x10", "18446744073709551616"):
        assert err(r.execute_command, "SCAN", bad) == "invalid cursor", bad
    # Redis's strtoul: "" is 0, "-1" the largest cursor (past the end).
    assert r.execute_command("SCAN", "", "COUNT", 1)[0] > 0
    assert r.execute_command("SCAN", "-1") == (0, [])
    assert err(r.execute_command, "SCAN", 0, "COUNT", "x") == "value is not an integer or out of range"
    assert err(r.execute_command, "SCAN", 0, "COUNT", "99999999999999999999") == "value is not an integer or out of range"
    assert err(r.execute_command, "SCAN", 0, "COUNT", 0) == "syntax error"
    assert err(r.execute_command, "SCAN", 0, "COUNT", -5) == "syntax error"
    assert err(r.execute_command, "SCAN", 0, "COUNT") == "syntax error"
    assert err(r.execute_command, "SCAN", 0, "MATCH") == "syntax error"
    assert err(r.execute_command, "SCAN", 0, "NOVALUES") == "syntax error"
    assert err(r.execute_command, "SCAN", 0, "FOO", "bar") == "syntax error"
    assert r.execute_command("SCAN", "+0", "count", "5", "match", "*", "type", "string")[0] > 0


def _churn(port, stop, errors):
    c = redis.Redis(port=port)
    n = 0
    try:
        while not stop.is_set():
            k = f"churn:{n % 3000}"
            if n % 3 == 2:
                c.delete(k)
            else:
                c.set(k, "x" * (n % 200))
            n += 1
    except Exception as e:  # noqa: BLE001 - reported by the test
        errors.append(e)


def scan_beside_writers(server, stable, rounds, count):
    c = server.client()
    fill(c, stable)
    stop, errors = threading.Event(), []
    writers = [threading.Thread(target=_churn, args=(server.port, stop, errors)) for _ in range(2)]
    for w in writers:
        w.start()
    try:
        for _ in range(rounds):
            got = counted(k for k in c.scan_iter(count=count) if k.startswith(b"stable:"))
            assert set(got) == set(stable), f"{len(set(stable) - set(got))} stable keys missing"
            assert max(got.values()) == 1, "a stable key came back twice"
    finally:
        stop.set()
        for w in writers:
            w.join()
    assert not errors, errors


def test_scan_beside_inserts_and_deletes_returns_every_stable_key_once(server):
    stable = [f"stable:{i}".encode() for i in range(5000)]
    scan_beside_writers(server, stable, rounds=5, count=50)


def test_scan_of_a_growing_store_while_it_grows(tmp_path):
    # --slots 0: a growing store (levels of 1024, 2048, ... slots).
    s = Server(tmp_path, slots=0, slot_size=128)
    try:
        c = s.client()
        slots_before = c.info("maph")["maph_slots"]
        stable = [f"stable:{i}".encode() for i in range(2000)]
        fill(c, stable)
        stop, errors = threading.Event(), []

        def grow():
            g = redis.Redis(port=s.port)
            try:
                for b in range(0, 40_000, 100):
                    if stop.is_set():
                        return
                    fill(g, [f"grow:{i}" for i in range(b, b + 100)])
            except Exception as e:  # noqa: BLE001
                errors.append(e)

        t = threading.Thread(target=grow)
        t.start()
        try:
            # Scan over and over while the writer runs (40,000 keys: levels
            # are added under the scans).
            rounds = 0
            while t.is_alive() or rounds < 2:
                got = counted(k for k in c.scan_iter(count=20) if k.startswith(b"stable:"))
                assert set(got) == set(stable) and max(got.values()) == 1
                rounds += 1
        finally:
            stop.set()
            t.join()
        assert not errors, errors
        assert c.info("maph")["maph_slots"] > slots_before, "the store did not grow"
        # Quiet again: a scan returns every key once.
        n = c.dbsize()
        got = counted(c.scan_iter(count=100))
        assert len(got) == n and max(got.values()) == 1
    finally:
        s.stop()


def test_redis_cli_scan_with_pattern(server):
    c = server.client()
    fill(c, ["a1", "a2", "ab", "b1", "ba", "xa"])
    out = subprocess.run(["redis-cli", "-p", str(server.port), "--scan", "--pattern", "a*"],
                         capture_output=True, timeout=60, check=True)
    assert sorted(out.stdout.decode().split()) == ["a1", "a2", "ab"]
    out = subprocess.run(["redis-cli", "-p", str(server.port), "--scan"],
                         capture_output=True, timeout=60, check=True)
    assert len(out.stdout.decode().split()) == 6
    out = subprocess.run(["redis-cli", "-p", str(server.port), "KEYS", "b*"],
                         capture_output=True, timeout=60, check=True)
    assert sorted(out.stdout.decode().split()) == ["b1", "ba"]


def test_keys_matches_and_bounds_its_reply(r):
    fill(r, ["user:1", "user:2", "item:1", "u"])
    assert set(r.keys("user:*")) == {b"user:1", b"user:2"}
    assert set(r.keys("*")) == {b"user:1", b"user:2", b"item:1", b"u"}
    assert r.keys("nope*") == []
    assert set(r.keys("?")) == {b"u"}
    assert err(r.execute_command, "KEYS") == "wrong number of arguments for 'keys' command"


def test_keys_refuses_a_reply_over_100000_keys(tmp_path):
    s = Server(tmp_path, slots=150_000, slot_size=64)
    try:
        n = 100_001
        proto = "".join(f"*3\r\n$3\r\nSET\r\n${len(f'k{i}')}\r\nk{i}\r\n$1\r\nv\r\n" for i in range(n))
        out = subprocess.run(["redis-cli", "-p", str(s.port), "--pipe"], input=proto.encode(),
                             capture_output=True, timeout=120, check=True)
        assert f"errors: 0, replies: {n}".encode() in out.stdout
        c = s.client()
        assert err(c.keys, "*") == "KEYS would reply with more than 100000 keys or 64 MiB of keys: use SCAN"
        assert len(c.keys("k1????")) == 10_000
        assert len(set(c.scan_iter(count=10_000))) == n
    finally:
        s.stop()


def test_flushdb_is_refused_by_default(r):
    r.set("keep", "1")
    assert err(r.flushdb) == "FLUSHDB is disabled; start maph-server with --enable-flushdb"
    assert r.get("keep") == b"1"


def test_flushdb_with_the_flag_deletes_every_key(make_server):
    s = make_server("--enable-flushdb", slot_size=256)
    c = s.client()
    fill(c, [f"f{i}" for i in range(5000)])
    c.set("big", b"x" * 5000)  # in the heap
    c.set("ttl", "v", ex=100)
    assert c.dbsize() == 5002
    assert c.flushdb() is True
    assert c.dbsize() == 0
    assert c.get("f1") is None and c.get("big") is None
    c.set("again", "1")
    assert c.flushdb(asynchronous=True) is True
    assert c.dbsize() == 0
    assert c.execute_command("FLUSHDB", "sync") is True
    assert err(c.execute_command, "FLUSHDB", "NOW") == "syntax error"
    assert err(c.execute_command, "FLUSHDB", "ASYNC", "SYNC") == "syntax error"
    # The store is usable afterwards.
    c.set("after", "1")
    assert c.get("after") == b"1" and c.dbsize() == 1


def test_command_table_lists_scan_keys_flushdb(r):
    table = r.command()
    assert table["scan"]["arity"] == -2 and "readonly" in table["scan"]["flags"]
    assert table["keys"]["arity"] == 2
    assert table["flushdb"]["arity"] == -1 and "write" in table["flushdb"]["flags"]


# --- The glob matcher against a real redis-server -------------------------

REDIS_SERVER = shutil.which("redis-server")


@pytest.fixture
def real_redis(tmp_path):
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed (server/ci.sh installs it)")
    port = free_port()
    p = subprocess.Popen([REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                          "--appendonly", "no", "--dir", str(tmp_path)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, p)
        yield redis.Redis(port=port)
    finally:
        p.terminate()
        p.wait(10)


def test_glob_answers_as_redis_server_on_random_patterns(server, real_redis):
    rng = random.Random(14)
    alphabet = [b"a", b"b", b"c", b"-", b"]", b"^", b"\\", b"\xff", b"\x80", b"*", b"?", b"["]
    keys = {bytes(rng.choice(b"abc-]^\\\xff\x80[*?") for _ in range(rng.randint(1, 6)))
            for _ in range(400)}
    ours = server.client()
    fill(ours, keys)
    fill(real_redis, keys)
    mismatches = []
    for _ in range(1500):
        pat = b"".join(rng.choice(alphabet) for _ in range(rng.randint(0, 7)))
        want = set(real_redis.keys(pat))
        if set(ours.keys(pat)) != want:
            mismatches.append(pat)
        if set(ours.scan_iter(match=pat, count=500)) != want:
            mismatches.append(pat)
    assert not mismatches, mismatches[:10]


def test_scan_errors_word_for_word_as_redis_server(server, real_redis):
    ours = server.client()
    for args in [("SCAN", "x"), ("SCAN", " 1"), ("SCAN", 0, "COUNT", "x"), ("SCAN", 0, "COUNT", -1), ("SCAN", 0, "COUNT", 0),
                 ("SCAN", 0, "MATCH"), ("SCAN", 0, "BOGUS", 1), ("SCAN",), ("KEYS",),
                 ("KEYS", "a", "b"), ("FLUSHDB", "NOW"), ("FLUSHDB", "ASYNC", "SYNC")]:
        want = err(real_redis.execute_command, *args)
        if args[0] == "FLUSHDB":
            # Refused before its arguments are looked at without the flag.
            assert err(ours.execute_command, *args).startswith("FLUSHDB is disabled")
            continue
        assert err(ours.execute_command, *args) == want, args


# --- REST: GET /stores/{name}/keys ----------------------------------------

@pytest.fixture
def hs(tmp_path):
    s = Server(tmp_path, http=True)
    yield s
    s.stop()


def get(s, path):
    c = http.client.HTTPConnection("127.0.0.1", s.http_port, timeout=30)
    c.request("GET", path)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, json.loads(data)


def pages(s, path, limit):
    cursor, n = 0, 0
    while True:
        sep = "&" if "?" in path else "?"
        st, body = get(s, f"{path}{sep}limit={limit}&cursor={cursor}")
        assert st == 200, body
        assert len(body["keys"]) + len(body["binary_keys"]) <= limit
        yield body
        n += 1
        cursor = body["cursor"]
        if cursor == 0:
            return
        assert n < 100_000


def test_rest_key_listing_pages_with_prefix(hs):
    c = hs.client()
    fill(c, [f"user:{i}" for i in range(1000)] + [f"item:{i}" for i in range(500)])
    c.set(b"user:\xff\x00bin", "v")
    c.set("user:caf\u00e9/x y", "v")
    seen = collections.Counter()
    binary = []
    for body in pages(hs, "/stores/default/keys?prefix=user%3A", 97):
        seen.update(body["keys"])
        binary += body["binary_keys"]
    assert set(seen) == {f"user:{i}" for i in range(1000)} | {"user:caf\u00e9/x y"}
    assert max(seen.values()) == 1
    # Binary keys come percent-encoded, the form /keys/{key} takes.
    assert binary == ["user%3A%FF%00bin"]
    assert hs_get_value(hs, binary[0]) == (200, b"v")
    # No prefix: everything; the default page size is 100.
    total = sum(len(b["keys"]) + len(b["binary_keys"]) for b in pages(hs, "/stores/default/keys", 500))
    assert total == 1502
    st, body = get(hs, "/stores/default/keys")
    assert st == 200 and len(body["keys"]) + len(body["binary_keys"]) == 100 and body["cursor"] != 0
    # A binary prefix, percent-encoded.
    st, body = get(hs, "/stores/default/keys?prefix=user%3A%FF&limit=10000")
    assert (st, body["binary_keys"], body["keys"], body["cursor"]) == (200, ["user%3A%FF%00bin"], [], 0)


def hs_get_value(s, encoded):
    c = http.client.HTTPConnection("127.0.0.1", s.http_port, timeout=10)
    c.request("GET", f"/stores/default/keys/{encoded}")
    r = c.getresponse()
    return r.status, r.read()


def test_rest_key_listing_of_a_named_store_and_bad_requests(hs):
    c = http.client.HTTPConnection("127.0.0.1", hs.http_port, timeout=10)
    c.request("POST", "/stores", json.dumps({"name": "lst", "slots": 1000}))
    assert c.getresponse().status == 201
    c.close()
    for i in range(20):
        c = http.client.HTTPConnection("127.0.0.1", hs.http_port, timeout=10)
        c.request("PUT", f"/stores/lst/keys/k{i}", b"v")
        assert c.getresponse().status == 204
        c.close()
    st, body = get(hs, "/stores/lst/keys?limit=10000")
    assert st == 200 and sorted(body["keys"]) == sorted(f"k{i}" for i in range(20)) and body["cursor"] == 0
    got = [k for b in pages(hs, "/stores/lst/keys", 3) for k in b["keys"]]
    assert sorted(got) == sorted(f"k{i}" for i in range(20))
    assert get(hs, "/stores/nope/keys")[0] == 404
    for q in ["limit=0", "limit=10001", "limit=x", "cursor=x", "cursor=-1", "bogus=1", "prefix=%zz"]:
        st, body = get(hs, f"/stores/lst/keys?{q}")
        assert st == 400 and "error" in body, q
