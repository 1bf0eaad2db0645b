# PM Exports — `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_PRODUCTS ?= 10000
BENCH_PRODUCTS ?= 100000
SELLER_ID ?= DEMO-SELLER
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help setup run export-all test test-fast test-quick lint format bench bench-deliver bench-schedules bench-console clean proto proto-check screenshots

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP) ## Create .venv and install the project with its dev tools

run: setup ## Set up, migrate, seed the demo catalogue when empty, run engine + workers + scheduler (Ctrl-C stops)
	$(BIN)/pm-exports run --demo-products $(DEMO_PRODUCTS)

export-all: setup ## Export the catalogue inline in every format into ./var/exports (no Redis needed; SELLER_ID=...)
	$(BIN)/pm-exports db upgrade
	$(BIN)/pm-exports demo seed --products $(DEMO_PRODUCTS) --if-empty
	$(BIN)/pm-exports export --template "Standard CSV"
	$(BIN)/pm-exports export --template "Price & Stock"
	$(BIN)/pm-exports export --template "Full catalogue XLSX"
	$(BIN)/pm-exports export --template "JSON catalogue"
	$(BIN)/pm-exports export --format jsonl
	$(BIN)/pm-exports export --template "Google Shopping"
	$(BIN)/pm-exports export --template "Amazon Listings Feed" -o seller_id=$(SELLER_ID)

test: setup lint proto-check ## Set up, lint, check the generated gRPC code, and run the whole test suite
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

test-fast: setup ## Run the test suite without the lint step
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

test-quick: setup ## Run the test suite without the tests marked slow (no lint step)
	$(BIN)/pytest -n 2 -m "not slow" $(PYTEST_ARGS)

lint: setup ## ruff (lint + format check) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: setup ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

proto: setup ## Regenerate the gRPC Python code (clients/python/pm_exports_client/v1) from proto/
	$(PY) scripts/gen_proto.py

proto-check: setup ## Fail when the generated gRPC code is stale
	$(PY) scripts/gen_proto.py --check

bench: setup ## Benchmarks: exports against raw floors, then gRPC + RQ against the CLI (BENCH_PRODUCTS=100000)
	$(PY) bench/bench_export.py --products $(BENCH_PRODUCTS) --keep
	$(PY) bench/bench_grpc.py --products $(BENCH_PRODUCTS) --keep

bench-deliver: setup ## Deliveries: a 200 MB file to SeaweedFS S3 and SFTP, against boto3 upload_file and paramiko put
	$(PY) bench/bench_deliver.py --size-mb 200 --runs 3

screenshots: setup ## Drive the console in Chromium (browser tests) and keep a screenshot of each page in var/screenshots
	PM_EXPORTS_SCREENSHOTS=$(CURDIR)/var/screenshots $(BIN)/pytest tests/test_console_browser*.py -p no:xdist
	@ls var/screenshots

bench-schedules: setup ## Benchmark: 10,000 schedules, p95 lag of the due ones after their due time, CPU per tick
	$(PY) bench/bench_schedules.py

bench-console: setup ## Console pages on 1,000,000 products: p50/p95 per page beside baselines, flags any over 300 ms
	$(PY) bench/bench_console.py --products 1000000 --keep

clean: ## Remove .venv and var/
	rm -rf $(VENV) var
