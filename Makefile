# The two quick-start commands (see README). Both install what is missing first.
.PHONY: dev test check
dev:
	bash scripts/dev.sh
test:
	bash scripts/test.sh

# Fast inner loop (no Wasm build, no wrangler): src/domain purity, fmt, clippy, native unit
# tests, client unit tests.
check:
	bash scripts/test.sh --quick

.PHONY: bench
# Service vs JS baseline vs Django Channels load test (BENCHMARKS.md); BENCH_TIMEOUT_SECS bounds it.
bench:
	bash scripts/bench.sh
