"""Pipelining and the protocol edge cases: bad input gets an error or a
closed connection, never a dead or ever-growing server."""

import os
import random
import resource
import socket
import time

from conftest import raw, read_until_quiet


def closed_by_server(sock, wait=5.0):
    """True when the server closes `sock` within `wait` seconds."""
    sock.settimeout(wait)
    end = time.time() + wait
    try:
        while time.time() < end:
            if sock.recv(65536) == b"":
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False
    return False


def test_pipeline_of_10000_commands_answers_in_order(server):
    c = server.client()
    p = c.pipeline(transaction=False)
    for i in range(5000):
        p.set(f"p{i}", i)
        p.get(f"p{i}")
    out = p.execute()
    assert out[0::2] == [True] * 5000
    assert out[1::2] == [str(i).encode() for i in range(5000)]


def test_raw_pipeline_split_at_every_byte_gives_the_same_replies(server):
    req = b"*3\r\n$3\r\nSET\r\n$2\r\nsp\r\n$5\r\nhello\r\n*2\r\n$3\r\nGET\r\n$2\r\nsp\r\nPING\r\n"
    want = b"+OK\r\n$5\r\nhello\r\n+PONG\r\n"
    with socket.create_connection(("127.0.0.1", server.port)) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for b in req:
            s.sendall(bytes([b]))
            time.sleep(0.001)
        got = read_until_quiet(s)
    assert got == want


def test_unknown_command_keeps_the_connection(server):
    got = raw(server.port, b"NOSUCH a\r\nPING\r\n")
    assert got == b"-ERR unknown command 'NOSUCH', with args beginning with: 'a' \r\n+PONG\r\n"


def test_malformed_frames_get_an_error_and_a_close(server):
    for bad in [b"*1\r\n$x\r\n", b"*1\r\nfoo\r\n", b"*1\r\n$3\r\nabcde\r\n", b"*abc\r\n",
                b"*1\r\n$-5\r\n", b"*" + b"9" * 40]:
        with socket.create_connection(("127.0.0.1", server.port)) as s:
            s.sendall(bad + b"PING\r\n")
            got = read_until_quiet(s, 1.0)
            assert got.startswith(b"-ERR Protocol error"), (bad, got)
            assert b"PONG" not in got
            assert closed_by_server(s, 2)
    assert server.client().ping()


def test_bulk_over_max_bulk_len_is_refused_from_its_length_line(make_server):
    s = make_server("--max-bulk-len", "1024")
    with socket.create_connection(("127.0.0.1", s.port)) as sock:
        sock.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1025\r\n")
        assert read_until_quiet(sock, 1.0) == b"-ERR Protocol error: invalid bulk length\r\n"
        assert closed_by_server(sock, 2)
    assert s.client().set("k", b"x" * 400)


def test_default_max_bulk_is_512_mib(server):
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$536870913\r\n")
        assert read_until_quiet(sock, 1.0) == b"-ERR Protocol error: invalid bulk length\r\n"


def test_too_many_arguments_and_huge_inline_lines_are_refused(make_server):
    s = make_server("--max-args", "100", "--max-inline", "1000")
    assert raw(s.port, b"*101\r\n").startswith(b"-ERR Protocol error: invalid multibulk length")
    assert raw(s.port, b"GET " + b"a" * 2000).startswith(b"-ERR Protocol error: too big inline request")
    assert s.client().ping()


def test_query_buffer_limit_closes_a_client_sending_a_huge_frame(make_server):
    s = make_server("--max-query-buffer", str(1 << 20))
    rss0 = s.rss_kib()
    with socket.create_connection(("127.0.0.1", s.port)) as sock:
        sock.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$8000000\r\n")
        try:
            for _ in range(64):
                sock.sendall(b"x" * 65536)
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert closed_by_server(sock, 5)
    assert s.alive() and s.client().ping()
    assert s.rss_kib() - rss0 < 16 * 1024, "the server buffered more than the limit"
    assert "query buffer limit" in s.stop()


