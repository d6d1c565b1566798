# bhclaims — two commands on a fresh Debian/Python 3.11 machine:
#   make demo   run the whole loop on the bundled export (SQLite, sandbox clearinghouse)
#   make test   install the test servers (PostgreSQL, OpenSSH) and run every test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench oracle venv servers clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/pip install -q --disable-pip-version-check -e '.[test]'
	touch $@

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/bhclaims demo

servers:
	sh scripts/ensure-postgres.sh
	sh scripts/ensure-sshd.sh
	sh scripts/ensure-chromium.sh

test: $(STAMP) servers
	$(BIN)/python -m pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# pyx12 vs the engine on COUNT mutated built files; prints agreements and divergences by kind
COUNT ?= 10000
oracle: $(STAMP)
	$(BIN)/python -m tests.x12_oracle --count $(COUNT)

bench: $(STAMP)
	$(BIN)/python benchmarks/parse.py
	$(BIN)/python benchmarks/check.py
	$(BIN)/python benchmarks/build837.py --claims 20000
	$(BIN)/python benchmarks/x12_engine.py
	$(BIN)/python benchmarks/post835.py --gigabyte
	$(BIN)/python benchmarks/ledger_scale.py --claims 20000

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
