#!/usr/bin/env bash
# CI part of the maph-server (issue 14): installs redis-tools, redis-server
# (only to compare SCAN's glob and errors with the real one), nutcracker and
# the Python client, builds maph-server and libmaph (release), runs the
# server's cargo tests and its pytest suite (real redis-cli, redis-py,
# nutcracker and a C program on libmaph). Exits non-zero on any failure;
# pytest collecting no tests (exit 5) counts as a failure.
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq redis-tools redis-server nutcracker iproute2 gcc python3-venv python3-pip >/dev/null

venv=target/server-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q "redis>=5" pytest

cargo build --release -p maph -p maph-server
cargo test --release -p maph-server

# The idle-connections test opens 10,000 sockets (client side and server
# side are separate processes); raise the soft limit to the hard one.
ulimit -n "$(ulimit -Hn)" || true
echo "server/ci.sh: open-file limit $(ulimit -n)"

set +e
"$venv/bin/python" -m pytest -q -W ignore::DeprecationWarning server/tests
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "server/ci.sh: pytest collected no tests" >&2
  exit 1
fi
exit "$rc"
