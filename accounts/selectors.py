"""Reads about portal users, scoped to what the asking admin may see."""

from __future__ import annotations

from django.contrib.sessions.models import Session
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import User


def _visible(admin: User) -> QuerySet[User]:
    users = User.objects.exclude(tenant_id=None)
    if admin.crosses_regions:
        return users
    if admin.region_id is None:
        return users.none()
    return users.filter(region_id=admin.region_id)


def user_list(*, admin: User, region_slug: str = "") -> QuerySet[User]:
    """Users the admin may see (their own region; a global admin: every region, or the one
    asked for), with `active_sessions`: their sessions that still exist and have not expired."""
    users = _visible(admin)
    if admin.crosses_regions and region_slug:
        users = users.filter(region__slug=region_slug)
    live = Session.objects.filter(expire_date__gt=timezone.now()).values("session_key")
    return (
        users.select_related("region")
        .annotate(
            active_sessions=Count(
                "portal_sessions", filter=Q(portal_sessions__session_key__in=live)
            )
        )
        .order_by("region__name", "upn")
    )


def user_for_admin(*, admin: User, user_id: int) -> User:
    """The user `user_id` if the admin may see them; Http404 otherwise (another region's user
    does not exist, as far as this admin can tell)."""
    user = _visible(admin).select_related("region").filter(pk=user_id).first()
    if user is None:
        raise Http404("No such user.")
    return user
