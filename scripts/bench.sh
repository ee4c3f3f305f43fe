#!/usr/bin/env bash
# `make bench`: performance figures against the simulator (needs PostgreSQL and Redis).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/results
.venv/bin/python -m bench.bench_portal
if [ -f bench/bench_compliance.py ]; then .venv/bin/python -m bench.bench_compliance; fi
.venv/bin/python -m bench.bench_bulk
.venv/bin/python -m bench.bench_search
.venv/bin/python -m bench.bench_fan_out
.venv/bin/python -m bench.bench_soak
