#!/usr/bin/env bash
# Runs maph and the anchor systems of ../shared/anchors (the C++ maph original
# v1 and v3, LMDB) on one workload, interleaved (maph, v1, v3, lmdb, maph, ...)
# for ROUNDS rounds, and prints one table of medians with each figure's
# ratio to maph's. Not part of `make test`.
#
#   make bench-anchors                         # W1: 1M keys, 5M hits, 1M misses
#   make bench-anchors WORKLOAD="20000 5000000 1000000" ROUNDS=3   # W0
#
# The drivers are built by ../shared/anchors/build.sh (see its README: it
# needs a git directory of the C++ maph's public repository, which this
# project does not ship or build); point ANCHORS at its output directory
# (default target/anchors). Drivers that are missing are reported and
# skipped; maph's own driver is required.
#
# BEFORE_LIB=DIR adds a column "maph_before": maph's driver run again with
# the libmaph.so in DIR (for example an older commit built in a worktree:
# `git worktree add /tmp/before OLD && cargo build --release` there, then
# BEFORE_LIB=/tmp/before/target/release), interleaved with the others, so
# an engine change shows its figures before and after in one table.
#
# SMALL_PAGES=1 adds a column "maph_4k": maph's driver with madvise
# (MADV_HUGEPAGE) made a no-op by an LD_PRELOAD shim (benches/no_huge_pages.c,
# built here), i.e. maph on 4 KiB pages where the kernel would otherwise
# give its file mapping 2 MiB pages — the pages the C++ original runs on. The machine's floor drifts by
# ±30% between runs, so only medians of interleaved rounds compare.
set -euo pipefail
cd "$(dirname "$0")/.."
ANCHORS=${ANCHORS:-target/anchors}
ROUNDS=${ROUNDS:-3}
read -r -a ARGS <<<"${WORKLOAD:-1000000 5000000 1000000}"

# libmaph.so carries the SONAME libmaph.so.0: the driver's loader needs it.
[ -e target/release/libmaph.so.0 ] || ln -sf libmaph.so target/release/libmaph.so.0

systems=()
for d in maph_w1 maph_4k maph_before maphcpp_v1 maphcpp_v3 lmdb_w1; do
  if [ "$d" = maph_before ]; then
    [ -n "${BEFORE_LIB:-}" ] && systems+=(maph_before)
    continue
  fi
  if [ "$d" = maph_4k ]; then
    if [ "${SMALL_PAGES:-0}" = 1 ]; then
      mkdir -p target/bench
      gcc -shared -fPIC -O2 -o target/bench/no_huge_pages.so benches/no_huge_pages.c
      systems+=(maph_4k)
    fi
    continue
  fi
  if [ -x "$ANCHORS/$d" ]; then
    systems+=("$d")
  else
    echo "anchors: $ANCHORS/$d not built: skipped (see ../shared/anchors/README.md)" >&2
  fi
done
[ -x "$ANCHORS/maph_w1" ] || { echo "anchors: $ANCHORS/maph_w1 is required" >&2; exit 1; }

out=$(mktemp -d /tmp/maph-anchors.XXXXXX)
trap 'rm -rf "$out"' EXIT
for r in $(seq 1 "$ROUNDS"); do
  for s in "${systems[@]}"; do
    echo "round $r: $s ${ARGS[*]}" >&2
    if [ "$s" = maph_4k ]; then
      LD_PRELOAD="$PWD/target/bench/no_huge_pages.so" "$ANCHORS/maph_w1" "${ARGS[@]}" >"$out/$s.$r" 2>"$out/$s.$r.err"
    elif [ "$s" = maph_before ]; then
      [ -e "$BEFORE_LIB/libmaph.so" ] || { echo "anchors: no $BEFORE_LIB/libmaph.so" >&2; exit 1; }
      LD_LIBRARY_PATH="$BEFORE_LIB" "$ANCHORS/maph_w1" "${ARGS[@]}" >"$out/$s.$r" 2>"$out/$s.$r.err"
    else
      "$ANCHORS/$s" "${ARGS[@]}" >"$out/$s.$r" 2>"$out/$s.$r.err"
    fi || { echo "anchors: $s failed:" >&2; cat "$out/$s.$r.err" >&2; exit 1; }
  done
done

python3 - "$out" "$ROUNDS" "${systems[@]}" <<'PY'
import re, statistics, sys
out, rounds, systems = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
vals = {}  # (system, figure) -> [values]
units = {}
for s in systems:
    for r in range(1, rounds + 1):
        for line in open(f"{out}/{s}.{r}"):
            m = re.match(r"\s*([\w.]+):\s*([-\d.eE+]+)\s*(\S*)", line)
            if not m:
                continue
            fig = m.group(1).split(".", 1)[-1]
            # maph's driver measures before and after optimize(); the
            # issue's comparison is after (rows "unoptimized.*" are before).
            if fig.startswith("after."):
                fig = fig[len("after."):]
            elif fig.startswith("before."):
                fig = "unoptimized." + fig[len("before."):]
            vals.setdefault((s, fig), []).append(float(m.group(2)))
            units[fig] = m.group(3)
figs = sorted({f for (_, f) in vals})
print(f"medians of {rounds} interleaved rounds; ratios to {systems[0]}")
print(f"{'figure':34s}" + "".join(f"{s:>22s}" for s in systems))
for f in figs:
    base = vals.get((systems[0], f))
    b = statistics.median(base) if base else None
    row = f"{f:34s}"
    for s in systems:
        v = vals.get((s, f))
        if not v:
            row += f"{'-':>22s}"
            continue
        m = statistics.median(v)
        ratio = f" ({m / b:.2f}x)" if b and s != systems[0] else ""
        row += f"{m:>14.4g}{ratio:>8s}"
    print(row + f"  {units.get(f, '')}")
PY
