"""The GDAP access a region gives its partner groups in each customer the portal creates.

Stored on Region.new_customer_access as [{"group_id": "<guid>", "roles": ["<template id>"]}];
people read and write it as lines of "<group object id>: Role name, Role name".
"""

from __future__ import annotations

import uuid
from typing import Any

from mscloud.entra_roles import role_id, role_name


def access_template_parse(text: str) -> list[dict[str, Any]]:
    """Lines → entries. ValueError names the line and what is wrong with it."""
    entries: list[dict[str, Any]] = []
    seen: set[str] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        group, sep, roles_text = line.partition(":")
        if not sep:
            raise ValueError(
                f"Line {number}: write the group's object id, a colon, then its roles."
            )
        try:
            group_id = str(uuid.UUID(group.strip()))
        except ValueError:
            raise ValueError(
                f"Line {number}: “{group.strip()}” is not a group object id (a GUID, as the "
                "Entra admin center shows it under Groups → the group → Object ID)."
            ) from None
        if group_id in seen:
            raise ValueError(f"Line {number}: group {group_id} is listed twice.")
        seen.add(group_id)
        names = [n.strip() for n in roles_text.split(",") if n.strip()]
        if not names:
            raise ValueError(f"Line {number}: name at least one role for group {group_id}.")
        ids = []
        for name in names:
            template_id = role_id(name)
            if template_id is None:
                raise ValueError(
                    f"Line {number}: “{name}” is not an Entra role the portal knows; use the "
                    "name as the Entra admin center shows it (e.g. Directory Readers)."
                )
            if template_id not in ids:
                ids.append(template_id)
        entries.append({"group_id": group_id, "roles": ids})
    return entries


def access_template_text(entries: list[dict[str, Any]]) -> str:
    """Entries → the lines people edit."""
    return "\n".join(
        f"{e['group_id']}: {', '.join(role_name(r) for r in e.get('roles', []))}"
        for e in entries or []
    )
