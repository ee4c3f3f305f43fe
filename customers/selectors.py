"""Reads about customers."""

from django.db.models import Q, QuerySet

from accounts.models import User
from customers.models import Customer


def customer_list(*, user: User, q: str = "") -> QuerySet[Customer]:
    """Customers of the user's region, optionally matching `q` in name or domain."""
    qs = Customer.objects.filter(region_id=user.region_id).select_related("region")
    q = q.strip()
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(default_domain__icontains=q))
    return qs.order_by("name", "tenant_id")
