"""Template filters of the portal's tables: readable enum labels, the one date format, the
percentage, the compliance badge colours (portal/labels.py holds the tables)."""

from django import template

from portal import labels

register = template.Library()


@register.filter
def label(value: object, kind: str) -> str:
    """{{ d.trustType|label:"trust_type" }} -> "Entra joined"."""
    return labels.label(kind, value)


@register.filter
def when(value: object) -> str:
    """{{ d.lastSyncDateTime|when }} -> "2026-12-02 07:03 UTC" ("" for never)."""
    return labels.when(value)


@register.filter
def percent(rate: float | None) -> str:
    return labels.percent(rate)


@register.filter
def state_badge(state: object) -> str:
    """The badge class of a compliance state, in the compliance charts' colour."""
    return labels.STATE_BADGES.get(str(state or "unknown"), "badge-state-unknown")


@register.filter
def get(mapping: object, key: str) -> object:
    """{{ row|get:column.key }}: a row's value for a column."""
    if isinstance(mapping, dict):
        return mapping.get(key)
    return getattr(mapping, key, None)
