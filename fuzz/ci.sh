#!/usr/bin/env bash
# Builds the fuzz targets and runs each for FUZZ_SECONDS seconds (default
# 30) from the committed seeds plus whatever fuzz/corpus/<target> already
# holds. Exits non-zero when a target crashes, panics, times out on one
# input (30 s) or leaks past 2 GiB; the failing input is written to
# fuzz/artifacts/<target>/. Called by `.ci/run` and by `make fuzz`.
# Needs: cargo-fuzz (installed from crates.io when missing) and a nightly
# compiler's flags (RUSTC_BOOTSTRAP=1 on the stable toolchain, as for the
# AddressSanitizer tests).
set -euo pipefail
cd "$(dirname "$0")"
secs="${FUZZ_SECONDS:-30}"
command -v cargo >/dev/null 2>&1 || { . "$HOME/.cargo/env" 2>/dev/null || true; }
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1
cargo fuzz build -O
for t in open ops queue resp lmdb_text; do
  mkdir -p "corpus/$t"
  echo "== fuzz target $t: ${secs} s"
  # -O: optimized with debug assertions; ASan on (cargo-fuzz's default).
  cargo fuzz run -O "$t" "corpus/$t" "seeds/$t" -- \
    -max_total_time="$secs" -timeout=30 -rss_limit_mb=2048 -print_final_stats=1 \
    2>&1 | tee "corpus/$t.log" | grep -E "^#[0-9]+[[:space:]]+(INITED|DONE)|^stat::|ERROR|panicked" || true
  # `tee` hides the fuzzer's status: a crash leaves an artifact and a
  # "SUMMARY" line in the log.
  if grep -q "^SUMMARY:\|ERROR: libFuzzer" "corpus/$t.log"; then
    echo "fuzz target $t failed; see fuzz/corpus/$t.log and fuzz/artifacts/$t/"
    exit 1
  fi
done
