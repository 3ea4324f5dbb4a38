# The commands of the README, and the checks behind them.
# Each sets up .venv first (scripts/bootstrap: a CPU or CUDA torch to fit the machine).
VENV ?= .venv
CORES ?= all
BIN := $(VENV)/bin

.PHONY: setup run report test lint format gpu-check
setup:
	@./scripts/bootstrap

run: setup  ## the demo workflow (config/config.yaml); pass ARGS="--configfile ..." for another
	$(BIN)/snakemake --cores $(CORES) $(ARGS)

report: setup  ## the HTML report of what has run: results/report.html (same ARGS as run)
	$(BIN)/snakemake --report results/report.html $(ARGS)

test: setup  ## the whole test suite, workflow and real-data tests included
	$(BIN)/python -m pytest $(PYTEST_ARGS)

gpu-check: setup  ## on a CUDA machine: BERT-/ALBERT-base segments in bf16, tokens/s, MFU, chain = run
	$(BIN)/python benchmarks/gpu_check.py $(ARGS)

format: setup
	$(BIN)/ruff format src tests workflow
	$(BIN)/ruff check --fix src tests workflow
	$(BIN)/snakefmt Snakefile rules
