# The two quick-start commands (see README). Both install what is missing first.
.PHONY: dev test
dev:
	bash scripts/dev.sh
test:
	bash scripts/test.sh
