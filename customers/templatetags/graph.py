"""Template filters for values as Microsoft Graph returns them."""

import uuid
from datetime import datetime

from django import template
from django.utils.dateparse import parse_datetime

from mscloud.entra_roles import role_name as _role_name

register = template.Library()


@register.filter
def graph_datetime(value: object) -> datetime | object:
    """An ISO 8601 timestamp from Graph as a datetime (for |date and |timesince); else as is."""
    if isinstance(value, str) and value:
        parsed = parse_datetime(value)
        if parsed is not None and parsed.year > 1:  # Graph uses 0001-01-01 for "never"
            return parsed
        return ""
    return value


@register.filter
def role_name(template_id: object) -> str:
    """An Entra role template id (GDAP's `roleDefinitionId`) as the role's name."""
    return _role_name(str(template_id))


@register.simple_tag
def form_key() -> str:
    """A fresh idempotency key for one action form (customers/action_records.py)."""
    return str(uuid.uuid4())
