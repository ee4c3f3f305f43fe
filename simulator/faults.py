"""Injected faults: latency, jitter, random 5xx, throttling, propagation, token lifetime.

Every setting has a global value and optional per-tenant overrides; `get(name, tenant_id)`
answers the effective value for one tenant.
"""

from __future__ import annotations

import math
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

from simulator.config import SeedConfig

PROPAGATION_MODES = ("aadsts", "no_roles")

_DEFAULTS: dict[str, Any] = {
    "latency_ms": 0,
    "jitter_ms": 0,
    "throttle": None,  # {"limit": n, "window": seconds} per app+tenant, or None
    # Graph's global limit per app across all tenants; None: Microsoft's (GRAPH_GLOBAL_LIMIT).
    # Always on; a lower {"limit", "window"} shows it in tests. Global only, never per tenant.
    "global_limit": None,
    # Intune's own limits; None: Microsoft's published numbers (INTUNE_LIMITS). A dict of
    # some of INTUNE_LIMIT_KEYS replaces those numbers for every Intune service.
    "intune_limits": None,
    "error_rate": 0.0,
    "propagation_delay": 180.0,
    "propagation_mode": "aadsts",
    # Seconds an access token lives; None: Entra's default, random in 60-90 minutes.
    "token_lifetime": None,
    "interaction_required": False,
    # Access tokens the client cannot read (Microsoft may encrypt Graph's): not a JWT.
    "opaque_access_tokens": False,
    # A mis-issued ID token: this tid instead of the tenant's own, to test a relying party's
    # tid check (the token endpoint of a confused or hostile authority).
    "id_token_tid": None,
    # A replayed or forged ID token: this nonce instead of the one the client sent.
    "id_token_nonce": None,
}


# Microsoft's published Intune limits, per Intune service: each service counts its own
# requests, writes (POST, PUT, PATCH, DELETE) apart from all requests, per tenant across all
# apps and per app per tenant. Managed devices and their overview are "Intune devices";
# compliance policies and their state summary "Intune device configuration".
# Reference: https://learn.microsoft.com/graph/throttling-limits#intune-service-limits
INTUNE_WINDOW = 20.0
INTUNE_LIMITS: dict[str, dict[str, float]] = {
    "devices": {
        "window": INTUNE_WINDOW,
        "write_tenant": 400,
        "write_app": 200,
        "any_tenant": 4000,
        "any_app": 2000,
    },
    "device_configuration": {
        "window": INTUNE_WINDOW,
        "write_tenant": 200,
        "write_app": 100,
        "any_tenant": 2000,
        "any_app": 1000,
    },
}
INTUNE_LIMIT_KEYS = ("window", "write_tenant", "write_app", "any_tenant", "any_app")

# Graph's global limit, over every service: any request, per app across all tenants.
# Reference: https://learn.microsoft.com/graph/throttling-limits
GRAPH_GLOBAL_LIMIT: dict[str, float] = {"limit": 130_000, "window": 10.0}
# Settings that count across tenants, so a per-tenant override would mean nothing.
GLOBAL_ONLY = frozenset({"global_limit"})


class FaultConfigError(ValueError):
    """A POST /_sim/faults body the simulator cannot apply; the message says which key."""


def parse_throttle(spec: str | None) -> dict[str, float] | None:
    """`LIMIT/WINDOW` (e.g. `100/10`) from the command line."""
    if not spec:
        return None
    limit, _, window = spec.partition("/")
    return _check_throttle({"limit": limit, "window": window or 1})


def _check_throttle(value: Any) -> dict[str, float] | None:
    if value is None:
        return None
    try:
        limit, window = int(value["limit"]), float(value["window"])
    except (KeyError, TypeError, ValueError) as exc:
        raise FaultConfigError('throttle must be {"limit": n, "window": seconds}.') from exc
    if limit < 1 or window <= 0:
        raise FaultConfigError("throttle limit must be >= 1 and window > 0.")
    return {"limit": limit, "window": window}


def _check_global_limit(value: Any) -> dict[str, float] | None:
    """None (Microsoft's 130,000 per 10 s) or {"limit": n, "window": seconds}."""
    if value is None:
        return None
    try:
        return _check_throttle(value)
    except FaultConfigError as exc:
        raise FaultConfigError(str(exc).replace("throttle", "global_limit")) from exc