def test_half_frame_then_stall_does_not_block_others_and_idle_timeout_closes_it(make_server):
    s = make_server("--timeout", "1")
    with socket.create_connection(("127.0.0.1", s.port)) as stalled:
        stalled.sendall(b"*2\r\n$3\r\nGET\r\n$10\r\nab")
        c = s.client()
        t0 = time.time()
        for i in range(100):
            assert c.set(f"h{i}", i)
        assert time.time() - t0 < 5
        assert closed_by_server(stalled, 5), "idle timeout did not close the stalled client"


def test_half_frame_without_timeout_stays_open_and_completes_later(server):
    with socket.create_connection(("127.0.0.1", server.port)) as s:
        s.sendall(b"*2\r\n$4\r\nECHO\r\n$10\r\nab")
        assert server.client().ping()
        time.sleep(0.5)
        s.sendall(b"cdefghij\r\n")
        assert read_until_quiet(s, 1.0) == b"$10\r\nabcdefghij\r\n"


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def idle_count():
    """10,000 as the issue asks, unless the open-file limit is lower."""
    want = int(os.environ.get("MAPH_IDLE_CONNECTIONS", "10000"))
    limit = raise_nofile()
    n = min(want, limit - 200)
    assert n >= 1000, f"open-file limit {limit} too low for an idle-connections test"
    return n


def test_many_idle_connections_are_held_and_the_server_still_answers(make_server):
    n = idle_count()
    s = make_server("--maxclients", str(n + 10))
    rss0 = s.rss_kib()
    socks = []
    try:
        for _ in range(n):
            socks.append(socket.create_connection(("127.0.0.1", s.port)))
        c = s.client()
        deadline = time.time() + 20
        while c.info("clients")["connected_clients"] < n + 1 and time.time() < deadline:
            time.sleep(0.1)
        assert c.info("clients")["connected_clients"] == n + 1
        assert c.set("alive", "yes") and c.get("alive") == b"yes"
        per_conn = (s.rss_kib() - rss0) * 1024 / n
        print(f"{n} idle connections: {per_conn:.0f} bytes of RSS each")
        assert per_conn < 64 * 1024
        # A few of them still work.
        for sk in random.sample(socks, 20):
            sk.sendall(b"PING\r\n")
            assert read_until_quiet(sk, 2.0) == b"+PONG\r\n"
    finally:
        for sk in socks:
            sk.close()


def test_maxclients_refuses_extra_clients_with_an_error(make_server):
    s = make_server("--maxclients", "5")
    socks = [socket.create_connection(("127.0.0.1", s.port)) for _ in range(5)]
    for sk in socks:
        sk.sendall(b"PING\r\n")
        assert read_until_quiet(sk, 1.0) == b"+PONG\r\n"
    with socket.create_connection(("127.0.0.1", s.port)) as extra:
        assert read_until_quiet(extra, 1.0) == b"-ERR max number of clients reached\r\n"
    socks.pop().close()
    time.sleep(0.3)
    assert s.client().ping()
    for sk in socks:
        sk.close()


def test_client_that_never_reads_is_bounded_and_closed(make_server):
    s = make_server("--write-timeout", "2")
    c = s.client()
    c.set("v", b"x" * 400)
    rss0 = s.rss_kib()
    sock = socket.create_connection(("127.0.0.1", s.port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    req = b"*2\r\n$3\r\nGET\r\n$1\r\nv\r\n" * 1000  # 1000 replies of ~410 bytes
    sent = 0
    t0 = time.time()
    while time.time() - t0 < 6:
        try:
            sent += sock.send(req)
        except BlockingIOError:
            time.sleep(0.01)
        except (BrokenPipeError, ConnectionResetError):
            break
        assert c.ping(), "the server stopped answering others"
    growth = s.rss_kib() - rss0
    print(f"never-reading client: sent {sent} request bytes, server RSS grew {growth} KiB")
    assert growth < 32 * 1024
    sock.setblocking(True)
    assert closed_by_server(sock, 10)
    sock.close()
    assert "did not read its replies" in s.stop()


def test_random_garbage_never_takes_the_server_down(server):
    rng = random.Random(14)
    for _ in range(200):
        junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
        if rng.random() < 0.5:
            junk = b"*" + junk
        with socket.create_connection(("127.0.0.1", server.port)) as s:
            s.sendall(junk)
    assert server.alive()
    assert server.client().ping()
