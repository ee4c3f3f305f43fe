"""Microsoft's enum values as people read them, one table per kind, and the one way the
portal's tables write a time and a percentage (on screen and in CSV alike).

A value a table does not know is shown as Microsoft sent it: a new enum member stays visible.
# Reference: https://learn.microsoft.com/graph/api/resources/intune-devices-manageddevice
# Reference: https://learn.microsoft.com/graph/api/resources/device (trustType)
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.utils.dateparse import parse_datetime

LABELS: dict[str, dict[str, str]] = {
    # managedDevice.complianceState (complianceState enum)
    "compliance": {
        "compliant": "Compliant",
        "noncompliant": "Noncompliant",
        "inGracePeriod": "In grace period",
        "unknown": "Unknown",
        "conflict": "Conflict",
        "error": "Error",
        "configManager": "Managed by Configuration Manager",
    },
    # device.trustType: how the device is joined to Entra ID
    "trust_type": {
        "AzureAd": "Entra joined",
        "ServerAd": "Hybrid joined",
        "Workplace": "Entra registered",
    },
    # managedDevice.managedDeviceOwnerType
    "owner_type": {"company": "Corporate", "personal": "Personal", "unknown": "Unknown"},
    # operating systems and platforms as Graph and Intune spell them
    "os": {
        "androidWorkProfile": "Android (work profile)",
        "androidForWork": "Android (work profile)",
        "androidEnterprise": "Android Enterprise",
        "android": "Android",
        "Android": "Android",
        "iOS": "iOS/iPadOS",
        "IPhone": "iOS",
        "IPad": "iPadOS",
        "macOS": "macOS",
        "MacMDM": "macOS",
        "Windows": "Windows",
        "windows": "Windows",
        "linux": "Linux",
        "Linux": "Linux",
    },
    # group kinds (from groupTypes / securityEnabled)
    "group_kind": {
        "unified": "Microsoft 365",
        "security": "Security",
        "distribution": "Distribution",
    },
}

# Badge colours of the compliance states: the compliance charts' colours
# (static/js/compliance.js STATE_COLOURS), as classes of static/css/tables.css.
STATE_BADGES = {
    "compliant": "badge-state-compliant",
    "noncompliant": "badge-state-noncompliant",
    "inGracePeriod": "badge-state-inGracePeriod",
    "unknown": "badge-state-unknown",
    "conflict": "badge-state-conflict",
    "error": "badge-state-error",
    "configManager": "badge-state-configManager",
}


def label(kind: str, value: object) -> str:
    """`value` of the enum `kind` as a person reads it; unknown values as they are."""
    if value is None or value == "":
        return ""
    return LABELS.get(kind, {}).get(str(value), str(value))


def as_datetime(value: object) -> datetime | None:
    """A datetime, or Graph's ISO 8601 text, as an aware datetime; None for "never"
    (Graph writes 0001-01-01 for it) and for anything else."""
    if isinstance(value, str) and value:
        value = parse_datetime(value)
    if not isinstance(value, datetime) or value.year <= 1:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def when(value: object) -> str:
    """The tables' one date format: "2026-12-02 07:03 UTC"."""
    moment = as_datetime(value)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else ""


def iso(value: object) -> str:
    """For CSV: ISO 8601 in UTC without microseconds ("2026-12-02T07:03:41+00:00")."""
    moment = as_datetime(value)
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment else ""


def percent(rate: float | None) -> str:
    """A rate (0..1) as the tables show it: "91.2%"; "" when there is none."""
    if rate is None:
        return ""
    return f"{100 * rate:.1f}%"
