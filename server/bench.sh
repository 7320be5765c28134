#!/usr/bin/env bash
# maph-server against redis-server, same machine, same redis-benchmark flags:
#   -t get,set,incr and MGET of 10 keys (redis-benchmark has no mget test,
#   so MGET runs as a command line), -n N -r 1000000 -d 100 -c 50,
#   without pipelining and with -P 16; 3 rounds, systems interleaved,
#   medians. Then wrk on the REST GET and PUT, and redis-benchmark GET
#   through twemproxy in front of three maph-servers.
# Usage: server/bench.sh [N]   (default N = 1000000)
# Needs: redis-tools, redis-server, nutcracker, wrk (apt); prints Markdown.
set -euo pipefail
trap 'echo "bench.sh: failed at line $LINENO" >&2' ERR
cd "$(dirname "$0")/.."
N="${1:-1000000}"
ROUNDS="${ROUNDS:-3}"
BIN=target/release/maph-server
cargo build --release -q -p maph-server
tmp="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; exit 1; }

# Keys: key:<12 digits> (16 bytes) + 100-byte values fit a 256-byte slot.
SLOTS=4000000
MP=$(free_port); RP=$(free_port); HP=$(free_port)
mkdir -p "$tmp/dir"
"$BIN" --store "$tmp/bench.maph" --create --slots $SLOTS --slot-size 256 \
  --port "$MP" --http-port "$HP" --dir "$tmp/dir" 2>"$tmp/maph.log" &
pids+=($!)
redis-server --port "$RP" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
  --logfile "$tmp/redis.log" &
pids+=($!)
wait_port "$MP"; wait_port "$RP"; wait_port "$HP"

MGET=(MGET); for _ in $(seq 10); do MGET+=("key:__rand_int__"); done
run_rb() { # port pipeline test -> CSV lines
  local port=$1 pipe=$2 test=$3
  local args=(-h 127.0.0.1 -p "$port" -n "$N" -r 1000000 -d 100 -c 50 -P "$pipe" --csv -q)
  if [ "$test" = mget ]; then
    redis-benchmark "${args[@]}" "${MGET[@]}" 2>/dev/null | tail -n +2 | sed 's/^"[^"]*"/"MGET"/'
  else
    redis-benchmark "${args[@]}" -t "$test" 2>/dev/null | tail -n +2
  fi
}

: >"$tmp/rb.csv"
for round in $(seq "$ROUNDS"); do
  for pipe in 1 16; do
    for test in set get mget incr; do
      for sys in maph redis; do
        port=$MP; [ "$sys" = redis ] && port=$RP
        run_rb "$port" "$pipe" "$test" | sed "s/^/$sys,$pipe,$round,/" >>"$tmp/rb.csv"
      done
    done
  done
  echo "round $round done" >&2
done

# REST: wrk, 2 threads, 50 connections, 10 s each, GET and PUT of one
# 100-byte value; 3 rounds, medians.
curl -s -X PUT --data-binary "$(head -c 100 /dev/zero | tr '\0' x)" \
  "http://127.0.0.1:$HP/stores/default/keys/restkey" >/dev/null
cat >"$tmp/put.lua" <<'LUA'
wrk.method = "PUT"
wrk.body = string.rep("x", 100)
wrk.headers["Content-Type"] = "application/octet-stream"
LUA
: >"$tmp/wrk.txt"
for round in $(seq "$ROUNDS"); do
  for m in GET PUT; do
    s=(); [ "$m" = PUT ] && s=(-s "$tmp/put.lua")
    echo "== $m $round" >>"$tmp/wrk.txt"
    wrk -t2 -c50 -d10s --latency "${s[@]}" "http://127.0.0.1:$HP/stores/default/keys/restkey" >>"$tmp/wrk.txt" \
      || echo "wrk $m failed" >&2
  done
done

# twemproxy: three maph-servers behind nutcracker (ketama), GET and SET.
TP=$(free_port)
sed "s/127.0.0.1:22121/127.0.0.1:$TP/" examples/cluster/nutcracker.yml >"$tmp/nc.yml"
for i in 1 2 3; do
  p=$(free_port)
  "$BIN" --store "$tmp/c$i.maph" --create --slots 2000000 --slot-size 256 --port "$p" 2>"$tmp/c$i.log" &
  pids+=($!)
  sed -i "s/127.0.0.1:700$i:1/127.0.0.1:$p:1/" "$tmp/nc.yml"
  wait_port "$p"
