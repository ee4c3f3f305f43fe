"""Before/after of an audited write: which fields changed, from a declared list of fields.

After HackSoft's `model_update`: the service names the fields it audits once; the log entry
is whatever differs between two snapshots, so nobody keeps a field list by hand per write.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping
from datetime import date, datetime
from typing import Any

from django.db import models

MASK = "***"


def _plain(value: Any) -> Any:
    # The audit detail is JSON: keep values an auditor can read and compare as text.
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def field_snapshot(instance: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """The JSON-ready values of these attributes of `instance`."""
    return {name: _plain(getattr(instance, name)) for name in fields}


def field_changes(
    before: Mapping[str, Any], after: Mapping[str, Any], *, masked: Collection[str] = ()
) -> dict[str, list[Any]]:
    """`{field: [old, new]}` for each field whose value differs; `masked` fields show only
    whether they were set (a secret's change is worth logging, its value never)."""
    changed: dict[str, list[Any]] = {}
    for key, new in after.items():
        old = before.get(key)
        if old == new:
            continue
        if key in masked:
            changed[key] = [MASK if old else None, MASK if new else None]
        else:
            changed[key] = [old, new]
    return changed
