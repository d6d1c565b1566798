# bhclaims — two commands on a fresh Debian/Python 3.11 machine:
#   make demo   run the whole loop on the bundled export (SQLite, sandbox clearinghouse)
#   make test   install the test servers (PostgreSQL, OpenSSH) and run every test
# the interpreter the venv is made from (default: Debian's python3.11 where present, else python3:
# scripts/venv-python.sh says why)
PYTHON ?=
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-fast lint bench oracle venv servers clean

$(STAMP): pyproject.toml scripts/make-venv.sh scripts/venv-python.sh
	sh scripts/make-venv.sh $(VENV) $(PYTHON)
	touch $@

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/bhclaims demo

servers:
	sh scripts/ensure-postgres.sh
	sh scripts/ensure-sshd.sh
	sh scripts/ensure-chromium.sh

# Test processes (pytest-xdist): each worker starts its own PostgreSQL cluster and sshd, so
# workers share nothing.  More workers than CPUs pays: much of the suite waits on fsync,
# subprocesses and servers.  TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= 4
PYTEST := $(BIN)/python -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS)

# every test (CI); HYPOTHESIS_PROFILE=thorough for many more generated examples
test: $(STAMP) servers
	$(PYTEST)

# every test not marked slow (the edit-test loop); `make test` still runs them all
test-fast: $(STAMP) servers
	$(PYTEST) -m "not slow"

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
