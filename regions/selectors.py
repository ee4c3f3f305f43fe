"""Reads about regions."""

from __future__ import annotations

from django.db.models import QuerySet

from regions.models import Region, RegionDomain


def region_for_username(*, username: str) -> Region | None:
    """The region whose sign-in domains include the username's domain (active or not)."""
    _, _, domain = username.strip().rpartition("@")
    if not domain:
        return None
    match = RegionDomain.objects.select_related("region").filter(domain=domain.lower()).first()
    return match.region if match else None


def region_list() -> QuerySet[Region]:
    return Region.objects.prefetch_related("domains").order_by("name")


def region_find(*, slug: str) -> Region | None:
    """The region with this slug, or None."""
    return Region.objects.filter(slug=slug).first()
