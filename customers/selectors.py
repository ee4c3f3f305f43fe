"""Reads about customers."""

from django.db.models import Q, QuerySet

from accounts.models import Role, User
from customers.models import Customer
from regions.models import Region


def customer_list(*, user: User, q: str = "", order: list[str] | None = None) -> QuerySet[Customer]:
    """Customers of the user's region, optionally matching `q` in name or domain, in `order`
    (QuerySet.order_by fields; by name when not given)."""
    qs = Customer.objects.filter(region_id=user.region_id).select_related("region")
    q = q.strip()
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(default_domain__icontains=q))
    return qs.order_by(*(order or ["name", "tenant_id"]))


def region_admins(*, region: Region, limit: int = 5) -> list[User]:
    """Who can consent the app for the region's customers (the portal's admins there)."""
    return list(
        User.objects.filter(region=region, role=Role.ADMIN, is_active=True).order_by(
            "display_name", "upn"
        )[:limit]
    )
