# Two set-up commands: `make run` and `make test`. Both create .venv when missing.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 3000
export BENTOML_DO_NOT_TRACK := True

.PHONY: run test test-fast lint venv browser krita bench train-default clean help

help:  ## list targets
	@grep -E '^[a-z-]+:.*##' Makefile | sed 's/:.*##/\t/'

# torch is named explicitly as ==2.13.0: that spec takes the CPU wheel on disk;
# any other spec pulls several GB of CUDA packages.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "torch==2.13.0"
	$(BIN)/python -m pip install -q -e ".[dev]"
	@touch $(STAMP)

venv: $(STAMP)  ## create .venv and install everything

# The browser test drives Debian's chromium; install it when missing and we may.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null; \
	  else echo "WARNING: chromium is missing and this is not root: the browser test will be SKIPPED"; fi; }

# The layers test opens .ora files in Debian's krita, headless under xvfb; install them when missing and we may.
krita:
	@command -v krita >/dev/null 2>&1 && command -v xvfb-run >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then (apt-get update -qq && apt-get install -y -qq --no-install-recommends krita xvfb xauth) >/dev/null; \
	  else echo "WARNING: krita or xvfb is missing and this is not root: the Krita layers test will be SKIPPED"; fi; }

lint: $(STAMP)  ## ruff (configured in pyproject.toml)
	$(BIN)/ruff check .

test: $(STAMP) browser krita lint  ## lint, then the whole test suite
	$(BIN)/python -m pytest -q

test-fast: $(STAMP) lint  ## everything not marked slow (no training, no servers)
	$(BIN)/python -m pytest -q -m "not slow"

run: $(STAMP)  ## start the API + demo on http://127.0.0.1:$(PORT) (demo at /ui) with the bundled model
	@test -f models/default/model.onnx || { echo "models/default/model.onnx is missing: export one with 'mangacolor export'"; exit 1; }
	$(BIN)/bentoml serve serving.service:MangaColor --host 127.0.0.1 --port $(PORT)

DATA := data/datasets/default

# naev (painted portraits) is held out whole as the "characters" split: never trained on.
SOURCES := openmoji openclipart wesnoth flare dicebear naev
HOLDOUT := naev

$(DATA)/manifest.json:
	for s in $(SOURCES); do test -f data/raw/$$s/source.json || $(BIN)/mangacolor data fetch $$s || exit 1; done
	$(BIN)/mangacolor data build $(addprefix data/raw/,$(SOURCES)) --holdout $(HOLDOUT) --out $(DATA)

train-default: $(STAMP) $(DATA)/manifest.json  ## fetch + build the data, train/eval/export models/default (resumable)
	$(BIN)/python -m training.recipe --data $(DATA)

bench: $(STAMP)  ## all benchmarks (about 25 min on 2 cores) into bench/results/ and docs/benchmarks.md
	$(BIN)/python bench/train_throughput.py default --loader
	$(BIN)/python bench/infer.py
	$(BIN)/python bench/serve.py
	$(BIN)/python bench/page.py --refine off auto
	$(BIN)/python bench/reference.py
	$(BIN)/python bench/soak.py --minutes 10
	$(BIN)/python bench/report.py

clean:  ## remove the virtual environment
	rm -rf $(VENV)
