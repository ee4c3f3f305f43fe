"""`{% provisioning_card customer %}`: the provisioning status on pages this app does not own."""

from __future__ import annotations

from typing import Any

from django import template

from customers.models import Customer
from provisioning.selectors import provisioning_status_context

register = template.Library()


@register.inclusion_tag("provisioning/_card.html", takes_context=True)
def provisioning_card(context: template.Context, customer: Customer) -> dict[str, Any]:
    return {
        **provisioning_status_context(customer=customer),
        "csrf_token": context.get("csrf_token"),
        "request": context.get("request"),
    }
