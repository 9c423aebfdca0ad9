# esus.rnds — build, demo and test entry points.
# `make demo` and `make test` install what they need themselves (see README).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
COLLECTION_LINK := build/collections/ansible_collections/esus/rnds
export PATH := $(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/build/collections
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help venv collection-link unit integration sanity lint molecule test demo build clean bench \
	host-python matrix install-test

help:
	@echo "make demo  - PECs simulados em 127.0.0.1: site.yml e audit.yml, relatório em reports/"
	@echo "make test  - testes unitários e de integração, Python 3.6 dos servidores, matriz de versões do"
	@echo "             ansible-core, instalação pelo tarball, ansible-test sanity, ansible-lint e Molecule"
	@echo "make unit  - só os testes unitários (código Python, sem Ansible em subprocesso)"
	@echo "make integration - só os testes de integração (ansible-playbook, frotas simuladas, Chromium)"
	@echo "make matrix - só a matriz de versões (ansible-core 2.16 até a mais nova)"

$(VENV)/.installed: requirements.txt requirements-test.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-test.txt
	touch $@

venv: $(VENV)/.installed

collection-link:
	@mkdir -p $(dir $(COLLECTION_LINK))
	@ln -sfn ../../../.. $(COLLECTION_LINK)

# The two pytest tiers; the rule that puts a test in one or the other is in docs/testing.md.
unit: venv collection-link
	bash tests/infra/run-pytest.sh tests/unit

integration: venv collection-link
	bash tests/infra/chromium.sh
	ESUS_REQUIRE_CHROMIUM=1 bash tests/infra/run-pytest.sh tests/integration

sanity: venv
	bash tests/infra/sanity.sh

lint: venv collection-link
	$(BIN)/ansible-lint --profile production

molecule: venv collection-link
	bash tests/infra/docker-up.sh
	bash tests/infra/build-image.sh
	MOLECULE_REQUIRED=1 bash tests/infra/molecule-all.sh

# Code that runs on PEC servers: the host modules' tests with the modules running on the oldest
# Python 3 this machine can get (PyPy 3.7), then Python 3.6 syntax/stdlib (vermin).
host-python: venv collection-link
	bash tests/infra/host-python.sh
	bash tests/infra/host-python-check.sh

# Every ansible-core minor from meta/runtime.yml's minimum to the newest: fast unit tests + demo.
matrix: venv collection-link
	bash tests/infra/matrix.sh

# Built tarball installed into a venv with only ansible-core: ansible-doc of everything + demo.
install-test: venv
	bash tests/infra/install-test.sh

# host-python last: its vermin check fails until every host file drops Python 3.7+ syntax, and the
# other layers should still report meanwhile.
test: unit integration matrix install-test sanity lint molecule host-python

demo: venv collection-link
	bash tests/infra/demo.sh

# Fleet speed benchmark (not part of `make test`): reports/bench.json, table in docs/performance.md.
# Fails when a budget or target is missed. Quick re-runs: BENCH_ARGS="--sizes 10 --variants ours --docker 0"
# (the collection's per-host budgets only, ~2 min) or BENCH_ARGS="--sizes 10 --docker 0" (~6 min).
bench: venv collection-link
	$(BIN)/python tests/bench/bench.py $(BENCH_ARGS)

build: venv
	@mkdir -p build
	$(BIN)/ansible-galaxy collection build --force --output-path build .

clean:
	rm -rf build reports .pytest_cache
