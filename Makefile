# The README's two commands:
#   make demo   build and run the demo on the shipped sample of real data
#   make test   run every test: Rust (unit, property, concurrency, W2 real
#               data: ../shared's full table, else the shipped sample),
#               the loom model, the corrupt-file tests under
#               AddressSanitizer, the C tests, the C examples.
.PHONY: demo lint test test-rust test-loom test-asan test-c examples header-check clean

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
	  --test corrupt_files --test store_behaviour --test model --test queue

# The committed header must be the one build.rs generates from src/ffi.rs.
header-check:
	$(CARGO) build --release -p maph
	@gen=$$(ls -t target/release/build/maph-*/out/maph.h | head -n 1); \
	  cmp "$$gen" include/maph.h || { echo "include/maph.h differs from the generated $$gen: commit the regenerated header"; exit 1; }
	@git diff --quiet -- include/maph.h 2>/dev/null || { echo "include/maph.h changed by the build: commit it"; exit 1; }

test-c:
	$(MAKE) -C c_tests

examples:
	$(MAKE) -C examples_c run

clean:
	$(CARGO) clean
	$(MAKE) -C c_tests clean
	$(MAKE) -C examples_c clean