done
nutcracker -c "$tmp/nc.yml" -s "$(free_port)" 2>"$tmp/nc.log" &
pids+=($!)
wait_port "$TP"
: >"$tmp/tw.csv"
for round in $(seq "$ROUNDS"); do
  for pipe in 1 16; do
    for test in set get; do
      redis-benchmark -h 127.0.0.1 -p "$TP" -n "$N" -r 1000000 -d 100 -c 50 -P "$pipe" --csv -q -t "$test" 2>/dev/null \
        | tail -n +2 | sed "s/^/twemproxy,$pipe,$round,/" >>"$tmp/tw.csv" \
        || echo "redis-benchmark through twemproxy failed ($test -P $pipe)" >&2
    done
  done
done

python3 - "$tmp/rb.csv" "$tmp/wrk.txt" "$tmp/tw.csv" "$N" "$ROUNDS" <<'PY'
import csv, re, statistics, sys
rb, wrk, tw, n, rounds = sys.argv[1:]
def load(path):
    rows = {}
    for r in csv.reader(open(path)):
        if len(r) < 11:
            continue
        sysname, pipe, _round, test, rps, avg, mn, p50, p95, p99, mx = r[:11]
        rows.setdefault((sysname, int(pipe), test), []).append((float(rps), float(p50), float(p99)))
    return rows
def med(v, i):
    return statistics.median(x[i] for x in v)
rows = load(rb)
print(f"redis-benchmark, -n {n} -r 1000000 -d 100 -c 50, medians of {rounds} interleaved rounds"
      " (latencies in ms; MGET = 10 keys):\n")
print("| command | -P | maph req/s | maph p50 | maph p99 | Redis req/s | Redis p50 | Redis p99 | maph/Redis | target | met |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for pipe in (1, 16):
    for test in ("SET", "GET", "MGET", "INCR"):
        m, r = rows.get(("maph", pipe, test)), rows.get(("redis", pipe, test))
        if not m or not r:
            print(f"| {test} | {pipe} | missing | | | | | | | | |")
            continue
        ratio = med(m, 0) / med(r, 0)
        target = 1.0 if pipe == 1 else 1.5
        print(f"| {test} | {pipe} | {med(m,0):,.0f} | {med(m,1):.3f} | {med(m,2):.3f} | {med(r,0):,.0f} | "
              f"{med(r,1):.3f} | {med(r,2):.3f} | {ratio:.2f} | ≥{target} | {'yes' if ratio >= target else 'NO'} |")
print()
runs = {}
cur = None
for line in open(wrk):
    if line.startswith("== "):
        cur = line.split()[1]
        runs.setdefault(cur, [])
    elif line.strip().startswith("Requests/sec:"):
        runs[cur].append({"rps": float(line.split()[1])})
    elif re.match(r"\s+99%", line):
        v = line.split()[1]
        ms = float(v[:-2]) if v.endswith("ms") else float(v[:-2]) / 1000 if v.endswith("us") else float(v[:-1]) * 1000
        runs[cur].append({"p99": ms})
print(f"REST (wrk -t2 -c50 -d10s --latency, one key, 100-byte value), medians of {rounds}:\n")
print("| request | req/s | p99 ms |")
print("|---|---|---|")
for m in ("GET", "PUT"):
    v = runs.get(m, [])
    rps = statistics.median(x["rps"] for x in v if "rps" in x)
    p99 = statistics.median(x["p99"] for x in v if "p99" in x)
    print(f"| {m} /stores/default/keys/restkey | {rps:,.0f} | {p99:.2f} |")
print()
t = load(tw)
print(f"Through twemproxy (nutcracker, ketama) in front of three maph-servers, same flags, medians of {rounds}:\n")
print("| command | -P | req/s | p50 ms | p99 ms |")
print("|---|---|---|---|---|")
for pipe in (1, 16):
    for test in ("SET", "GET"):
        v = t.get(("twemproxy", pipe, test))
        if v:
            print(f"| {test} | {pipe} | {med(v,0):,.0f} | {med(v,1):.3f} | {med(v,2):.3f} |")
PY
