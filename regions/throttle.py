"""Microsoft's request budgets per (app, tenant), spent by every process through Redis.

Intune counts requests per app per tenant and service — its device service 2,000 per 20 s,
device configuration (policy states) 1,000, writes 200 — and every worker of a sweep, every
bulk run and every web process spends the same budget, because they all call with the
region's one app. So the budget is a token bucket in Redis, taken atomically by a Lua
script (the clock is Redis's, so processes on different machines agree), and a Retry-After
one process is given holds every other process's calls of that budget until it passes.

Background work (sweeps, bulk runs, tasks: `background=True`) may spend only
GRAPH_BACKGROUND_SHARE of a budget, so an agent's page never queues behind a sweep. Calls
outside the modelled budgets (the directory: resource units, not counted here) still share
Retry-After. Without Redis (the single-process demo), or when Redis fails, each process
keeps its own buckets: slower to agree, never a failed call.

The gate is given to every Graph client by regions.clients; nobody else paces Graph.
# Reference: https://learn.microsoft.com/graph/throttling-limits#intune-service-limits
# Reference: https://learn.microsoft.com/graph/throttling#best-practices-to-handle-throttling
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import redis
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from mscloud.pacing import Call, TokenBucket

log = logging.getLogger(__name__)

INTUNE_DEVICES = "intune-devices"
INTUNE_CONFIGURATION = "intune-configuration"
INTUNE_WRITES = "intune-writes"
GRAPH = "graph"  # everything else: no count, Retry-After shared
_CONFIGURATION_PATHS = (
    "/devicemanagement/devicecompliancepolic",
    "/devicemanagement/deviceconfiguration",
)


def budget_of(call: Call) -> str:
    """Which of Microsoft's budgets a call spends."""
    method, path = call
    path = path.lower()
    if not path.startswith("/devicemanagement/"):
        return GRAPH
    if method != "GET":
        return INTUNE_WRITES
    if path.startswith(_CONFIGURATION_PATHS) or "/devicecompliancepolicystates" in path:
        return INTUNE_CONFIGURATION
    return INTUNE_DEVICES


@dataclass(frozen=True)
class Budget:
    limit: int
    window: float

    @property
    def rate(self) -> float:
        return self.limit / self.window


def budgets() -> Mapping[str, Budget]:
    """The configured budgets (GRAPH_BUDGETS: name -> "LIMIT/WINDOW seconds"), parsed once
    per configuration, not on every call admitted (read-only: every caller shares it)."""
    return _budgets_parsed(tuple(sorted(settings.GRAPH_BUDGETS.items())))


@functools.lru_cache(maxsize=8)
def _budgets_parsed(specs: tuple[tuple[str, str], ...]) -> Mapping[str, Budget]:
    found = {}
    for name, spec in specs:
        try:
            limit, window = str(spec).split("/")
            budget = Budget(int(limit), float(window))
        except ValueError:
            budget = None
        if budget is None or budget.limit < 1 or budget.window <= 0:
            raise ImproperlyConfigured(
                f"GRAPH_BUDGETS[{name!r}] must be LIMIT/SECONDS such as 2000/20, not {spec!r}"
            )
        found[name] = budget
    return MappingProxyType(found)


# KEYS: per budget its bucket then its hold. ARGV: per budget capacity, rate, cost, reserve
# (capacity 0: hold only). Returns 0 when every cost was taken, else milliseconds to wait
# (nothing taken). Redis's own clock: every process and machine sees the same time.
_ADMIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local n = #KEYS / 2
local wait = 0
local level = {}
for i = 1, n do
  local held = redis.call('PTTL', KEYS[2 * i])
  if held > wait then wait = held end
  local cap = tonumber(ARGV[4 * i - 3])
  if cap > 0 then
    local rate = tonumber(ARGV[4 * i - 2])
    local need = tonumber(ARGV[4 * i - 1]) + tonumber(ARGV[4 * i])
    local b = redis.call('HMGET', KEYS[2 * i - 1], 't', 'at')
    local tokens = tonumber(b[1]) or cap
    local at = tonumber(b[2]) or now
    tokens = math.min(cap, tokens + math.max(0, now - at) * rate)
    level[i] = tokens
    if tokens < need then
      local ms = math.ceil((need - tokens) / rate * 1000)
      if ms > wait then wait = ms end
    end
  end
end
if wait > 0 then return wait end
for i = 1, n do
  local cap = tonumber(ARGV[4 * i - 3])
  if cap > 0 then
    local rate = tonumber(ARGV[4 * i - 2])
    local left = level[i] - tonumber(ARGV[4 * i - 1])
    redis.call('HSET', KEYS[2 * i - 1], 't', tostring(left), 'at', tostring(now))
    redis.call('PEXPIRE', KEYS[2 * i - 1], math.ceil(cap / rate * 1000) + 1000)
  end
end
return 0
"""

# KEYS: holds. ARGV[1]: milliseconds. A hold only ever grows.
_HOLD = """
for i = 1, #KEYS do
  if redis.call('PTTL', KEYS[i]) < tonumber(ARGV[1]) then
    redis.call('SET', KEYS[i], '1', 'PX', ARGV[1])
  end
