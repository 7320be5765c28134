"""The REST API, and the classic path-traversal attacks on store names."""

import http.client
import json
import os

import pytest

from conftest import Server


@pytest.fixture
def hs(tmp_path):
    s = Server(tmp_path, http=True)
    yield s
    s.stop()


def req(s, method, path, body=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", s.http_port, timeout=10)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def test_healthz(hs):
    assert req(hs, "GET", "/healthz") == (200, b"ok\n")


def test_default_store_is_the_resp_store(hs):
    assert req(hs, "PUT", "/stores/default/keys/a%2Fb", b"\x00\xffbin")[0] == 204
    assert hs.client().get("a/b") == b"\x00\xffbin"
    hs.client().set("fromredis", "v")
    st, body = req(hs, "GET", "/stores/default/keys/fromredis")
    assert (st, body) == (200, b"v")


def test_store_lifecycle_keys_optimize_stats(hs):
    st, body = req(hs, "POST", "/stores", json.dumps({"name": "feat", "slots": 1000, "slot_size": 256}))
    assert st == 201 and json.loads(body) == {"name": "feat"}
    assert (hs.dir / "feat.maph").exists()
    assert req(hs, "POST", "/stores", json.dumps({"name": "feat", "slots": 10}))[0] == 409
    assert json.loads(req(hs, "GET", "/stores")[1]) == {"stores": ["default", "feat"]}
    for i in range(50):
        assert req(hs, "PUT", f"/stores/feat/keys/k{i}", f"v{i}".encode())[0] == 204
    assert req(hs, "GET", "/stores/feat/keys/k7") == (200, b"v7")
    st, body = req(hs, "GET", "/stores/feat/keys/nope")
    assert st == 404 and "error" in json.loads(body)
    assert req(hs, "DELETE", "/stores/feat/keys/k7")[0] == 204
    assert req(hs, "DELETE", "/stores/feat/keys/k7")[0] == 404
    st, body = req(hs, "POST", "/stores/feat/optimize")
    assert st == 200 and json.loads(body)["keys"] == 49
    st, body = req(hs, "GET", "/stores/feat/stats")
    stats = json.loads(body)
    assert st == 200 and stats["keys"] == 49 and stats["slot_size"] == 256
    # Longer than a 256-byte slot: stored in the heap, read back whole.
    assert req(hs, "PUT", "/stores/feat/keys/big", b"x" * 300)[0] == 204
    assert req(hs, "GET", "/stores/feat/keys/big") == (200, b"x" * 300)
    # Larger than the store's 128 KiB heap (1,000 slots x 128 B): refused.
    assert req(hs, "PUT", "/stores/feat/keys/huge", b"x" * 300_000)[0] == 413
    assert req(hs, "DELETE", "/stores/feat")[0] == 204
    assert not (hs.dir / "feat.maph").exists()
    assert req(hs, "GET", "/stores/feat/keys/k1")[0] == 404
    assert req(hs, "DELETE", "/stores/feat")[0] == 404
    assert req(hs, "DELETE", "/stores/default")[0] == 400


def test_bad_create_requests_are_400(hs):
    assert req(hs, "POST", "/stores", b"not json")[0] == 400
    assert req(hs, "POST", "/stores", json.dumps({"name": "x"}))[0] == 400
    assert req(hs, "POST", "/stores", json.dumps({"name": "x", "slots": 10, "slot_size": 100}))[0] == 400
    assert not (hs.dir / "x.maph").exists()


ATTACKS = [
    "..", ".", "../etc", "..%2f..%2fetc%2fpasswd", "%2e%2e", "%2e%2e%2f", "%2E%2E%2Fx",
    "%2fetc%2fpasswd", "%2ftmp%2fevil", "a%00b", "%00", "a%2fb", "..%5c..%5cwin",
    "a" * 65, "%c0%ae%c0%ae", "%252e%252e", "x%20y", "~root",
]


@pytest.mark.parametrize("name", ATTACKS)
def test_path_traversal_names_are_refused_and_touch_nothing(hs, tmp_path, name):
    before = sorted(os.listdir(tmp_path)), sorted(os.listdir(hs.dir))
    body = json.dumps({"name": name, "slots": 10})
    st, _ = req(hs, "POST", "/stores", body)
    assert st == 400, (name, st)
    for method, path, data in [
        ("PUT", f"/stores/{name}/keys/k", b"v"),
        ("GET", f"/stores/{name}/keys/k", None),
        ("DELETE", f"/stores/{name}/keys/k", None),
        ("DELETE", f"/stores/{name}", None),
        ("POST", f"/stores/{name}/optimize", None),
        ("GET", f"/stores/{name}/stats", None),
    ]:
        st, _ = req(hs, method, path, data)
        # 400 (name refused) or 404 (the router saw no such route: a raw
        # '..' or '/' splits the path); never 2xx.
        assert st in (400, 404, 405), (method, path, st)
    # Decoded names arrive at the store-name check, and JSON names too.
    assert (sorted(os.listdir(tmp_path)), sorted(os.listdir(hs.dir))) == before
    assert not os.path.exists("/tmp/evil.maph")


def test_keys_are_bytes_and_never_paths(hs):
    for key in ["..%2f..%2fetc%2fpasswd", "%2fetc%2fpasswd", "%00%01", "%e2%82%ac"]:
        assert req(hs, "PUT", f"/stores/default/keys/{key}", b"v")[0] == 204
        assert req(hs, "GET", f"/stores/default/keys/{key}") == (200, b"v")
    assert hs.client().get(b"../../etc/passwd") == b"v"
    assert req(hs, "GET", "/stores/default/keys/%zz")[0] == 400


def test_requirepass_protects_the_rest_api(tmp_path):
    s = Server(tmp_path, "--requirepass", "pw", http=True)
    try:
        assert req(s, "GET", "/stores/default/keys/x")[0] == 401
        assert req(s, "GET", "/healthz")[0] == 401
        h = {"Authorization": "Bearer pw"}
        assert req(s, "PUT", "/stores/default/keys/x", b"1", h)[0] == 204
        assert req(s, "GET", "/stores/default/keys/x", None, h) == (200, b"1")
    finally:
        s.stop()


def test_rest_port_equal_to_resp_port_is_refused_with_a_clear_error(tmp_path):
    from conftest import BINARY, free_port
    import subprocess
    p = free_port()
    r = subprocess.run([str(BINARY), "--store", str(tmp_path / "s.maph"), "--create",
                        "--slots", "100", "--port", str(p), "--http-port", str(p),
                        "--dir", str(tmp_path)], capture_output=True, timeout=30)
    assert r.returncode != 0
    assert b"give REST and RESP different ports" in r.stderr
