"""Every command of issue 14 with its options and errors, through the redis-py client."""

import json
import time

import pytest
import redis


def err(fn, *a):
    with pytest.raises(redis.ResponseError) as e:
        fn(*a)
    return str(e.value)


def test_ping_echo_select_answer_like_redis(r):
    assert r.ping() is True
    assert r.echo("hi") == b"hi"
    assert r.echo("x\r\ny") == b"x\r\ny"
    assert r.execute_command("SELECT", 0) is True
    assert err(r.execute_command, "SELECT", 1) == "DB index is out of range"
    assert err(r.execute_command, "SELECT", "x") == "value is not an integer or out of range"


def test_unknown_command_and_wrong_arity_get_redis_errors(r):
    assert err(r.execute_command, "LPUSH", "k", "v").startswith("unknown command 'LPUSH', with args beginning with: 'k' 'v'")
    assert err(r.execute_command, "GET") == "wrong number of arguments for 'get' command"
    assert err(r.execute_command, "GET", "a", "b") == "wrong number of arguments for 'get' command"
    assert err(r.execute_command, "MSET", "a") == "wrong number of arguments for 'mset' command"
    assert err(r.execute_command, "MSET", "a", "1", "b") == "wrong number of arguments for 'mset' command"


def test_get_set_roundtrip_binary_values(r):
    v = bytes(range(256))
    assert r.set("bin", v) is True
    assert r.get("bin") == v
    assert r.get("missing") is None
    assert r.set("e", b"") is True
    assert r.get("e") == b""


def test_set_options_ex_px_exat_pxat_keepttl(r):
    r.set("k", "v", ex=100)
    assert 99 <= r.ttl("k") <= 100
    r.set("k", "v", px=50000)
    assert 49000 <= r.pttl("k") <= 50000
    r.set("k", "v", exat=int(time.time()) + 200)
    assert 198 <= r.ttl("k") <= 200
    r.set("k", "v", pxat=int(time.time() * 1000) + 300000)
    assert 298 <= r.ttl("k") <= 300
    r.set("k", "v2", keepttl=True)
    assert r.get("k") == b"v2" and 298 <= r.ttl("k") <= 300
    r.set("k", "v3")
    assert r.ttl("k") == -1, "a plain SET must clear the TTL"
    r.set("fresh", "v", keepttl=True)
    assert r.get("fresh") == b"v" and r.ttl("fresh") == -1


def test_set_expiry_passes(r):
    r.set("short", "v", px=1000)
    assert r.get("short") == b"v"
    time.sleep(1.3)
    assert r.get("short") is None
    assert r.ttl("short") == -2


def test_set_nx_xx_get(r):
    assert r.set("n", "1", nx=True) is True
    assert r.set("n", "2", nx=True) is None
    assert r.get("n") == b"1"
    assert r.set("x", "1", xx=True) is None
    assert r.get("x") is None
    assert r.set("n", "3", xx=True) is True
    assert r.get("n") == b"3"
    assert r.set("n", "4", get=True) == b"3"
    assert r.set("nothing", "5", get=True) is None
    assert r.get("nothing") == b"5"
    assert r.set("n", "6", nx=True, get=True) == b"4"
    assert r.get("n") == b"4"
    r.set("t", "a", ex=100)
    assert r.set("t", "b", xx=True, get=True) == b"a"
    assert r.ttl("t") == -1, "SET XX without KEEPTTL clears the TTL"
    r.set("t", "c", ex=100)
    r.set("t", "d", xx=True, keepttl=True)
    assert r.ttl("t") > 90
    r.set("t", "e", xx=True, px=5000)
    assert 4000 < r.pttl("t") <= 5000


def test_set_option_errors(r):
    assert err(r.execute_command, "SET", "k", "v", "NX", "XX") == "syntax error"
    assert err(r.execute_command, "SET", "k", "v", "EX", "10", "PX", "10") == "syntax error"
    assert err(r.execute_command, "SET", "k", "v", "EX", "10", "KEEPTTL") == "syntax error"
    assert err(r.execute_command, "SET", "k", "v", "EX") == "syntax error"
    assert err(r.execute_command, "SET", "k", "v", "BOGUS") == "syntax error"
    assert err(r.execute_command, "SET", "k", "v", "EX", "0") == "invalid expire time in 'set' command"
    assert err(r.execute_command, "SET", "k", "v", "EX", "-5") == "invalid expire time in 'set' command"
    assert err(r.execute_command, "SET", "k", "v", "EX", "abc") == "value is not an integer or out of range"


