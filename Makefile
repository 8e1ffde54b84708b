# The README's two commands are `make demo` (set up and run the main job) and
# `make test` (set up and run every check CI runs). Everything else is a step of those.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# A separate venv for benchmarks against other libraries (cryptofeed): .venv stays free of them.
BENCH_VENV  ?= .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed

.PHONY: setup native pure system-deps demo test lint typecheck unit integration kafka-jars dashboards bench bench-venv bench-mappers soak faults fuzz clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required; set PYTHON=/path/to/python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# NATIVE=1 also compiles the normalizer's hot modules (opt-in: 1.07-1.23x fewer
# instructions a frame, docs/benchmarks.md); by default it runs as plain Python
NATIVE ?= 0
setup: $(STAMP) $(if $(filter 1,$(NATIVE)),native,) ## create .venv and install Tapewire with its dev tools (NATIVE=1: compile the normalizer)
	@$(BIN)/python setup_native.py --if-built  # a tree built once stays fresh

# The normalizer's per-frame modules compiled with mypyc, in place (docs/benchmarks.md):
# setup_native.py rebuilds when an extension is missing or older than its .py (about 40 s),
# else returns at once. Importing a stale build fails, naming this target.
native: $(STAMP) ## compile the normalizer's hot modules with mypyc (rebuilt when a source changed)
	$(BIN)/python setup_native.py

pure: ## remove the compiled normalizer modules (run the pure-Python source)
	$(PYTHON) setup_native.py --pure

# Debian packages the tests use: prometheus (scrape and alert-rule tests; promtool checks
# the dashboards' PromQL).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
system-deps: ## Debian packages the tests need, if missing: prometheus + promtool (apt-get)
	@command -v prometheus >/dev/null && command -v promtool >/dev/null || \
	  { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq prometheus; }

kafka-jars: $(STAMP) ## fetch the Kafka broker jars with Maven (cached outside the repo)
	$(BIN)/tapewire kafka fetch

demo: setup kafka-jars ## the main job: check the machine, round trip, then the 60 s demo
	$(BIN)/tapewire doctor
	$(BIN)/tapewire smoke
	$(BIN)/tapewire demo --duration 60

lint: setup ## ruff, then the layer contracts of docs/architecture.md (import-linter)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: setup
	$(BIN)/mypy

unit: setup system-deps
	$(BIN)/pytest tests/unit

integration: setup kafka-jars system-deps
	$(BIN)/pytest tests/integration

dashboards: setup ## regenerate infra/grafana/dashboards/*.json from tapewire.observability
	$(BIN)/python -m tapewire.observability.dashboards.build

test: setup kafka-jars system-deps lint typecheck ## everything CI runs
	$(BIN)/pytest

bench: setup kafka-jars ## every benchmark, medians over repeated runs (about 10 min)
	$(BIN)/python bench/run_all.py

$(BENCH_STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required; set PYTHON=/path/to/python3.11")'
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/pip install --quiet -e '.[bench-cryptofeed]'
	$(BENCH_VENV)/bin/python -c 'from cryptofeed.exchanges import Binance, OKX'
	@touch $(BENCH_STAMP)

bench-venv: $(BENCH_STAMP) ## .venv-bench: Tapewire plus cryptofeed (the bench-cryptofeed extra)

bench-mappers: bench-venv ## Tapewire's normalizer core vs cryptofeed's parsers, same frames, interleaved (about 2 min)
	$(BENCH_VENV)/bin/python bench/bench_mappers.py $(BENCH_ARGS)

soak: setup kafka-jars ## run all on the demo config for an hour; RSS plot per role (bench/results)
	$(BIN)/pip install --quiet -e '.[dev,soak]'
	$(BIN)/python bench/soak.py --minutes $(or $(SOAK_MINUTES),60)

faults: setup kafka-jars ## the fault suite on 1,000,000 frames (CI runs it on 100,000)
	TAPEWIRE_FAULT_FRAMES=$(or $(FAULT_FRAMES),1000000) $(BIN)/pytest -s -p no:cacheprovider tests/integration/deploy/test_faults.py

fuzz: setup ## every native mapper against 100,000 mutated frames (CI runs 3,000 per venue)
	TAPEWIRE_FUZZ_CASES=$(or $(FUZZ_CASES),100000) $(BIN)/pytest -q -p no:cacheprovider tests/unit/streams/normalize/mappers/test_fuzz.py

clean: pure
	rm -rf $(VENV) $(BENCH_VENV) .tapewire .mypy_cache .ruff_cache .pytest_cache
