"""SeedConfig: the start-up settings that rebuild the world and the faults (for /_sim/reset).

Its own module so that the context and the faults both depend on it, not on each other.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class SeedConfig:
    """Everything needed to rebuild the world exactly as it was at start (for /_sim/reset)."""

    seed: int = 1
    customers: int = 8
    users: int = 25
    devices: int = 20
    big_tenant_users: int = 0
    demo: bool = False  # World.DEMO_SIZES: a few customers a real partner has
    latency_ms: int = 0
    propagation_delay: float = 180.0
    throttle: str | None = None
