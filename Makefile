# platekeeper: `make run` starts a working system (SQLite + local folder, demo data); `make test` runs every test.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
DEMO_READS ?= 3000

.PHONY: run test test-fast lint bench install install-test chromium axe models screenshots clean fonts train-deps train-ocr pdf-libs

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when the dependency list changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test,dev]'
	touch $@

## WeasyPrint's libraries from Debian (Pango, HarfBuzz) and a font: purge certificates and chain-of-custody PDFs.
PDF_LIBS := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b fonts-dejavu-core
pdf-libs:
	@dpkg -s $(PDF_LIBS) >/dev/null 2>&1 || { \
	  echo "installing WeasyPrint's libraries from Debian for the PDF documents"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $(PDF_LIBS); }

install: pdf-libs $(VENV)/.installed

install-test: $(VENV)/.installed-test

models: $(VENV)/.installed
	$(BIN)/python scripts/provision_models.py

## Debian's chromium for the page tests (never a browser downloaded by a test tool).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the page tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends chromium; }

## Training the plate recognizer: free fonts from Debian for the synthetic plates, the CPU build of torch
## (pinned in the `train` extra) and the ONNX converter without its torchvision dependency (which would
## replace that torch). The runtime never needs any of this.
FONTS := fonts-dejavu-core fonts-dejavu-extra fonts-opendin fonts-liberation2 fonts-freefont-ttf fonts-roboto-unhinted
fonts:
	@dpkg -s $(FONTS) >/dev/null 2>&1 || { \
	  echo "installing free fonts from Debian for the synthetic plates"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $(FONTS); }

$(VENV)/.installed-train: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[train]'
	$(BIN)/pip install --quiet --no-deps 'onnx2torch==1.5.15'
	touch $@

train-deps: fonts $(VENV)/.installed-train

WEIGHTS := src/platekeeper/recognition/weights

## Retrain the float network $(WEIGHTS)/plate-ocr.onnx, round its wide convolutions to int8 into
## plate-ocr-int8.onnx (the one the recognizer reads with), and write their cards (about 50 min on 2 CPU cores).
train-ocr: train-deps
	$(BIN)/python -W ignore::UserWarning -m platekeeper.training.train_ocr
	$(BIN)/python -W ignore::UserWarning -m platekeeper.training.train_ocr --teacher $(WEIGHTS)/plate-ocr.onnx \
		--weights int8 --int8-steps 0 --int8-min-channels 384 --out $(WEIGHTS)/plate-ocr-int8.onnx

run: install models
	$(BIN)/platekeeper db upgrade
	$(BIN)/platekeeper demo --if-empty --reads $(DEMO_READS)
	$(BIN)/platekeeper serve --host $(HOST) --port $(PORT)

## axe-core for the accessibility tests: from the npm registry, pinned, its file checked against the SHA-256 below.
AXE_VERSION := 4.14.1
AXE_SHA256 := 29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c
AXE := $(VENV)/axe/axe.min.js
$(AXE): | $(BIN)/python
	@command -v npm >/dev/null 2>&1 || { echo "installing Debian's npm to fetch axe-core"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends npm; }
	mkdir -p $(VENV)/axe
	cd $(VENV)/axe && npm pack --silent axe-core@$(AXE_VERSION) >/dev/null \
	  && tar -xzf axe-core-$(AXE_VERSION).tgz package/axe.min.js && mv package/axe.min.js axe.min.js \
	  && rm -r package axe-core-$(AXE_VERSION).tgz
	echo "$(AXE_SHA256)  $(AXE)" | sha256sum --check --quiet || { rm -f $(AXE); echo "axe.min.js: checksum mismatch"; exit 1; }

axe: $(AXE)

test: pdf-libs install-test train-deps models chromium axe
	$(BIN)/python -m pytest -q -n auto --dist loadfile --durations=15

test-fast: pdf-libs install-test train-deps
	$(BIN)/python -m pytest -q -n auto --dist loadfile -m "not slow"

lint: install-test
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy

bench: install models
	$(BIN)/python bench/recognition.py
	$(BIN)/python bench/ingest_search.py
	$(BIN)/python bench/hotlists.py
	$(BIN)/python bench/network_speed.py --write
	$(BIN)/python bench/retention.py

screenshots: install-test models chromium
	$(BIN)/python scripts/screenshots.py docs/images

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache build dist src/*.egg-info
