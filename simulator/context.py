"""SimContext: the one object every handler receives (world, faults, log, keys, endpoints)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from simulator.config import SeedConfig
from simulator.faults import Faults
from simulator.graph.pagecache import PAGES
from simulator.reqlog import RequestLog
from simulator.signing import SigningKeys
from simulator.world import World


@dataclass
class Endpoints:
    """Base URLs the simulator serves; filled in once the ports are bound."""

    login: str = "https://127.0.0.1:9443"  # the authority host (HTTPS, token endpoints)
    browser: str = "http://127.0.0.1:9444"  # plain HTTP origin for the sign-in pages
    ca: str = ""

    @property
    def graph(self) -> str:
        return f"{self.login}/graph"

    @property
    def partner_center(self) -> str:
        return f"{self.login}/partnercenter"


@dataclass
class GrantStore:
    """Identity state that is not part of the seeded world: codes, refresh tokens, SSO."""

    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    refresh_tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    sso_sessions: dict[str, str] = field(default_factory=dict)
    # Access tokens issued before this time (per tenant id, or "*") are refused, as after a
    # revocation (continuous access evaluation): Graph answers 401 to a token MSAL still holds.
    revoked_before: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def clear(self) -> None:
        with self.lock:
            self.codes.clear()
            self.refresh_tokens.clear()
            self.sso_sessions.clear()
            self.revoked_before.clear()

    def revoked(self, tenant_id: str, issued_at: float) -> bool:
        cutoff = max(self.revoked_before.get(tenant_id, 0.0), self.revoked_before.get("*", 0.0))
        return issued_at < cutoff


class SimContext:
    """Shared state of one simulator process; handlers read it, /_sim/reset rebuilds it."""

    def __init__(
        self,
        *,
        config: SeedConfig,
        signing: SigningKeys,
        endpoints: Endpoints | None = None,
    ) -> None:
        self.config = config
        self.signing = signing
        self.endpoints = endpoints or Endpoints()
        self.faults = Faults.from_config(config)
        self.log = RequestLog()
        self.grants = GrantStore()
        self.world: World = self._build_world()

    def now(self) -> float:
        """Epoch seconds; one place so tests of time-dependent rules read the same clock."""
        return time.time()

    def _build_world(self) -> World:
        world = World.build(
            seed=self.config.seed,
            customers=self.config.customers,
            users=self.config.users,
            devices=self.config.devices,
            big_tenant_users=self.config.big_tenant_users,
            demo=self.config.demo,
        )
        # New and re-activated relationships reach a tenant after the configured delay,
        # which lives in the faults (global or per tenant) and may change at run time.
        world.propagation_delay_for = self.faults.propagation_delay
        return world

    def reset(self) -> None:
        """Restore the seed: world, faults, identity grants and the request log."""
        self.faults.reset(self.config)
        self.grants.clear()
        self.log.reset()
        self.world = self._build_world()
        # A kept page may hold what a write of the old world rendered into it.
        PAGES.clear()
