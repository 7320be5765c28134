#!/usr/bin/env bash
# W1 on a store in a huge-page tmpfs against the same store on 4 KiB pages
# (issue 10). Mounts a tmpfs with `huge=always` (needs root; says so and
# stops otherwise), then runs examples_c/latency_bench with TMPDIR on it and
# with TMPDIR=/tmp, interleaved, ROUNDS times, and prints for each run the
# 4 KiB floor (anonymous memory), the floor of the store's own memory
# (floor_dram_dir_ns: the 2 MiB-page floor on the tmpfs) and the GET
# figures. Not part of `make test`.
#
#   ROUNDS=3 bash benches/hugepages.sh [KEYS HITS MISSES]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
ARGS=("${@:-1000000 5000000 1000000}")
read -r -a ARGS <<<"${ARGS[*]}"
MNT=${HUGE_MNT:-/mnt/maph-huge}

if [ "$(id -u)" != 0 ]; then
  echo "hugepages: not root: cannot mount a huge-page tmpfs; nothing measured" >&2
  exit 1
fi
mkdir -p "$MNT"
if ! grep -q " $MNT tmpfs .*huge=always" /proc/mounts; then
  mount -t tmpfs -o huge=always,size=4g,mode=1777 maph-huge "$MNT" \
    || { echo "hugepages: mounting a huge=always tmpfs at $MNT failed" >&2; exit 1; }
  trap 'umount "$MNT"' EXIT
fi
echo "hugepages: tmpfs huge=always at $MNT; transparent_hugepage/enabled: $(cat /sys/kernel/mm/transparent_hugepage/enabled)"

cargo build --release --quiet
[ -e target/release/libmaph.so.0 ] || ln -sf libmaph.so target/release/libmaph.so.0
make -C examples_c --quiet build/latency_bench >/dev/null

pat='^c_w1\.(floor_dram_ns|floor_dram_dir_ns|floor_mlp_ns|after\.get_hit_p50|after\.get_hit_p99|after\.get_hit_throughput|after\.get_miss_p50|after\.mget16_ns_per_key|insert_rate):'
for r in $(seq 1 "$ROUNDS"); do
  for where in "$MNT" /tmp; do
    echo "== round $r: store in $where"
    TMPDIR=$where examples_c/build/latency_bench "${ARGS[@]}" | grep -E "$pat" | sed 's/^/   /'
  done
done
