# The two quick-start commands (see README). Both install what is missing first.
.PHONY: dev test
dev:
	bash scripts/dev.sh
test:
	bash scripts/test.sh

.PHONY: bench
# Service vs JS baseline load test (BENCHMARKS.md); BENCH_TIMEOUT_SECS bounds it.
bench:
	bash scripts/bench.sh
