# The README's two commands:
#   make demo   build and run the demo on the shipped sample of real data
#   make test   run every test: Rust (unit, property, concurrency, W2 real
#               data: ../shared's full table, else the shipped sample),
#               the loom model, the corrupt-file tests under
#               AddressSanitizer, the C tests, the C examples.
.PHONY: bench-anchors demo lint test test-rust test-loom test-asan test-c examples header-check clean

CARGO ?= cargo

demo:
	$(CARGO) run --release -p maph-cli --bin maph -- demo

test: test-rust test-loom test-asan header-check examples test-c

# Lints (also run by .ci/run): clippy with every warning an error.
lint:
	$(CARGO) clippy --release --workspace --all-targets -- -D warnings

test-rust:
	$(CARGO) test --release --workspace

# The slot seqlock protocol under loom (its own target dir: --cfg loom
# rebuilds every dependency).
test-loom:
	RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom $(CARGO) test --release --test loom

# AddressSanitizer needs -Z flags; the stable toolchain ships the ASan
# runtime, and RUSTC_BOOTSTRAP=1 lets stable rustc take the flag.
test-asan:
	RUSTC_BOOTSTRAP=1 RUSTFLAGS="-Zsanitizer=address" CARGO_TARGET_DIR=target/asan \
	  $(CARGO) test --release --target x86_64-unknown-linux-gnu \
	  --test corrupt_files --test store_behaviour --test model --test queue --test heap

# The committed header must be the one build.rs generates from src/ffi/ (mod.rs and its modules).
header-check:
	$(CARGO) build --release -p maph
	@gen=$$(ls -t target/release/build/maph-*/out/maph.h | head -n 1); \
	  cmp "$$gen" include/maph.h || { echo "include/maph.h differs from the generated $$gen: commit the regenerated header"; exit 1; }
	@git diff --quiet -- include/maph.h 2>/dev/null || { echo "include/maph.h changed by the build: commit it"; exit 1; }

# maph against the C++ original and LMDB (issue 10), interleaved; drivers
# built by ../shared/anchors/build.sh into ANCHORS (default target/anchors).
bench-anchors:
	$(CARGO) build --release -p maph
	bash benches/anchors.sh

test-c:
	$(MAKE) -C c_tests

examples:
	$(MAKE) -C examples_c run

clean:
	$(CARGO) clean
	$(MAKE) -C c_tests clean
	$(MAKE) -C examples_c clean

# ---- install / uninstall (issue 15) ---------------------------------------
#   make install   PREFIX=/usr/local DESTDIR=   builds (cargo build --release
#                  --workspace) and installs the library, headers, maph.pc,
#                  bin/maph (and bin/maph-server when built) and man pages
#   make uninstall PREFIX=/usr/local DESTDIR=   removes exactly those files
# libmaph.a is installed with only the maph_* symbols global
# (pkg/localize-static.sh says why and how).
.PHONY: install uninstall install-build
PREFIX ?= /usr/local
DESTDIR ?=
MAPH_VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
MAPH_MAJOR := $(word 1,$(subst ., ,$(MAPH_VERSION)))
I_LIB := $(DESTDIR)$(PREFIX)/lib
I_INC := $(DESTDIR)$(PREFIX)/include
I_BIN := $(DESTDIR)$(PREFIX)/bin
I_MAN1 := $(DESTDIR)$(PREFIX)/share/man/man1

install-build:
	$(CARGO) build --release --workspace
	rm -rf target/release/man && target/release/maph man target/release/man

install: install-build
	install -d $(I_LIB)/pkgconfig $(I_INC) $(I_BIN) $(I_MAN1)
	install -m 755 target/release/libmaph.so $(I_LIB)/libmaph.so.$(MAPH_VERSION)
	ln -sf libmaph.so.$(MAPH_VERSION) $(I_LIB)/libmaph.so.$(MAPH_MAJOR)
	ln -sf libmaph.so.$(MAPH_MAJOR) $(I_LIB)/libmaph.so
	pkg/localize-static.sh target/release/libmaph.a $(I_LIB)/libmaph.a
	chmod 644 $(I_LIB)/libmaph.a
	install -m 644 include/maph.h include/maph.hpp $(I_INC)/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(MAPH_VERSION)|' pkg/maph.pc.in > $(I_LIB)/pkgconfig/maph.pc
	chmod 644 $(I_LIB)/pkgconfig/maph.pc
	install -m 755 target/release/maph $(I_BIN)/maph
	if [ -x target/release/maph-server ]; then install -m 755 target/release/maph-server $(I_BIN)/maph-server; fi
	install -m 644 target/release/man/*.1 $(I_MAN1)/
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then \
	  echo ldconfig; ldconfig; fi

uninstall:
	rm -f $(I_LIB)/libmaph.so.$(MAPH_VERSION) $(I_LIB)/libmaph.so.$(MAPH_MAJOR) $(I_LIB)/libmaph.so
	rm -f $(I_LIB)/libmaph.a $(I_LIB)/pkgconfig/maph.pc $(I_INC)/maph.h $(I_INC)/maph.hpp
	rm -f $(I_BIN)/maph $(I_BIN)/maph-server $(I_MAN1)/maph.1 $(I_MAN1)/maph-*.1

# Fuzz targets (issue 16, fuzz/README.md): each target runs FUZZ_SECONDS
# seconds. `make fuzz FUZZ_SECONDS=1800` is the long run.
FUZZ_SECONDS ?= 60
.PHONY: fuzz
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash fuzz/ci.sh
