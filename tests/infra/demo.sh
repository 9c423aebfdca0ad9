#!/usr/bin/env bash
# `make demo`: simulated PEC installations on 127.0.0.1, site.yml, audit.yml --check, report in reports/.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec .venv/bin/python tests/demo/run_demo.py
