#!/usr/bin/env bash
# Starts three maph-servers (ports 7001-7003, stores in ./cluster-data) and
# nutcracker on 127.0.0.1:22121 with examples/cluster/nutcracker.yml.
# Ctrl-C stops them all.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="${MAPH_SERVER:-$root/target/release/maph-server}"
data="${DATA:-./cluster-data}"
mkdir -p "$data"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait' EXIT INT TERM
for i in 1 2 3; do
  "$bin" --store "$data/maph$i.maph" --create --slots 1000000 --port "700$i" &
  pids+=($!)
done
nutcracker -c "$here/nutcracker.yml" &
pids+=($!)
echo "twemproxy on 127.0.0.1:22121; try: redis-cli -p 22121 set k v"
wait
