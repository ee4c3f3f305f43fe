"""Per-run delegated grants: a signed-in user's tokens lent to one background run.

Some background work must act as the person who asked for it, not as the app: Partner
Center's application consent takes only App+User tokens, and assigning app roles in a
customer needs the admin's GDAP roles there. `grant_capture` copies the session's MSAL cache
and account (encrypted, as sessions keep them) into a row with a deadline; the run's task
receives only the run's id and finds the grant id on the run; `graph_as_grant` and
`partner_center_as_grant` are the clients of `regions.clients` over that cache (refreshed
tokens are written back); `grant_end` deletes it, and expired grants are purged.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from django.contrib.sessions.backends.base import SessionBase
from django.utils import timezone

from mscloud.graph import GraphClient
from mscloud.identity import InteractionRequired, SerializableTokenCache
from mscloud.partnercenter import PartnerCenterClient
from portal import crypto
from regions import token_caches
from regions.clients import UserTokens, graph_for_user, partner_center_for_user
from regions.models import DelegatedGrant, Region

log = logging.getLogger(__name__)


class GrantExpired(InteractionRequired):
    """The grant is gone (ended, expired, or its key rotated away): start the work again."""

    def __init__(self) -> None:
        super().__init__(
            "grant_expired",
            "The sign-in this background job was started with is no longer available "
            "(it ended or expired). Start the job again.",
        )


def grant_capture(
    *, session: SessionBase, region: Region, purpose: str, ttl: timedelta | int, by: str = ""
) -> str:
    """Lend the session's tokens to a background run for `ttl` (seconds or a timedelta);
    the grant id. Raises InteractionRequired when the session holds no signed-in account."""
    grants_purge()
    account = token_caches.session_account(session)
    if not account:
        raise InteractionRequired("no_account", "The session holds no signed-in account.")
    cache = token_caches.session_cache_load(session)
    ttl = ttl if isinstance(ttl, timedelta) else timedelta(seconds=ttl)
    grant = DelegatedGrant.objects.create(
        region=region,
        purpose=purpose[:64],
        granted_by=by[:256],
        tokens_encrypted=_seal(account, cache),
        expires_at=timezone.now() + ttl,
    )
    return str(grant.pk)


def grant_end(grant_id: str | None) -> None:
    """Forget the grant (idempotent)."""
    if grant_id:
        DelegatedGrant.objects.filter(pk=grant_id).delete()


def grants_purge() -> int:
    """Delete expired grants (their runs died or forgot to end them); how many."""
    deleted, _ = DelegatedGrant.objects.filter(expires_at__lte=timezone.now()).delete()
    if deleted:
        log.info("purged %d expired delegated grants", deleted)
    return deleted


def graph_as_grant(
    *, grant_id: str, region: Region, tenant_id: str, fresh: bool = False
) -> GraphClient:
    """Delegated Graph in `tenant_id` as the user who lent the grant (see graph_as_agent)."""
    return graph_for_user(
        tokens=_grant_tokens(grant_id, region),
        region=region,
        tenant_id=tenant_id,
        fresh=fresh,
        background=True,
    )


def partner_center_as_grant(*, grant_id: str, region: Region) -> PartnerCenterClient:
    """App+User Partner Center as the user who lent the grant."""
    return partner_center_for_user(tokens=_grant_tokens(grant_id, region), region=region)


def _seal(account: str, cache: SerializableTokenCache) -> str:
    return crypto.encrypt(json.dumps({"account": account, "cache": cache.serialize()}))


def _grant_tokens(grant_id: str, region: Region) -> UserTokens:
    account: list[str] = []

    def load(tenant_id: str) -> tuple[SerializableTokenCache, str | None]:
        # The grant keeps the whole cache in one row: `tenant_id` needs no narrowing.
        grant = DelegatedGrant.objects.filter(
            pk=grant_id, region=region, expires_at__gt=timezone.now()
        ).first()
        if grant is None:
            raise GrantExpired()
        try:
            data = json.loads(crypto.decrypt(grant.tokens_encrypted))
        except (crypto.InvalidToken, ValueError):
            raise GrantExpired() from None
        cache = SerializableTokenCache()
        cache.deserialize(data["cache"])
        account[:] = [data["account"]]
        return cache, data["account"]

    def save(cache: SerializableTokenCache) -> None:
        if cache.has_state_changed and account:
            DelegatedGrant.objects.filter(pk=grant_id).update(
                tokens_encrypted=_seal(account[0], cache)
            )
            cache.has_state_changed = False

    return UserTokens(load=load, save=save)
