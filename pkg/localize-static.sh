#!/usr/bin/env bash
# Usage: pkg/localize-static.sh IN.a OUT.a
#
# Makes the installed static library export only the C API. cargo's
# libmaph.a holds maph's objects plus Rust's std, core, alloc and their
# dependencies, and exports ~1,500 global symbols besides `maph_*`
# (`rust_eh_personality`, `__rust_alloc`, std's mangled functions ...). A
# program that links libmaph.a next to another Rust static library built
# by another rustc gets "multiple definition" errors or, worse, one
# library's std silently serving the other.
#
# What this does:
#   1. `ld -r -u maph_... IN.a`: one relocatable object holding the
#      archive members the `maph_*` functions need (not --gc-sections: with
#      -r, GNU ld 2.40 then turns weak undefined references such as std's
#      `pidfd_spawnp` into strong ones, which glibc < 2.39 cannot satisfy);
#   2. `objcopy`: drop the embedded LLVM bitcode (`.llvmbc`, `.llvmcmd`;
#      concatenated by `ld -r` it is no longer valid bitcode, and binutils'
#      LLVM plugin aborts on it), rename the COMDAT group
#      `DW.ref.rust_eh_personality` (otherwise the linker keeps only one
#      copy of that group across libmaph.a and another Rust library, and the
#      other library's copy would then point at our now-local symbol), and
#      make every global symbol but `maph_*` local;
#   3. `ar rcs OUT.a` of that one object.
# The result resolves against libc, libpthread, libm, libdl, librt,
# libutil and libgcc_s only (maph.pc's Libs.private).
set -euo pipefail
in=$1
out=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# readelf, not nm: nm loads binutils' plugins, and an LLVM plugin there
# aborts on Rust objects' bitcode sections.
readelf -sW "$in" | awk '($5 == "GLOBAL") && $7 != "UND" && $8 ~ /^maph_/ {print $8}' | sort -u > "$tmp/syms"
n=$(wc -l < "$tmp/syms")
[ "$n" -gt 0 ] || { echo "$0: no maph_* symbols in $in" >&2; exit 1; }
ld -r -o "$tmp/all.o" $(sed 's/^/-u /' "$tmp/syms") "$in"
objcopy --remove-section=.llvmbc --remove-section=.llvmcmd \
  --redefine-sym DW.ref.rust_eh_personality=DW.ref.maph_rust_eh_personality \
  --keep-global-symbols="$tmp/syms" "$tmp/all.o" "$tmp/maph.o"
# Every C function must still be defined and global; nothing else may be.
got=$(readelf -sW "$tmp/maph.o" | awk '($5 == "GLOBAL" || $5 == "WEAK") && $7 != "UND" {print $8}' | sort -u)
if [ "$got" != "$(cat "$tmp/syms")" ]; then
  echo "$0: exported symbols differ from the maph_* list:" >&2
  diff <(echo "$got") "$tmp/syms" >&2 || true
  exit 1
fi
# Weak undefined references (std's optional glibc functions) must stay
# weak, unless some member also references them strongly.
readelf -sW "$in" | awk '$5 == "GLOBAL" && $7 == "UND" {print $8}' | sort -u > "$tmp/strong_in"
readelf -sW "$in" | awk '$5 == "WEAK" && $7 == "UND" {print $8}' | sort -u | comm -23 - "$tmp/strong_in" > "$tmp/weak"
strong=$(readelf -sW "$tmp/maph.o" | awk '$5 == "GLOBAL" && $7 == "UND" {print $8}' | sort -u | comm -12 - "$tmp/weak")
if [ -n "$strong" ]; then
  echo "$0: weak references became strong: $strong" >&2
  exit 1
fi
rm -f "$out"
ar rcs "$out" "$tmp/maph.o"
echo "$out: $n global symbols (maph_* only)"
