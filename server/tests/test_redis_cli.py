"""redis-cli (Debian redis-tools) against maph-server, and the start-up checks."""

import subprocess

from conftest import BINARY, Server, free_port


def cli(server, *args, stdin=None):
    out = subprocess.run(["redis-cli", "-p", str(server.port), *args], input=stdin,
                         capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.decode()


def test_redis_cli_commands(server):
    assert cli(server, "PING") == "PONG\n"
    assert cli(server, "SET", "k", "hello", "EX", "100") == "OK\n"
    assert cli(server, "GET", "k") == "hello\n"
    assert cli(server, "TTL", "k") == "100\n"
    assert cli(server, "INCR", "n") == "1\n"
    assert cli(server, "MGET", "k", "nope", "n") == "hello\n\n1\n"
    assert cli(server, "--no-raw", "MGET", "k", "nope") == '1) "hello"\n2) (nil)\n'
    assert cli(server, "--no-raw", "NOSUCH").startswith("(error) ERR unknown command 'NOSUCH'")
    assert "maph_slots:" in cli(server, "INFO", "maph")
    assert cli(server, "DBSIZE") == "2\n"


def test_redis_cli_resp3(server):
    assert cli(server, "-3", "--no-raw", "GET", "nope") == "(nil)\n"
    assert cli(server, "-3", "SET", "a", "b") == "OK\n"


def test_redis_cli_pipe_mass_insert(server):
    n = 10000  # half the test store's 20,000 slots
    proto = "".join(f"*3\r\n$3\r\nSET\r\n${len(f'mk{i}')}\r\nmk{i}\r\n${len(str(i))}\r\n{i}\r\n"
                    for i in range(n))
    out = cli(server, "--pipe", stdin=proto.encode())
    assert f"errors: 0, replies: {n}" in out
    assert cli(server, "GET", "mk1234") == "1234\n"
    assert cli(server, "DBSIZE") == f"{n}\n"


def test_redis_cli_stdin_inline_commands(server):
    out = cli(server, stdin=b"SET a 1\nINCRBY a 41\nGET a\n")
    assert out == "OK\n42\n42\n"


def test_refuses_non_loopback_bind_without_password(tmp_path):
    r = subprocess.run([str(BINARY), "--store", str(tmp_path / "s"), "--create", "--slots", "100",
                        "--bind", "0.0.0.0", "--port", str(free_port())],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode != 0
    assert "refusing to listen on non-loopback address 0.0.0.0 without --requirepass" in r.stderr


def test_binds_loopback_by_default(tmp_path):
    s = Server(tmp_path)
    try:
        ss = subprocess.run(["ss", "-ltnH", f"sport = :{s.port}"], capture_output=True,
                            text=True, check=True)
        assert ss.stdout.split()[3] == f"127.0.0.1:{s.port}", ss.stdout
    finally:
        s.stop()


def test_missing_store_and_http_without_dir_are_clear_errors(tmp_path):
    r = subprocess.run([str(BINARY), "--store", str(tmp_path / "absent"), "--port", "0"],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode != 0 and "cannot open the store" in r.stderr
    r = subprocess.run([str(BINARY), "--store", str(tmp_path / "s"), "--create", "--http-port", "0"],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode != 0 and "--http-port needs --dir" in r.stderr
