"""examples/cluster: three maph-servers behind twemproxy (ketama). 100,000
keys written and read back through the proxy; each server holds 20%-47%."""

import shutil
import subprocess
import time

import pytest
import redis

from conftest import ROOT, Server, free_ports, wait_port

N = 100_000


@pytest.fixture
def cluster(tmp_path):
    assert shutil.which("nutcracker"), "install the Debian package nutcracker"
    servers, proxy = [], None
    try:
        for i in range(3):
            (tmp_path / f"s{i}").mkdir()
            servers.append(Server(tmp_path / f"s{i}", slots=200_000, slot_size=128))
        conf = (ROOT / "examples/cluster/nutcracker.yml").read_text()
        for i, s in enumerate(servers):
            conf = conf.replace(f"127.0.0.1:700{i + 1}:1", f"127.0.0.1:{s.port}:1")
        # Distinct: two separate free_port() calls may return one port twice.
        proxy_port, stats_port = free_ports(2)
        conf = conf.replace("127.0.0.1:22121", f"127.0.0.1:{proxy_port}")
        cfg = tmp_path / "nutcracker.yml"
        cfg.write_text(conf)
        subprocess.run(["nutcracker", "-t", "-c", str(cfg)], check=True, capture_output=True)
        proxy = subprocess.Popen(["nutcracker", "-c", str(cfg), "-s", str(stats_port)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(proxy_port, proxy)
        yield servers, proxy_port
    finally:
        if proxy is not None:
            proxy.terminate()
            proxy.wait(10)
        for s in servers:
            s.stop()


def test_100k_keys_through_twemproxy_spread_over_three_servers(cluster):
    servers, port = cluster
    # RESP2 and no CLIENT SETINFO: twemproxy forwards neither HELLO nor CLIENT.
    c = redis.Redis(port=port, protocol=2, lib_name=None, lib_version=None)
    t0 = time.time()
    for start in range(0, N, 1000):
        p = c.pipeline(transaction=False)
        for i in range(start, start + 1000):
            p.set(f"key:{i}", f"val:{i}")
        assert p.execute() == [True] * 1000
    for start in range(0, N, 1000):
        p = c.pipeline(transaction=False)
        for i in range(start, start + 1000):
            p.get(f"key:{i}")
        assert p.execute() == [f"val:{i}".encode() for i in range(start, start + 1000)]
    assert c.mget("key:1", "key:99999", "nope") == [b"val:1", b"val:99999", None]
    print(f"100k writes + reads through twemproxy: {time.time() - t0:.1f} s")
    counts = [s.client().dbsize() for s in servers]
    assert sum(counts) == N, counts
    for n in counts:
        assert 0.20 * N <= n <= 0.47 * N, counts
    print("keys per server:", counts)