def test_values_longer_than_a_slot_are_stored_whole_and_larger_than_the_heap_refused(r):
    # slot_size 512: key + value up to 496 bytes stay in the slot; longer
    # records go to the store's heap and read back whole.
    assert r.set("big", b"x" * 600) is True
    assert r.get("big") == b"x" * 600
    assert r.mget(["big", "nope"]) == [b"x" * 600, None]
    assert r.exists("big") == 1
    assert r.type("big") == b"string" or r.type("big") == "string"
    # The test server's heap is 2.5 MB (20,000 slots x 512 / 4): a 3 MB
    # value can never fit, and is refused, not truncated.
    e = err(r.set, "huge", b"x" * 3_000_000)
    assert e.startswith("value too large")
    assert r.get("huge") is None


def test_empty_key_is_refused_on_write_and_absent_on_read(r):
    assert "key" in err(r.set, "", "v")
    assert r.get("") is None


def test_setnx_setex_psetex(r):
    assert r.setnx("a", "1") is True
    assert r.setnx("a", "2") is False
    assert r.get("a") == b"1"
    assert r.setex("b", 100, "v") is True
    assert 99 <= r.ttl("b") <= 100
    assert r.psetex("c", 5000, "v") is True
    assert 4000 <= r.pttl("c") <= 5000
    assert err(r.setex, "b", 0, "v") == "invalid expire time in 'setex' command"
    assert err(r.psetex, "b", -1, "v") == "invalid expire time in 'psetex' command"
    assert err(r.execute_command, "SETEX", "b", "x", "v") == "value is not an integer or out of range"


def test_getdel(r):
    r.set("g", "v")
    assert r.getdel("g") == b"v"
    assert r.get("g") is None
    assert r.getdel("g") is None


def test_mget_mset_msetnx(r):
    assert r.mset({"m1": "a", "m2": "b"}) is True
    assert r.mget("m1", "nope", "m2") == [b"a", None, b"b"]
    assert r.msetnx({"m3": "c", "m4": "d"}) is True
    assert r.msetnx({"m4": "x", "m5": "y"}) is False
    assert r.get("m5") is None and r.get("m4") == b"d"
    assert err(r.execute_command, "MSETNX", "a") == "wrong number of arguments for 'msetnx' command"


def test_mset_reports_a_value_too_large(r):
    e = err(r.mset, {"ok": "1", "big": b"x" * 3_000_000})
    assert e.startswith("value too large")
    assert r.get("ok") == b"1", "MSET is not atomic: the keys that fit are written (documented)"


def test_del_unlink_exists_count_keys(r):
    r.mset({"d1": 1, "d2": 2, "d3": 3})
    assert r.exists("d1", "d1", "nope") == 2
    assert r.delete("d1", "nope") == 1
    assert r.unlink("d2", "d3", "d2") == 2
    assert r.exists("d1", "d2", "d3") == 0


def test_incr_family_on_decimal_text(r):
    assert r.incr("c") == 1
    assert r.get("c") == b"1"
    assert r.incrby("c", 41) == 42
    assert r.decr("c") == 41
    assert r.decrby("c", 50) == -9
    assert r.get("c") == b"-9"
    r.set("c", "10", ex=100)
    assert r.incr("c") == 11
    assert r.ttl("c") > 90, "INCR keeps the TTL, as in Redis"


def test_incr_errors_are_redis_errors(r):
    r.set("s", "abc")
    assert err(r.incr, "s") == "value is not an integer or out of range"
    r.set("s", " 1")
    assert err(r.incr, "s") == "value is not an integer or out of range"
    r.set("s", "01")
    assert err(r.incr, "s") == "value is not an integer or out of range"
    r.set("m", str(2**63 - 1))
    assert err(r.incr, "m") == "increment or decrement would overflow"
    assert r.get("m") == str(2**63 - 1).encode()
    assert err(r.execute_command, "INCRBY", "m", "x") == "value is not an integer or out of range"
    assert err(r.execute_command, "DECRBY", "m", str(-(2**63))) == "decrement would overflow"


