"""Counting Intune managed devices: per compliance state, per operating system, stale ones.

Shared by the background sweep and the one-customer page so both count the same way.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.utils.dateparse import parse_datetime

from compliance.models import STATE_FIELDS

# What the sweep asks Graph for: what it counts, and what the noncompliant devices list shows.
SWEEP_FIELDS = "id,complianceState,operatingSystem,lastSyncDateTime,deviceName,userPrincipalName"
# Noncompliant devices kept per customer and sweep for the cross-customer list (the counts
# cover every device).
NONCOMPLIANT_KEPT = 2000
COMPLIANCE_STATES = tuple(STATE_FIELDS)


@dataclass
class Tally:
    states: Counter[str] = field(default_factory=Counter)
    systems: Counter[str] = field(default_factory=Counter)
    total: int = 0
    stale: int = 0
    # The noncompliant devices, as the sweep read them (at most NONCOMPLIANT_KEPT).
    noncompliant: list[dict] = field(default_factory=list)

    def add(self, device: dict, *, stale_before: datetime) -> bool:
        """Count one device; True if it has not synced since `stale_before`."""
        self.total += 1
        state = device.get("complianceState") or "unknown"
        self.states[state if state in STATE_FIELDS else "unknown"] += 1
        if state == "noncompliant" and len(self.noncompliant) < NONCOMPLIANT_KEPT:
            self.noncompliant.append(device)
        self.systems[device.get("operatingSystem") or "Unknown"] += 1
        stale = device_is_stale(device, stale_before=stale_before)
        self.stale += stale
        return stale

    @property
    def compliance_rate(self) -> float | None:
        return self.states["compliant"] / self.total if self.total else None

    def snapshot_fields(self) -> dict[str, object]:
        """Column values for a ComplianceSnapshot."""
        values: dict[str, object] = {
            column: self.states.get(state, 0) for state, column in STATE_FIELDS.items()
        }
        values.update(
            device_total=self.total,
            stale=self.stale,
            os_counts=dict(sorted(self.systems.items())),
            compliance_rate=self.compliance_rate,
        )
        return values


def device_is_stale(device: dict, *, stale_before: datetime) -> bool:
    """No check-in since `stale_before` (a device that never synced is stale too)."""
    raw = device.get("lastSyncDateTime")
    synced = parse_datetime(raw) if isinstance(raw, str) else None
    # Intune reports "0001-01-01T00:00:00Z" for a device that never checked in.
    return synced is None or synced < stale_before


def tally_devices(devices: Iterable[dict], *, stale_before: datetime) -> Tally:
    tally = Tally()
    for device in devices:
        tally.add(device, stale_before=stale_before)
    return tally


def graph_time(value: object) -> datetime | None:
    """A Graph date-time property as a datetime; None for missing, bad or 0001-01-01 (never)."""
    parsed = parse_datetime(value) if isinstance(value, str) else None
    return parsed if parsed is not None and parsed.year > 1 else None