def _check_intune_limits(value: Any) -> dict[str, float] | None:
    """None (Microsoft's numbers) or some of INTUNE_LIMIT_KEYS: a window in seconds > 0,
    limits as whole numbers >= 1."""
    if value is None:
        return None
    if not isinstance(value, dict) or not value:
        raise FaultConfigError(
            f"intune_limits must be null or an object with some of {', '.join(INTUNE_LIMIT_KEYS)}."
        )
    cleaned: dict[str, float] = {}
    for key, number in value.items():
        if key not in INTUNE_LIMIT_KEYS:
            raise FaultConfigError(
                f"Unknown intune_limits key {key!r}; known: {', '.join(INTUNE_LIMIT_KEYS)}."
            )
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise FaultConfigError(f"intune_limits {key} must be a number, not {number!r}.")
        if key == "window":
            if number <= 0:
                raise FaultConfigError("intune_limits window must be > 0 seconds.")
            cleaned[key] = float(number)
        else:
            if number != int(number) or number < 1:
                raise FaultConfigError(f"intune_limits {key} must be a whole number >= 1.")
            cleaned[key] = int(number)
    return cleaned


def _non_negative_int(value: Any) -> int:
    number = int(value)
    if number < 0 or isinstance(value, bool):
        raise ValueError
    return number


def _positive_int(value: Any) -> int:
    number = _non_negative_int(value)
    if number < 1:
        raise ValueError
    return number


def _positive_int_or_none(value: Any) -> int | None:
    return None if value is None else _positive_int(value)


def _non_negative_float(value: Any) -> float:
    number = float(value)
    if number < 0 or isinstance(value, bool):
        raise ValueError
    return number


def _rate(value: Any) -> float:
    number = _non_negative_float(value)
    if number > 1:
        raise ValueError
    return number


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError
    return value


def _tenant_id_or_none(value: Any) -> str | None:
    if value is None:
        return None
    return str(uuid.UUID(str(value)))


