# The two quick-start commands: `make run` and `make test`. Both create .venv/ when missing.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: run test browser index eval bench lint check-corpus clean

$(BIN)/python:
	$(PY) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[eval,dev]'
	touch $(STAMP)

# The page is served at once; app.py loads (and if needed builds or repairs) the index behind it.
run: $(STAMP)
	$(BIN)/python app.py

index: $(STAMP)
	$(BIN)/regqa index

# Chromium + CJK fonts for the browser tests: installed with apt-get when root or passwordless
# sudo, else one line with the command to run (REGQA_CHROMIUM overrides /usr/bin/chromium).
browser:
	@sh .ci/ensure-browser

test: browser $(STAMP)
	$(BIN)/regqa corpus check
	$(BIN)/python -m pytest -q tests

lint: $(STAMP)
	$(BIN)/ruff check src tests eval app.py

eval: $(STAMP)
	$(BIN)/regqa eval

bench: $(STAMP)
	$(BIN)/regqa bench

clean:
	rm -rf index/*.faiss index/manifest.json index/store
