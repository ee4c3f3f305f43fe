"""Start the simulator as a subprocess on free ports and talk to its /_sim/ control API.

    with Simulator() as sim:
        sim.info()["regions"][0]["app"]["client_id"]
        sim.faults(latency_ms=50)

Used by the simulator's own tests, the portal's conftest and the benchmarks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 30.0


class SimulatorError(RuntimeError):
    """The simulator did not start, or a control call failed."""


class Simulator:
    """A running `python -m simulator serve` on free ports, stopped by `.stop()`."""

    def __init__(
        self,
        *extra_args: str,
        data_dir: str | Path | None = None,
        python: str = sys.executable,
        start: bool = True,
    ) -> None:
        self._tmp = None if data_dir else tempfile.TemporaryDirectory(prefix="sim-")
        self.data_dir = Path(data_dir or self._tmp.name)  # type: ignore[union-attr]
        self.extra_args = [str(a) for a in extra_args]
        self.python = python
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.http_port = 0
        self.ca = ""
        self.session = requests.Session()
        # This machine sets REQUESTS_CA_BUNDLE, which beats Session.verify when trust_env
        # is on; the simulator's CA must win.
        self.session.trust_env = False
        if start:
            self.start()

    @property
    def base_url(self) -> str:
        """HTTPS base: the login authority host; Graph is {base_url}/graph."""
        return f"https://127.0.0.1:{self.port}"

    @property
    def http_base(self) -> str:
        """Plain-HTTP base serving the browser sign-in pages."""
        return f"http://127.0.0.1:{self.http_port}"

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        ready_file = self.data_dir / f"ready-{os.getpid()}-{time.monotonic_ns()}.json"
        self.log_path = self.data_dir / "simulator.log"
        command = [
            self.python,
            "-m",
            "simulator",
            "serve",
            "--port",
            "0",
            "--http-port",
            "0",
            "--data-dir",
            str(self.data_dir),
            "--ready-file",
            str(ready_file),
            *self.extra_args,
        ]
        # Output goes to a file: an unread pipe would block the simulator once it fills.
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while not ready_file.exists():
            if self.process.poll() is not None:
                raise SimulatorError(f"The simulator exited at start:\n{self.log_text()}")
            if time.monotonic() > deadline:
                self.stop()
                raise SimulatorError(f"The simulator did not start in time:\n{self.log_text()}")
            time.sleep(0.05)
        ready = json.loads(ready_file.read_text())
        ready_file.unlink(missing_ok=True)
        self.port, self.http_port, self.ca = ready["port"], ready["http_port"], ready["ca"]
        self.session.verify = self.ca

    def log_text(self) -> str:
        try:
            return Path(self.log_path).read_text(errors="replace")
        except OSError:
            return ""

    def new_session(self) -> requests.Session:
        """A fresh session that trusts the simulator's CA (for MSAL's http_client)."""
        session = requests.Session()
        session.trust_env = False
        session.verify = self.ca
        return session

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        response = self.session.request(method, f"{self.base_url}{path}", json=body, timeout=10)
        if response.status_code >= 400:
            raise SimulatorError(f"{method} {path}: {response.status_code} {response.text}")
        return response.json()

    def info(self) -> dict[str, Any]:
        return self._call("GET", "/_sim/")

    def faults(self, **settings: Any) -> dict[str, Any]:
        """POST /_sim/faults (e.g. latency_ms=50, tenant=...); no arguments: GET."""
        if not settings:
            return self._call("GET", "/_sim/faults")
        return self._call("POST", "/_sim/faults", settings)

    def reset(self) -> dict[str, Any]:
        return self._call("POST", "/_sim/reset")

    def requests(self) -> dict[str, Any]:
        return self._call("GET", "/_sim/requests")

    def revoke(self, tenant_id: str | None = None, *, refresh_tokens: bool = False) -> dict:
        """Refuse access tokens issued before now (and, optionally, every refresh token)."""
        return self._call(
            "POST", "/_sim/revoke", {"tenant": tenant_id, "refresh_tokens": refresh_tokens}
        )

    def app_token(
        self, region: dict[str, Any], tenant_id: str, resource: str = "https://graph.microsoft.com"
    ) -> str:
        """A client-credentials token of a region's app, straight from the token endpoint."""
        response = self.new_session().post(
            f"{self.base_url}/{tenant_id}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": region["app"]["client_id"],
                "client_secret": region["app"]["client_secret"],
                "scope": f"{resource}/.default",
            },
            timeout=10,
        )
        if response.status_code != 200:
            raise SimulatorError(f"token for {tenant_id}: {response.status_code} {response.text}")
        return response.json()["access_token"]

    def accept_invitation(self, tenant_id: str) -> dict[str, Any]:
        return self._call("POST", f"/_sim/customers/{tenant_id}/accept-invitation")

    def consent(self, tenant_id: str, **state: Any) -> dict[str, Any]:
        """The app's consent in a customer (consented=False, scopes=[...]); the customer back."""
        return self._call("POST", f"/_sim/customers/{tenant_id}/consent", state)

    def relationship(self, tenant_id: str, **changes: Any) -> dict[str, Any]:
        """Change a customer's relationship (type=, status=, roles=[role names])."""
        return self._call("POST", f"/_sim/customers/{tenant_id}/relationship", changes)

    def size(self, tenant_id: str, **sizes: int) -> dict[str, Any]:
        """Resize a customer's generated directory (users=, devices=); the customer back."""
        return self._call("POST", f"/_sim/customers/{tenant_id}/size", sizes)

    def agent_groups(self, username: str, groups: list[str]) -> dict[str, Any]:
        """Set an agent's partner security groups by name; the agent back."""
        return self._call("POST", f"/_sim/agents/{username}/groups", {"groups": groups})

    def agent_roles(self, username: str, roles: list[str]) -> dict[str, Any]:
        """Set an agent's app roles on the portal's app (["Portal.Agent"], [] for none)."""
        return self._call("POST", f"/_sim/agents/{username}/roles", {"roles": roles})

    def agent_revoke(self, username: str) -> dict[str, Any]:
        """Revoke one agent's refresh tokens and SSO sessions (revokeSignInSessions)."""
        return self._call("POST", f"/_sim/agents/{username}/revoke")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None
        self.session.close()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Simulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