def _text_or_none(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ValueError
    return value


def _mode(value: Any) -> str:
    if value not in PROPAGATION_MODES:
        raise ValueError
    return str(value)


_VALIDATORS: dict[str, Callable[[Any], Any]] = {
    "latency_ms": _non_negative_int,
    "jitter_ms": _non_negative_int,
    "throttle": _check_throttle,
    "global_limit": _check_global_limit,
    "intune_limits": _check_intune_limits,
    "error_rate": _rate,
    "propagation_delay": _non_negative_float,
    "propagation_mode": _mode,
    "token_lifetime": _positive_int_or_none,
    "interaction_required": _flag,
    "opaque_access_tokens": _flag,
    "id_token_tid": _tenant_id_or_none,
    "id_token_nonce": _text_or_none,
}


def _validate_name(name: str) -> None:
    if name not in _VALIDATORS:
        raise FaultConfigError(f"Unknown fault setting {name!r}.")


def _validate(name: str, value: Any) -> Any:
    _validate_name(name)
    try:
        return _VALIDATORS[name](value)
    except FaultConfigError:
        raise  # already says what is wrong
    except (TypeError, ValueError) as exc:
        raise FaultConfigError(f"Invalid value for {name}: {value!r}.") from exc


class Faults:
    """Fault settings plus the throttle windows they drive; thread-safe."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self._lock = threading.Lock()
        self._global = dict(settings)
        self._tenants: dict[str, dict[str, Any]] = {}
        # Sliding windows of `throttle` (kind, app, tenant) and of Intune's limits (service,
        # kind, tenant, app or ""), one deque of accepted requests' times each.
        self._windows: dict[tuple[str, ...], deque[float]] = {}
        self._random = random.Random()

    @classmethod
    def from_config(cls, config: SeedConfig) -> Faults:
        return cls(cls._seed_settings(config))

    @staticmethod
    def _seed_settings(config: SeedConfig) -> dict[str, Any]:
        return dict(
            _DEFAULTS,
            latency_ms=config.latency_ms,
            propagation_delay=float(config.propagation_delay),
            throttle=parse_throttle(config.throttle),
        )

    def reset(self, config: SeedConfig) -> None:
        with self._lock:
            self._global = self._seed_settings(config)
            self._tenants.clear()
            self._windows.clear()

    def update(self, changes: dict[str, Any], tenant_id: str | None = None) -> None:
        """Apply a POST /_sim/faults body.

        Per tenant, a null value removes that tenant's override (the global value applies
        again). Globally, `"throttle": null` turns throttling off, `"intune_limits": null`
        restores Microsoft's Intune limits and `"global_limit": null` Graph's global limit
        (neither is ever off). `global_limit` counts across tenants: it has no per-tenant value.
        """
        across = sorted(GLOBAL_ONLY & set(changes))
        if tenant_id is not None and across:
            raise FaultConfigError(f"{across[0]} counts across all tenants: set it globally.")
        removed = {name for name, value in changes.items() if tenant_id and value is None}
        for name in removed:
            _validate_name(name)
        cleaned = {
            name: _validate(name, value) for name, value in changes.items() if name not in removed
        }
        with self._lock:
            if tenant_id is None:
                self._global.update(cleaned)
                return
            overrides = self._tenants.setdefault(tenant_id, {})
            overrides.update(cleaned)
            for name in removed:
                overrides.pop(name, None)
            if not overrides:
                del self._tenants[tenant_id]

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "global": dict(self._global),
                "tenants": {tid: dict(values) for tid, values in self._tenants.items()},
            }

    def get(self, name: str, tenant_id: str | None = None) -> Any:
        with self._lock:
            if tenant_id is not None:
                overrides = self._tenants.get(tenant_id)
                if overrides is not None and name in overrides:
                    return overrides[name]
            return self._global[name]

    def propagation_delay(self, tenant_id: str | None = None) -> float:
        return float(self.get("propagation_delay", tenant_id))

    def propagation_mode(self, tenant_id: str | None = None) -> str:
        return str(self.get("propagation_mode", tenant_id))

    def token_lifetime(self, tenant_id: str | None = None) -> int | None:
        """The configured lifetime, or None for Entra's random default."""
        value = self.get("token_lifetime", tenant_id)
        return None if value is None else int(value)

    def opaque_access_tokens(self, tenant_id: str | None = None) -> bool:
        return bool(self.get("opaque_access_tokens", tenant_id))

    def interaction_required(self, tenant_id: str | None = None) -> bool:
        return bool(self.get("interaction_required", tenant_id))

    def delay_seconds(self, tenant_id: str | None = None) -> float:
        """Latency plus random jitter for one request."""
        latency = self.get("latency_ms", tenant_id)
        jitter = self.get("jitter_ms", tenant_id)
        extra = self._random.uniform(0, jitter) if jitter else 0.0
        return (latency + extra) / 1000.0

    def should_fail(self, tenant_id: str | None = None) -> bool:
        rate = self.get("error_rate", tenant_id)
        return rate > 0 and self._random.random() < rate

    def throttle(self, app_id: str, tenant_id: str, kind: str = "graph") -> float | None:
        """Count one request in the app+tenant window; Retry-After seconds when over limit."""
        setting = self.get("throttle", tenant_id)
        if not setting:
            return None
        key = (kind, app_id.lower(), tenant_id.lower())
        return self._take([(key, int(setting["limit"]))], window=float(setting["window"]))

    def global_limit(self) -> dict[str, float]:
        """Graph's limit per app across all tenants now: Microsoft's, or the override."""
        return dict(self.get("global_limit") or GRAPH_GLOBAL_LIMIT)

    def graph_global(self, app_id: str) -> float | None:
        """Count one Graph request of this app, whatever the tenant; Retry-After seconds when
        the app's window across all tenants is full (the request is then not counted)."""
        limit = self.global_limit()
        key = ("graph-global", app_id.lower())
        return self._take([(key, int(limit["limit"]))], window=float(limit["window"]))

    def intune_limits(self, service: str, tenant_id: str | None = None) -> dict[str, float]:
        """The limits of one Intune service in this tenant: Microsoft's, or the override."""
        override = self.get("intune_limits", tenant_id) or {}
        return {**INTUNE_LIMITS[service], **override}

    def intune_request(
        self, service: str, app_id: str, tenant_id: str, *, write: bool
    ) -> float | None:
        """Count one request to an Intune service in every window it falls in; Retry-After
        seconds (until the fullest window has room again) when any of them is full.

        A refused request is counted in none of them, as `throttle` does."""
        limits = self.intune_limits(service, tenant_id)
        window = limits["window"]
        tenant, app = tenant_id.lower(), app_id.lower()
        kinds = ("write", "any") if write else ("any",)
        checks = [
            ((service, kind, tenant, scope), int(limits[f"{kind}_{name}"]))
            for kind in kinds
            for name, scope in (("tenant", ""), ("app", app))
        ]
        return self._take(checks, window=window)

    def _take(self, checks: list[tuple[tuple[str, ...], int]], *, window: float) -> float | None:
        """Count one request in each sliding window `checks` names (key, limit), all or none:
        None when every window has room, else Retry-After seconds until the fullest has."""
        now = time.monotonic()
        cutoff = now - window
        with self._lock:
            waits: list[float] = []
            windows: list[deque[float]] = []
            for key, limit in checks:
                # The timestamps of the requests accepted in the last `window` seconds.
                stamps = self._windows.setdefault(key, deque())
                while stamps and stamps[0] <= cutoff:
                    stamps.popleft()
                if len(stamps) >= limit:
                    # Room again once all but limit - 1 of the counted requests are older
                    # than the window (a limit lowered at run time may leave more than limit).
                    waits.append(stamps[len(stamps) - limit] + window - now)
                windows.append(stamps)
            if waits:
                return float(max(1, math.ceil(max(waits))))
            for stamps in windows:
                stamps.append(now)
        return None
