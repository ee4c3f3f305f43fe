#!/usr/bin/env bash
# `make bench`: performance figures against the simulator (needs PostgreSQL and Redis).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/results
.venv/bin/python -m bench.bench_portal
if [ -f bench/bench_compliance.py ]; then .venv/bin/python -m bench.bench_compliance; fi
.venv/bin/python -m bench.bench_bulk
.venv/bin/python -m bench.bench_search
# Issue 18 (scale out): BENCH_QUICK=1 runs the CI-sized versions.
QUICK=${BENCH_QUICK:+--quick}
.venv/bin/python -m bench.bench_fan_out $QUICK
.venv/bin/python -m bench.bench_sync $QUICK
.venv/bin/python -m bench.bench_pages $QUICK
.venv/bin/python -m bench.bench_sdk $QUICK
.venv/bin/python -m bench.bench_soak
