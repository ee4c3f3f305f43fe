"""The tenant-isolation boundary: every customer view calls `customer_for_user` first."""

from django.http import Http404

from accounts.models import User
from audit.denials import RegionDenied
from customers.models import Customer


def customer_for_user(*, user: User, tenant_id: str) -> Customer:
    """The customer `tenant_id` if it belongs to the user's region; Http404 otherwise.

    Runs before any token or Graph call: a tenant outside the region, unknown or malformed
    must not cost a single request to Microsoft, nor reveal whether it exists.
    """
    if not user.is_authenticated or user.region_id is None:
        raise Http404("No such customer.")
    customer = (
        Customer.objects.select_related("region")
        .filter(tenant_id=tenant_id, region_id=user.region_id, region__active=True)
        .first()
    )
    if customer is None:
        # Audited (audit/denials.py); the answer is the same 404 either way.
        raise RegionDenied(
            "No such customer.",
            kind="customer",
            target=str(tenant_id),
            exists=Customer.objects.filter(tenant_id=tenant_id).exists(),
        )
    return customer
