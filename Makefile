# lanner: the two commands of the quick start are `make run` and `make test`.
# Each installs what it needs (Debian packages, a local venv) on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
RULES ?=
ARGS ?=

.PHONY: run test lint typecheck unit deps test-deps venv bench clean probe containers

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# Debian packages the project needs (probe build, reference tools). Idempotent; quiet when present.
deps:
	@bash scripts/install-deps.sh

test-deps:
	@bash scripts/install-deps.sh --test

run: venv deps probe
	$(VENV)/bin/lanner run $(if $(RULES),-r $(RULES)) $(ARGS)

lint: venv
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

typecheck: venv
	$(VENV)/bin/mypy

# Two passes: everything else in parallel, then the `serial` tests (live probe, server timing)
# one at a time, since a probe sees every process on the machine.
unit: venv
	$(PY) -m pytest -n 2 --dist loadscope -m "not serial" $(ARGS)
	$(PY) -m pytest -m serial $(ARGS)

test: venv test-deps probe containers lint typecheck unit

bench: venv test-deps probe
	$(PY) bench/run.py $(ARGS)

# The CO-RE eBPF probe (src/lanner/capture/ebpf/probe.bpf.o); rebuilt only when its sources change.
probe: deps
	@bash scripts/build-probe.sh

# containerd + CRI + local images for the enrich tests (root; idempotent, ~1 s once set up).
containers:
	@bash scripts/containers-setup.sh

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache
