"""Fixtures: start maph-server on a free loopback port, stop it after."""

import os
import pathlib
import socket
import subprocess
import time

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

ROOT = pathlib.Path(__file__).resolve().parents[2]
BINARY = pathlib.Path(os.environ.get("MAPH_SERVER", ROOT / "target/release/maph-server"))


def free_ports(n):
    """n distinct free loopback ports: every socket stays bound until all are
    chosen, so the kernel cannot hand the same port out twice."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def free_port():
    return free_ports(1)[0]


def wait_port(port, proc, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}: {' '.join(proc.args)}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"maph-server did not listen on {port}")


class Server:
    """A running maph-server process."""

    def __init__(self, tmp, *extra, store=None, slots=20000, slot_size=512, http=False):
        assert BINARY.exists(), f"build it first: {BINARY}"
        self.store = store or tmp / "store.maph"
        self.dir = tmp / "stores"
        self.dir.mkdir(exist_ok=True)
        # A free port can be taken by another process between free_ports()
        # and the server's bind: start again on new ports when, and only when,
        # the server says it could not listen.
        for attempt in range(5):
            ports = free_ports(2 if http else 1)
            self.port = ports[0]
            self.http_port = ports[1] if http else None
            cmd = [str(BINARY), "--store", str(self.store), "--create", "--slots", str(slots),
                   "--slot-size", str(slot_size), "--port", str(self.port), "--threads", "2"]
            if http:
                cmd += ["--http-port", str(self.http_port), "--dir", str(self.dir)]
            cmd += [str(e) for e in extra]
            # stderr to a file: a pipe nobody drains could block the server.
            self.log = tmp / f"maph-server-{self.port}.log"
            self.proc = subprocess.Popen(cmd, stderr=open(self.log, "w"))
            try:
                wait_port(self.port, self.proc)
                if http:
                    wait_port(self.http_port, self.proc)
                return
            except RuntimeError:
                self.stop()
                if attempt == 4 or "cannot listen" not in self.log.read_text():
                    raise

    def client(self, **kw):
        # No retries: a test wants the first answer, not redis-py's backoff.
        kw.setdefault("retry", Retry(NoBackoff(), 0))
        return redis.Redis(host="127.0.0.1", port=self.port, **kw)

    def rss_kib(self):
        for line in open(f"/proc/{self.proc.pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.log.read_text()


@pytest.fixture
def server(tmp_path):
    s = Server(tmp_path)
    yield s
    s.stop()


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def r(server, request):
    c = server.client(protocol=request.param)
    yield c
    c.close()


@pytest.fixture
def make_server(tmp_path):
    made = []

    def make(*extra, **kw):
        s = Server(tmp_path, *extra, **kw)
        made.append(s)
        return s

    yield make
    for s in made:
        s.stop()


def raw(port, data, read=True, timeout=2.0):
    """Sends raw bytes, returns what the server answers until it pauses."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        if not read:
            return b""
        return read_until_quiet(s)


def read_until_quiet(s, quiet=0.3):
    s.settimeout(quiet)
    out = b""
    while True:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            return out
        if not chunk:
            return out
        out += chunk
