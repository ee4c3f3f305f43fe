"""Which regions an admin may open: their own; a global admin every one."""

from django.db.models import QuerySet

from accounts.models import User
from audit.denials import RegionDenied
from regions.models import Region
from regions.selectors import region_list


def regions_for_admin(*, user: User) -> QuerySet[Region]:
    """The regions the admin sees in the list: every one for a global admin, else their own."""
    regions = region_list()
    return regions if user.crosses_regions else regions.filter(pk=user.region_id)


def region_for_admin(*, user: User, slug: str) -> Region:
    """The region `slug` if the admin may configure it; 404 (audited) otherwise, before any
    credential of that region is read or used."""
    region = region_list().filter(slug=slug).first()
    if region is None or not (user.crosses_regions or region.pk == user.region_id):
        raise RegionDenied("No such region.", kind="region", target=slug, exists=region is not None)
    return region
