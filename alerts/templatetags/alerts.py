"""The navigation bar's open-alerts count."""

from __future__ import annotations

from django import template

from accounts.models import User
from alerts.selectors import alerts_open_count

register = template.Library()


@register.simple_tag
def open_alerts(user: User) -> int:
    return alerts_open_count(user=user) if user.is_authenticated else 0
