"""Shared bench plumbing: a throwaway PostgreSQL database, gunicorn with production settings
over TLS, an HTTP sign-in as a real browser would do it, and small statistics helpers."""

from __future__ import annotations

import os
import re
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.simharness import Simulator  # noqa: E402

PY = sys.executable
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/14")
KEYS = "x18ITJa-qveMSYPJ-ma0Tb3bOBIYtR6APw4FoJnmQVA="


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def portal_ready(env: dict[str, str], db: str, sim: Simulator, *, queue: str) -> None:
    """A new database `db` migrated with the simulator's regions, and Django set up in this
    process with `env` and Celery on `queue` (the benches that start real workers)."""
    fresh_database(db)
    manage(env, "migrate", "--noinput")
    manage(env, "configure_demo_regions", "--sim", sim.base_url, "--ca", sim.ca)
    os.environ.update({**env, "CELERY_QUEUE": queue})
    import django

    django.setup()


def results_save(name: str, results: dict) -> None:
    """bench/results/<name>.json; benches write after every phase, so a late failure keeps
    the figures measured so far."""
    import json

    out = ROOT / "bench" / "results" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str))


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def p95(values: list[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def server_ms(response: requests.Response) -> float:
    match = re.search(r"app;dur=([0-9.]+)", response.headers.get("Server-Timing", ""))
    return float(match.group(1)) if match else float("nan")


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem, 1)}


def portal_env(db_name: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings.production",
        "DJANGO_SECRET_KEY": "bench-only-" + "k" * 50,
        "PORTAL_ENCRYPTION_KEYS": KEYS,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": f"{PG}/{db_name}",
        "REDIS_URL": REDIS,
        "LOG_LEVEL": "WARNING",
        # The simulator listens on 127.0.0.1, which production otherwise refuses to call.
        "MICROSOFT_ALLOW_PRIVATE_HOSTS": "true",
    }


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [PY, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def fresh_database(name: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


@contextmanager
def gunicorn(env: dict[str, str], sim: Simulator, workers: int = 1) -> Iterator[str]:
    """The portal under gunicorn, production settings, TLS with the simulator's certificate."""
    port = free_port()
    cert = sim.data_dir / "server.pem"
    key = sim.data_dir / "server-key.pem"
    log = open(ROOT / "bench" / "results" / "gunicorn.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [PY, "-m", "gunicorn", "portal.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--threads", "4", "--certfile", str(cert),
         "--keyfile", str(key), "--timeout", "60"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"https://127.0.0.1:{port}"
    session = client(sim)
    for _ in range(150):
        try:
            session.get(f"{base}/healthz", timeout=2)
            break
        except requests.RequestException:
            time.sleep(0.1)
    callback_register(sim, base)
    try:
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def callback_register(sim: Simulator, base: str) -> None:
    """The portal's https://127.0.0.1:<port> callback as a redirect URI of every region's app
    (configure_demo_regions registers http loopback ones, whose port Entra ignores; an https
    one must match exactly, or sign-in ends in AADSTS50011).
    # Reference: https://learn.microsoft.com/entra/identity-platform/reply-url"""
    uris = [f"{base}/auth/callback/", "http://localhost/auth/callback/"]
    uris.append("http://127.0.0.1/auth/callback/")
    for region in sim.info()["regions"]:
        answer = sim.session.post(
            f"{sim.base_url}/_sim/regions/{region['slug']}/app/redirect-uris",
            json={"redirect_uris": uris},
            timeout=10,
        )
        answer.raise_for_status()


def worker_pids(base_port: int) -> list[int]:
    """gunicorn worker processes (children of the arbiter listening on the port)."""
    out = subprocess.run(["pgrep", "-f", "gunicorn portal.wsgi"], capture_output=True, text=True)
    pids = [int(p) for p in out.stdout.split()]
    children = []
    for pid in pids:
        try:
            ppid = int(Path(f"/proc/{pid}/stat").read_text().split()[3])
        except OSError:
            continue
        if ppid in pids:
            children.append(pid)
    return children


def rss_kib(pid: int) -> tuple[int, int]:
    """(current RSS, peak RSS) of a process in KiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
    hwm = int(re.search(r"VmHWM:\s+(\d+)", status).group(1))
    return rss, hwm


def client(sim: Simulator) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = sim.ca
    return session


def sign_in(base: str, sim: Simulator, username: str, password: str) -> requests.Session:
    """Sign in as a browser would: portal form → simulator page → callback."""
    browser = client(sim)
    page = browser.get(f"{base}/signin/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    start = browser.post(
        f"{base}/signin/",
        data={"csrfmiddlewaretoken": token, "username": username},
        headers={"Referer": f"{base}/signin/"},
        allow_redirects=False,
        timeout=10,
    )
    auth_uri = start.headers["Location"]
    form = browser.get(auth_uri, timeout=10)
    assert form.status_code == 200, form.text[:300]
    back = browser.post(
        auth_uri, data={"login": username, "passwd": password}, allow_redirects=False, timeout=10
    )
    callback = back.headers["Location"]
    assert urlsplit(callback).path == "/auth/callback/", callback
    done = browser.get(callback, allow_redirects=False, timeout=20)
    assert done.status_code == 302, done.text[:300]
    return browser


def customers_seed(info: dict) -> int:
    """The simulator's customers (`/_sim/` info) as a sync would store them, in bulk; their count.
    Needs Django set up."""
    from customers.models import Customer, RelationshipStatus
    from regions.models import Region

    rows = []
    for r in info["regions"]:
        region = Region.objects.get(slug=r["slug"])
        for c in r["customers"]:
            status = (
                RelationshipStatus.ACTIVE
                if c["relationship"]["status"] == "active"
                else RelationshipStatus.EXPIRED
            )
            rows.append(
                Customer(
                    region=region,
                    tenant_id=c["tenant_id"],
                    name=c["name"],
                    default_domain=c["domain"],
                    relationship_status=status,
                )
            )
    Customer.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
    return len(rows)
