# The commands of the README, and the checks behind them.
# Each sets up .venv first (scripts/bootstrap: a CPU or CUDA torch to fit the machine).
VENV ?= .venv
CORES ?= all
BIN := $(VENV)/bin

.PHONY: setup lock run report replay tensorboard test docs lint format gpu-check
setup:
	@./scripts/bootstrap

lock:  ## refresh requirements.lock: the exact versions of a fresh resolution (scripts/lock)
	@./scripts/lock

run: setup  ## the demo workflow (config/config.yaml); pass ARGS="--configfile ..." for another
	$(BIN)/snakemake --cores $(CORES) $(ARGS)

report: setup  ## the HTML report of what has run: results/report.html (same ARGS as run)
	$(BIN)/snakemake --report results/report.html $(ARGS)

replay: setup  ## what one training step saw: make replay RUN=bert STEP=3 (same ARGS as run)
	$(BIN)/snakemake --cores 1 results/$(RUN)/replay/step-$(STEP).csv $(ARGS) --quiet rules
	$(BIN)/python -m embryo.train.replay results/$(RUN)/replay/step-$(STEP).csv

tensorboard: setup  ## the live training curves of results/*/tensorboard, for this user only
	$(BIN)/python -m embryo.runtime.tensorboard --logdir results $(ARGS)

test: setup  ## the whole test suite, workflow and real-data tests included
	$(BIN)/python -m pytest $(PYTEST_ARGS)

docs: setup  ## the documentation site (docs/, mkdocs.yml) into site/; --strict: a broken link fails
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

gpu-check: setup  ## on a CUDA machine: BERT-/ALBERT-base segments in bf16, tokens/s, MFU, chain = run
	$(BIN)/python benchmarks/gpu_check.py $(ARGS)

format: setup
	$(BIN)/ruff format src tests workflow
	$(BIN)/ruff check --fix src tests workflow
	$(BIN)/snakefmt Snakefile rules
