#!/usr/bin/env bash
# `make run`: simulator + portal + Celery worker/beat on this machine; Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-portal.settings.dev}
SIM_PORT=${SIM_PORT:-9443}
SIM_HTTP_PORT=${SIM_HTTP_PORT:-9444}
PORT=${PORT:-8000}
mkdir -p .data/simulator .data/logs

pids=()
stop() {
  trap - INT TERM EXIT
  echo; echo "Stopping…"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  # Celery finishes its tasks first (warm shutdown); give everything 10 s, then insist.
  for _ in $(seq 1 20); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.5
  done
  for pid in "${pids[@]}"; do
    pkill -9 -P "$pid" 2>/dev/null || true  # e.g. Celery's pool processes
    kill -9 "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

rm -f .data/simulator/ready.json
$PY -m simulator serve --port "$SIM_PORT" --http-port "$SIM_HTTP_PORT" \
  --data-dir .data/simulator --ready-file .data/simulator/ready.json ${SIM_ARGS---demo} \
  > .data/logs/simulator.log 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do [ -s .data/simulator/ready.json ] && break; sleep 0.2; done
[ -s .data/simulator/ready.json ] || { echo "The simulator did not start: see .data/logs/simulator.log"; exit 1; }

# Customers the demo creates get a default GDAP relationship with the roles app consent needs
# (Privileged Role and Cloud Application Administrator). Microsoft's own default set is not
# documented; with one that lacks them, an admin requests a GDAP relationship that has them.
$PY - "$SIM_PORT" <<'PYEOF'
import json, ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=".data/simulator/ca.pem")
roles = ["Directory Readers", "Global Reader", "Helpdesk Administrator", "User Administrator",
         "Intune Administrator", "Cloud Application Administrator",
         "Privileged Role Administrator"]
req = urllib.request.Request(f"https://127.0.0.1:{sys.argv[1]}/_sim/gdap/default-roles",
                             data=json.dumps({"roles": roles}).encode(),
                             headers={"Content-Type": "application/json"}, method="POST")
urllib.request.urlopen(req, context=ctx).read()
PYEOF
$PY manage.py migrate --noinput -v 0
# Registers the portal's callback (http://127.0.0.1 and http://localhost, any port: loopback)
# as a redirect URI of each region's app; add --portal-url https://… for another origin.
$PY manage.py configure_demo_regions --sim "https://127.0.0.1:$SIM_PORT" --ca .data/simulator/ca.pem
$PY manage.py sync_customers || echo "(customer sync failed; the worker retries on schedule)"

$PY -m celery -A portal worker -B --loglevel INFO --concurrency 2 \
  --schedule .data/celerybeat-schedule > .data/logs/celery.log 2>&1 &
pids+=($!)
$PY manage.py runserver "127.0.0.1:$PORT" --noreload > .data/logs/portal.log 2>&1 &
pids+=($!)

$PY - "$SIM_PORT" "$PORT" <<'PYEOF'
import json, ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=".data/simulator/ca.pem")
info = json.load(urllib.request.urlopen(f"https://127.0.0.1:{sys.argv[1]}/_sim/", context=ctx))
print(f"\nCSP Portal demo is running: http://127.0.0.1:{sys.argv[2]}/\n")
print("Sign in with any of these (password below):")
for agent in info["agents"]:
    roles = ", ".join(agent["roles"]) or "no role"
    print(f"  {agent['username']:<32} {agent['region']}  {roles}")
print(f"\nPassword: {info['agents'][0]['password']}")
print("Logs: .data/logs/   Stop: Ctrl-C\n")
PYEOF
wait -n "${pids[@]}"
echo "A component stopped; see .data/logs/."