end
return 0
"""

_PREFIX = "portal:graph-budget"
_lock = threading.Lock()
_client: list[redis.Redis | None] = []
_local_buckets: dict[tuple[str, str, str], TokenBucket] = {}
_local_holds: dict[tuple[str, str, str], float] = {}
_redis_failed_at: list[float] = [float("-inf")]


def _redis() -> redis.Redis | None:
    """One client per process (redis-py reconnects after a fork); None without Redis."""
    with _lock:
        if not _client:
            url = settings.REDIS_URL
            _client.append(redis.Redis.from_url(url, socket_timeout=2) if url else None)
        return _client[0]


class SharedGate:
    """The gate (mscloud.pacing.Gate) of one (app, tenant): budgets in Redis."""

    def __init__(
        self,
        *,
        app_id: str,
        tenant_id: str,
        background: bool,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.app_id, self.tenant_id = str(app_id).lower(), str(tenant_id).lower()
        self.background = background
        self._sleep = sleep

    def admit(self, calls: Sequence[Call], *, max_wait: float) -> float | None:
        costs = Counter(budget_of(c) for c in calls)
        deadline = time.monotonic() + max_wait
        while True:
            wait = self._try(costs)
            if wait <= 0:
                return None
            if time.monotonic() + wait > deadline:
                return wait
            self._sleep(wait)

    def hold(self, calls: Sequence[Call], seconds: float) -> None:
        if seconds <= 0:
            return
        names = sorted({budget_of(c) for c in calls})
        client = _redis()
        if client is not None:
            try:
                client.eval(_HOLD, len(names), *[self._key("hold", n) for n in names], _ms(seconds))
                return
            except redis.RedisError as exc:
                _redis_failed(exc)
        until = time.monotonic() + seconds
        with _lock:
            for name in names:
                key = (name, self.app_id, self.tenant_id)
                _local_holds[key] = max(_local_holds.get(key, 0.0), until)

    # -- plumbing -------------------------------------------------------------------------------

    def _key(self, kind: str, budget: str) -> str:
        # One hash slot per (app, tenant): a script's keys must share one in a Redis cluster.
        return f"{_PREFIX}:{kind}:{{{self.app_id}:{self.tenant_id}}}:{budget}"

    def _spend(self, budget: Budget | None, cost: int) -> tuple[float, float]:
        """(cost, reserve) in tokens: background work leaves the agents' share untouched."""
        if budget is None:
            return 0, 0
        reserve = budget.limit * (1 - settings.GRAPH_BACKGROUND_SHARE) if self.background else 0
        # A $batch costs at most what the bucket can ever hold, or it would wait forever.
        return min(cost, max(1.0, budget.limit - reserve)), reserve

    def _try(self, costs: Counter[str]) -> float:
        """0 when `costs` were taken; else seconds to wait (nothing taken)."""
        known = budgets()
        client = _redis()
        if client is not None and time.monotonic() - _redis_failed_at[0] > 30:
            keys: list[str] = []
            args: list[float | int] = []
            for name, cost in sorted(costs.items()):
                budget = known.get(name)
                spend, reserve = self._spend(budget, cost)
                keys += [self._key("budget", name), self._key("hold", name)]
                args += [budget.limit if budget else 0, budget.rate if budget else 0]
                args += [spend, reserve]
            try:
                return int(client.eval(_ADMIT, len(keys), *keys, *args)) / 1000
            except redis.RedisError as exc:
                _redis_failed(exc)
        return self._try_locally(costs, known)

    def _try_locally(self, costs: Counter[str], known: dict[str, Budget]) -> float:
        now = time.monotonic()
        wait = 0.0
        with _lock:
            for name in costs:
                held = _local_holds.get((name, self.app_id, self.tenant_id), 0.0)
                wait = max(wait, held - now)
        if wait > 0:
            return wait
        for name, cost in sorted(costs.items()):
            budget = known.get(name)
            if budget is None:
                continue
            key = (name, self.app_id, self.tenant_id)
            with _lock:
                bucket = _local_buckets.get(key)
                if bucket is None:
                    bucket = _local_buckets[key] = TokenBucket(
                        limit=budget.limit, window=budget.window
                    )
            spend, reserve = self._spend(budget, cost)
            wait = max(wait, bucket.wait_for(spend, reserve=reserve))
        return wait


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000 + 0.999))


def _redis_failed(exc: Exception) -> None:
    # Pacing must never fail a call: this process keeps its own buckets for 30 s.
    with _lock:
        first = time.monotonic() - _redis_failed_at[0] > 30
        _redis_failed_at[0] = time.monotonic()
    if first:
        log.warning("Graph budgets: Redis failed (%s); pacing in this process only", exc)


def forget_all() -> None:
    """Forget every budget and hold, in Redis and in this process (tests: the simulator's
    world is reset, and with it what Microsoft remembers of the calls)."""
    client = _redis()
    if client is not None:
        keys = list(client.scan_iter(match=f"{_PREFIX}:*", count=1000))
        if keys:
            client.delete(*keys)
    reset_local()


def reset_local() -> None:
    """Forget this process's fallback buckets and holds (tests)."""
    with _lock:
        _local_buckets.clear()
        _local_holds.clear()
        _client.clear()
        _redis_failed_at[0] = float("-inf")
