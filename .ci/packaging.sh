#!/usr/bin/env bash
# CI for issue 15 (install like LMDB): make install into a temporary
# DESTDIR, then use only what was installed:
#   - build examples_c/quickstart.c outside the source tree with
#     `pkg-config --cflags --libs maph` (dynamic) and
#     `pkg-config --static` (fully static, and libmaph.a with a dynamic
#     libc), and run each;
#   - readelf -d: the SONAME libmaph.so.MAJOR and the symlinks;
#   - nm -D: libmaph.so exports exactly the functions maph.h declares;
#     libmaph.a defines no global symbol but maph_*, and links into one
#     program next to another Rust static library;
#   - the C++ wrapper test (c_tests/test_hpp.cpp) against the installed
#     maph.hpp; the Python package's pytest tests against the installed
#     libmaph.so; the installed maph and its man pages;
#   - make uninstall leaves no file behind.
# Installs what it needs (apt: pkg-config binutils python3-venv; pip:
# pytest). Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

need=()
for tool in pkg-config readelf nm objcopy ld ar gcc g++ make; do
  command -v "$tool" >/dev/null 2>&1 || need+=("$tool")
done
python3 -m venv --help >/dev/null 2>&1 || need+=(venv)
if [ ${#need[@]} -gt 0 ]; then
  echo "packaging.sh: installing for: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq pkg-config binutils gcc g++ make python3 python3-venv python3-pip >/dev/null
fi
command -v cargo >/dev/null 2>&1 || { . "$HOME/.cargo/env" 2>/dev/null || true; }

WORK=$(mktemp -d /tmp/maph-packaging.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
DEST=$WORK/dest
PREFIX=/usr/local
LIB=$DEST$PREFIX/lib
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
MAJOR=${VERSION%%.*}
fail() { echo "packaging.sh: FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

step "make install PREFIX=$PREFIX DESTDIR=$DEST"
make --no-print-directory install PREFIX=$PREFIX DESTDIR="$DEST" >"$WORK/install.log" 2>&1 \
  || { cat "$WORK/install.log"; fail "make install"; }
(cd "$DEST" && find . | sort)

step "files and symlinks"
for f in lib/libmaph.so.$VERSION lib/libmaph.a lib/pkgconfig/maph.pc include/maph.h \
         include/maph.hpp bin/maph share/man/man1/maph.1 share/man/man1/maph-load.1; do
  [ -f "$DEST$PREFIX/$f" ] || fail "not installed: $PREFIX/$f"
done
[ "$(readlink "$LIB/libmaph.so.$MAJOR")" = "libmaph.so.$VERSION" ] || fail "libmaph.so.$MAJOR symlink"
[ "$(readlink "$LIB/libmaph.so")" = "libmaph.so.$MAJOR" ] || fail "libmaph.so symlink"

step "readelf -d: SONAME"
readelf -d "$LIB/libmaph.so.$VERSION" | grep -F "Library soname: [libmaph.so.$MAJOR]" \
  || fail "SONAME is not libmaph.so.$MAJOR"

step "nm -D: exported symbols are exactly maph.h's functions"
nm -D --defined-only "$LIB/libmaph.so.$VERSION" | awk '{print $3}' | sort > "$WORK/exported"
# Declarations only: not the header's `static inline` shims (maph_log_printf
# is C-side varargs, not a library symbol) nor calls inside their bodies.
grep -v -E '^static inline|^[[:space:]]+return ' "$DEST$PREFIX/include/maph.h" \
  | sed -n 's/^[a-z_ ]*[ *]\(maph_[a-z_0-9]*\)(.*/\1/p' | sort -u > "$WORK/declared"
diff "$WORK/declared" "$WORK/exported" || fail "libmaph.so exports differ from maph.h (< declared, > exported)"
echo "$(wc -l < "$WORK/exported") functions, all declared in maph.h"

step "libmaph.a: only maph_* symbols are global"
# readelf, not nm: nm loads binutils' LLVM plugin, which aborts on
# Rust objects (pkg/localize-static.sh).
other=$(readelf -sW "$LIB/libmaph.a" | awk '($5 == "GLOBAL" || $5 == "WEAK") && $7 != "UND" && $8 !~ /^maph_/ {print $8}' | head -n 5)
[ -z "$other" ] || fail "libmaph.a exports non-maph symbols: $other"
orig=$(readelf -sW target/release/libmaph.a | awk '($5 == "GLOBAL" || $5 == "WEAK") && $7 != "UND" && $8 !~ /^maph_/ {print $8}' | sort -u | wc -l)
echo "installed libmaph.a: 0 non-maph_ globals (cargo's target/release/libmaph.a: $orig)"

export PKG_CONFIG_PATH=$LIB/pkgconfig
export PKG_CONFIG_SYSROOT_DIR=$DEST
pkg-config --exists maph || fail "pkg-config does not find maph"
[ "$(pkg-config --modversion maph)" = "$VERSION" ] || fail "maph.pc version"
echo "pkg-config --cflags --libs maph:          $(pkg-config --cflags --libs maph)"
echo "pkg-config --cflags --static --libs maph: $(pkg-config --cflags --static --libs maph)"
# The README quotes this line for PREFIX=/usr/local: it must be what
# pkg-config prints.
static_libs=$(pkg-config --static --libs maph | sed "s|$DEST||g; s/ *$//")
grep -qF -- "\`$static_libs\`" README.md || fail "README does not quote pkg-config --static --libs maph: $static_libs"

OUT=$WORK/outside
mkdir -p "$OUT"
cp examples_c/quickstart.c "$OUT/"
cd "$OUT"

step "quickstart, dynamic: cc quickstart.c \$(pkg-config --cflags --libs maph)"
cc -std=c99 -Wall -Werror -o qs_dynamic quickstart.c $(pkg-config --cflags --libs maph)
readelf -d qs_dynamic | grep -F "Shared library: [libmaph.so.$MAJOR]" || fail "qs_dynamic does not need libmaph.so.$MAJOR"
LD_LIBRARY_PATH=$LIB ./qs_dynamic "$OUT/dyn.maph" | grep -qx "hello = world ($OUT/dyn.maph)" || fail "qs_dynamic output"
echo "ok"

step "quickstart, static: cc -static quickstart.c \$(pkg-config --cflags --static --libs maph)"
# glibc warns that getaddrinfo/getpwuid_r (in Rust's std, unused by maph)
# need glibc's shared libraries at run time when linked -static.
cc -std=c99 -Wall -Werror -static -o qs_static quickstart.c $(pkg-config --cflags --static --libs maph) 2> static.log \
  || { cat static.log; fail "static link"; }
if readelf -d qs_static 2>/dev/null | grep -q NEEDED; then fail "qs_static has dynamic dependencies"; fi
./qs_static "$OUT/static.maph" | grep -qx "hello = world ($OUT/static.maph)" || fail "qs_static output"
echo "ok"

step "quickstart, libmaph.a with a dynamic libc"
cc -std=c99 -Wall -Werror -o qs_archive quickstart.c $(pkg-config --cflags maph) \
  "$(pkg-config --variable=libdir maph)/libmaph.a" $(pkg-config --libs-only-l --static maph | sed 's/-lmaph//')
if readelf -d qs_archive | grep -q 'libmaph'; then fail "qs_archive needs libmaph.so"; fi
./qs_archive "$OUT/archive.maph" | grep -qx "hello = world ($OUT/archive.maph)" || fail "qs_archive output"
echo "ok"

step "libmaph.a next to another Rust static library, both link orders"
rustc -O --crate-type staticlib --crate-name other_rust_lib -o libother_rust_lib.a "$ROOT/pkg/tests/other_rust_lib.rs"
A="$(pkg-config --variable=libdir maph)/libmaph.a"
PRIV=$(pkg-config --libs-only-l --static maph | sed 's/-lmaph//')
cc -std=c99 -o two_ab $(pkg-config --cflags maph) "$ROOT/pkg/tests/two_rust_libs.c" "$A" libother_rust_lib.a $PRIV
cc -std=c99 -o two_ba $(pkg-config --cflags maph) "$ROOT/pkg/tests/two_rust_libs.c" libother_rust_lib.a "$A" $PRIV
./two_ab && ./two_ba

step "C++ wrapper: g++ -std=c++17 -Wall -Wextra -Werror test_hpp.cpp \$(pkg-config --cflags --libs maph)"
g++ -std=c++17 -Wall -Wextra -pedantic -Werror -o test_hpp "$ROOT/c_tests/test_hpp.cpp" $(pkg-config --cflags --libs maph)
LD_LIBRARY_PATH=$LIB ./test_hpp

step "installed maph and its man pages"
"$DEST$PREFIX/bin/maph" --version
"$DEST$PREFIX/bin/maph" create "$OUT/cli.maph" --slots 64 >/dev/null
printf 'k\tv\n' | "$DEST$PREFIX/bin/maph" load "$OUT/cli.maph" - --no-header >/dev/null
[ "$("$DEST$PREFIX/bin/maph" get "$OUT/cli.maph" k)" = v ] || fail "installed maph"
grep -q 'EXIT STATUS' "$DEST$PREFIX/share/man/man1/maph.1" || fail "maph.1 has no EXIT STATUS"

step "Python package: pip install ./python; pytest against the installed libmaph.so"
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install -q --disable-pip-version-check pytest
cp -r "$ROOT/python" "$WORK/python-src"   # pip builds in the tree: keep the checkout clean
"$WORK/venv/bin/pip" install -q --disable-pip-version-check "$WORK/python-src"
set +e
MAPH_LIBRARY=$LIB/libmaph.so.$MAJOR "$WORK/venv/bin/python" -m pytest -q -p no:cacheprovider "$ROOT/python/tests"
rc=$?
set -e
[ $rc -eq 0 ] || fail "pytest exit status $rc (5: no tests collected)"

cd "$ROOT"
step "make uninstall"
make --no-print-directory uninstall PREFIX=$PREFIX DESTDIR="$DEST" >/dev/null
left=$(find "$DEST" -type f -o -type l)
[ -z "$left" ] || fail "left after uninstall: $left"
echo "packaging.sh: all checks passed"
