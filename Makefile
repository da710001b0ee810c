# Two set-up commands: `make run` and `make test`. Both create .venv when missing.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test venv clean bench help

help:  ## list targets
	@grep -E '^[a-z-]+:.*##' Makefile | sed 's/:.*##/\t/'

# torch is named explicitly as ==2.13.0: that spec takes the CPU wheel on disk;
# any other spec pulls several GB of CUDA packages from the registry.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "torch==2.13.0"
	$(BIN)/python -m pip install -q -e ".[dev]"
	@touch $(STAMP)

venv: $(STAMP)  ## create .venv and install everything

test: $(STAMP)  ## run the whole test suite
	BENTOML_DO_NOT_TRACK=True $(BIN)/python -m pytest -q

run: $(STAMP)  ## start the API + demo on the bundled default model
	@echo "The service arrives with issue 5; nothing to start yet."

clean:  ## remove the virtual environment
	rm -rf $(VENV)
