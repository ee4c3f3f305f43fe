#!/bin/sh
# compose's demo-setup job (docker-compose.yml, demo profile): what scripts/run.sh does for
# `make run`, against the simulator container. SIM_URL and PORTAL_URL come from compose.
set -eu
CA=${SIM_CA:-/app/.data/simulator/ca.pem}
# Customers the demo creates get a default GDAP relationship with the roles app consent needs.
python - "$SIM_URL" "$CA" <<'PYEOF'
import json, ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2])
roles = ["Directory Readers", "Global Reader", "Helpdesk Administrator", "User Administrator",
         "Intune Administrator", "Cloud Application Administrator",
         "Privileged Role Administrator"]
req = urllib.request.Request(f"{sys.argv[1]}/_sim/gdap/default-roles",
                             data=json.dumps({"roles": roles}).encode(),
                             headers={"Content-Type": "application/json"}, method="POST")
urllib.request.urlopen(req, context=ctx).read()
PYEOF
python manage.py configure_demo_regions --sim "$SIM_URL" --ca "$CA" --portal-url "$PORTAL_URL"
python manage.py sync_customers || echo "(customer sync failed; the worker retries on schedule)"
python - "$SIM_URL" "$CA" "$PORTAL_URL" <<'PYEOF'
import json, ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2])
info = json.load(urllib.request.urlopen(f"{sys.argv[1]}/_sim/", context=ctx))
print(f"\nCSP Portal demo: {sys.argv[3]}/  Sign in with any of these (password below):")
for agent in info["agents"]:
    print(f"  {agent['username']:<32} {agent['region']}  {', '.join(agent['roles']) or 'no role'}")
print(f"Password: {info['agents'][0]['password']}")
PYEOF