def test_incr_on_native_8_byte_integer_stays_native(r):
    r.set("nat", (7).to_bytes(8, "little", signed=True))
    assert r.incr("nat") == 8
    assert r.get("nat") == (8).to_bytes(8, "little", signed=True)
    assert r.incrby("nat", 0) == 8
    assert r.decrby("nat", 20) == -12
    assert r.get("nat") == (-12).to_bytes(8, "little", signed=True)
    r.set("nat", (2**63 - 1).to_bytes(8, "little", signed=True))
    assert err(r.incr, "nat") == "increment or decrement would overflow"


def test_concurrent_incr_loses_no_update(server):
    import threading

    def work():
        c = server.client()
        for _ in range(300):
            c.incr("ctr")
        c.close()

    ts = [threading.Thread(target=work) for _ in range(4)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    assert server.client().get("ctr") == b"1200"


def test_expire_pexpire_persist_ttl_pttl(r):
    assert r.expire("none", 10) is False
    r.set("e", "v")
    assert r.ttl("e") == -1 and r.pttl("e") == -1
    assert r.expire("e", 100) is True
    assert 99 <= r.ttl("e") <= 100
    assert r.pexpire("e", 50000) is True
    assert 49000 <= r.pttl("e") <= 50000
    assert r.persist("e") is True
    assert r.ttl("e") == -1
    assert r.persist("e") is False
    assert r.persist("none") is False
    assert r.ttl("none") == -2 and r.pttl("none") == -2
    assert r.expire("e", 0) is True
    assert r.get("e") is None, "EXPIRE with a non-positive time deletes the key"


def test_expire_options_nx_xx_gt_lt(r):
    r.set("o", "v")
    assert r.expire("o", 100, xx=True) is False
    assert r.expire("o", 100, nx=True) is True
    assert r.expire("o", 200, nx=True) is False
    assert r.expire("o", 50, gt=True) is False
    assert r.expire("o", 200, gt=True) is True
    assert r.expire("o", 300, lt=True) is False
    assert r.expire("o", 150, lt=True) is True
    assert 149 <= r.ttl("o") <= 150
    assert r.expire("o", 120, xx=True) is True
    assert err(r.execute_command, "EXPIRE", "o", "10", "NX", "XX").startswith("NX and XX")
    assert err(r.execute_command, "EXPIRE", "o", "10", "GT", "LT").startswith("GT and LT")
    assert err(r.execute_command, "EXPIRE", "o", "10", "BAD") == "Unsupported option BAD"
    assert err(r.execute_command, "EXPIRE", "o", "x") == "value is not an integer or out of range"


def test_type_and_dbsize(r):
    r.set("t", "v")
    assert r.type("t") == b"string"
    assert r.type("none") == b"none"
    n = r.dbsize()
    r.set("t2", "v")
    assert r.dbsize() == n + 1


def test_flushdb_is_refused_with_a_clear_error(r):
    # Allowed only with --enable-flushdb: test_scan.py.
    assert err(r.flushdb) == "FLUSHDB is disabled; start maph-server with --enable-flushdb"


def test_client_setname_getname_id(r):
    assert r.client_getname() is None
    assert r.client_setname("worker-1") is True
    assert r.client_getname() in ("worker-1", b"worker-1")
    assert isinstance(r.client_id(), int)
    assert "special characters" in err(r.execute_command, "CLIENT", "SETNAME", "a b")
    assert "unknown subcommand" in err(r.execute_command, "CLIENT", "KILL", "x")


def test_command_count_info_docs(r):
    n = r.command_count()
    assert n >= 35
    table = r.command()
    assert len(table) == n
    assert table["get"]["arity"] == 2 and table["mset"]["step_count"] == 2
    assert table["mget"]["last_key_pos"] == -1
    assert r.execute_command("COMMAND", "DOCS") in ([], {})


def test_hello_2_and_3_switch_protocol(server):
    from conftest import raw

    got = raw(server.port, b"HELLO 2\r\nGET nope\r\nHELLO 3\r\nGET nope\r\nHELLO 4\r\n")
    assert got.startswith(b"*14\r\n$6\r\nserver\r\n$5\r\nredis\r\n")
    assert b"$5\r\nproto\r\n:2\r\n" in got and b"$5\r\nproto\r\n:3\r\n" in got
    assert b"$-1\r\n%7\r\n" in got, "RESP2 null, then the RESP3 map"
    assert got.endswith(b"_\r\n-NOPROTO unsupported protocol version\r\n")
    c = server.client(protocol=2)
    c.execute_command("HELLO", "2", "SETNAME", "viahello")
    assert c.client_getname() == "viahello"


def test_info_reports_commands_latency_hits_misses_clients_and_store(r):
    r.set("i", "v")
    r.get("i")
    r.get("missing-i")
    info = r.info("everything")
    assert info["connected_clients"] >= 1
    assert info["keyspace_hits"] >= 1 and info["keyspace_misses"] >= 1
    assert info["cmdstat_get"]["calls"] >= 2
    lat = r.info("latencystats")["latency_percentiles_usec_get"]
    assert set(lat) == {"p50", "p95", "p99", "p99.9", "max"}
    assert 0 < lat["p50"] <= lat["p99"] <= lat["max"]
    assert info["maph_slot_size"] == 512
    assert info["db0"]["keys"] >= 1


def test_maph_stats_json_and_optimize(r):
    for i in range(200):
        r.set(f"o{i}", i)
    r.get("o1")
    st = json.loads(r.execute_command("MAPH.STATS"))
    g = st["commands"]["get"]
    for k in ("calls", "p50", "p95", "p99", "p999", "max"):
        assert k in g
    assert st["store"]["keys"] >= 200
    rep = json.loads(r.execute_command("MAPH.OPTIMIZE"))
    assert rep["keys"] >= 200 and rep["generation"] >= 1
    assert r.get("o199") == b"199"
    assert json.loads(r.execute_command("MAPH.STATS"))["store"]["generation"] == rep["generation"]


def test_ping_with_message_is_a_bulk_reply(server):
    from conftest import raw

    assert raw(server.port, b"PING\r\nPING hi\r\nECHO\r\n") == (
        b"+PONG\r\n$2\r\nhi\r\n-ERR wrong number of arguments for 'echo' command\r\n"
    )


def test_quit_closes_after_ok(server):
    from conftest import raw

    assert raw(server.port, b"*1\r\n$4\r\nQUIT\r\n*1\r\n$4\r\nPING\r\n") == b"+OK\r\n"


def test_auth_and_noauth(make_server):
    from conftest import raw

    s = make_server("--requirepass", "sekret")
    # Unauthenticated: every command but AUTH, HELLO, QUIT is refused.
    assert raw(s.port, b"GET k\r\nAUTH wrong\r\nGET k\r\nAUTH sekret\r\nGET k\r\n") == (
        b"-NOAUTH Authentication required.\r\n"
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
        b"-NOAUTH Authentication required.\r\n"
        b"+OK\r\n$-1\r\n"
    )
    assert raw(s.port, b"AUTH default sekret\r\nPING\r\n") == b"+OK\r\n+PONG\r\n"
    # redis-py, like with a real Redis, fails to connect without the password.
    with pytest.raises(redis.AuthenticationError):
        s.client(protocol=2).get("k")
    with pytest.raises(redis.AuthenticationError):
        s.client(protocol=3).get("k")
    with pytest.raises(redis.AuthenticationError):
        s.client(protocol=3, password="wrong").get("k")
    for proto in (2, 3):
        c = s.client(protocol=proto, password="sekret")
        assert c.set("k", f"v{proto}") is True
        assert c.get("k") == f"v{proto}".encode()


def test_auth_without_password_configured(r):
    with pytest.raises(redis.AuthenticationError, match="without any password configured"):
        r.execute_command("AUTH", "x")
