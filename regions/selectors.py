"""Reads about regions."""

from regions.models import Region, RegionDomain


def region_for_username(*, username: str) -> Region | None:
    """The region whose sign-in domains include the username's domain (active or not)."""
    _, _, domain = username.strip().rpartition("@")
    if not domain:
        return None
    match = RegionDomain.objects.select_related("region").filter(domain=domain.lower()).first()
    return match.region if match else None
