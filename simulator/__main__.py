"""`python -m simulator serve [flags]`: the fake Microsoft cloud for demo, tests, benchmarks."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path

from simulator.app import create_apps
from simulator.certs import ensure_certificates
from simulator.config import SeedConfig
from simulator.context import Endpoints, SimContext
from simulator.faults import FaultConfigError, parse_throttle
from simulator.server import SimServer, start, tls_context
from simulator.signing import SigningKeys

WILDCARDS = ("0.0.0.0", "::", "")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve Entra ID, Graph and Partner Center")
    serve.add_argument("--port", type=int, default=9443, help="HTTPS port (0: pick a free one)")
    serve.add_argument("--http-port", type=int, default=9444, help="plain HTTP port for sign-in")
    serve.add_argument("--bind", default="127.0.0.1", help="address to listen on (loopback)")
    serve.add_argument(
        "--public-host",
        default=None,
        help="host name clients use in URLs (default: the bind address, or 127.0.0.1)",
    )
    serve.add_argument("--data-dir", default=".data/simulator", help="CA, certs, signing key")
    serve.add_argument("--seed", type=int, default=1)
    serve.add_argument("--customers", type=int, default=8, help="customers per region")
    serve.add_argument("--users", type=int, default=25, help="users per customer")
    serve.add_argument("--devices", type=int, default=20, help="devices per customer")
    serve.add_argument("--big-tenant-users", type=int, default=0, help="users of one US tenant")
    serve.add_argument(
        "--demo",
        action="store_true",
        help="resize a few customers of each region as a real partner's (World.DEMO_SIZES)",
    )
    serve.add_argument("--latency-ms", type=int, default=0)
    serve.add_argument("--propagation-delay", type=float, default=180.0, help="seconds")
    serve.add_argument("--throttle", default=None, help="LIMIT/WINDOW per app+tenant, e.g. 100/10")
    serve.add_argument("--ready-file", default=None, help="write the ready JSON line here too")
    return parser


def serve(args: argparse.Namespace) -> int:
    try:
        parse_throttle(args.throttle)
    except FaultConfigError as exc:
        print(f"--throttle: {exc}", file=sys.stderr)
        return 2
    data_dir = Path(args.data_dir).resolve()
    host = args.public_host or ("127.0.0.1" if args.bind in WILDCARDS else args.bind)
    paths = ensure_certificates(data_dir, extra_hosts=(host,))
    config = SeedConfig(
        seed=args.seed,
        customers=args.customers,
        users=args.users,
        devices=args.devices,
        big_tenant_users=args.big_tenant_users,
        demo=args.demo,
        latency_ms=args.latency_ms,
        propagation_delay=args.propagation_delay,
        throttle=args.throttle,
    )
    ctx = SimContext(config=config, signing=SigningKeys.load_or_create(data_dir))
    https_app, http_app = create_apps(ctx)
    https = SimServer(args.bind, args.port, https_app, tls_context(str(paths.cert), str(paths.key)))
    http = SimServer(args.bind, args.http_port, http_app, tls=None)
    url_host = f"[{host}]" if ":" in host else host
    ctx.endpoints = Endpoints(
        login=f"https://{url_host}:{https.port}",
        browser=f"http://{url_host}:{http.port}",
        ca=str(paths.ca),
    )
    start(https, "https")
    start(http, "http")

    ready = json.dumps(
        {"ready": True, "port": https.port, "http_port": http.port, "ca": str(paths.ca)}
    )
    if args.ready_file:
        # Write then rename, so a reader never sees half a line.
        target = Path(args.ready_file)
        partial = target.with_name(target.name + ".tmp")
        partial.write_text(ready + "\n")
        os.replace(partial, target)
    print(ready, flush=True)

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    https.shutdown()
    http.shutdown()
    https.server_close()
    http.server_close()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
