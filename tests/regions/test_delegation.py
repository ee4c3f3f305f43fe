"""Per-run delegated grants: a signed-in user's tokens lent to one background run."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.utils import timezone

from regions.delegation import (
    GrantExpired,
    grant_capture,
    grant_end,
    grants_purge,
    graph_as_grant,
    partner_center_as_grant,
)
from regions.models import DelegatedGrant

pytestmark = pytest.mark.django_db

JWT = re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.")


def _grants_table_text() -> str:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT * FROM "{DelegatedGrant._meta.db_table}"')  # noqa: S608
        return "\n".join(str(row) for row in cursor.fetchall())


def test_a_grant_acts_as_the_user_who_lent_it_in_a_background_run(sign_in, regions, customers):
    session = sign_in("admin@contosopartners.com").session
    region = regions["us"]
    tenant = str(next(c for c in customers["us"] if c.relationship_status == "active").tenant_id)

    grant = grant_capture(session=session, region=region, purpose="test", ttl=600, by="admin")

    org = graph_as_grant(grant_id=grant, region=region, tenant_id=tenant).get("/organization")
    assert org["value"][0]["id"] == tenant
    first = next(partner_center_as_grant(grant_id=grant, region=region).iter_customers(size=1))
    assert first["id"]


def test_a_grant_is_encrypted_at_rest_and_holds_no_readable_token(sign_in, regions, customers):
    session = sign_in("admin@contosopartners.com").session
    region = regions["us"]
    tenant = str(customers["us"][0].tenant_id)
    grant = grant_capture(session=session, region=region, purpose="test", ttl=600)
    graph_as_grant(grant_id=grant, region=region, tenant_id=tenant).get("/organization")

    text = _grants_table_text()

    assert text and not JWT.search(text)
    assert "refresh_token" not in text.lower() and "secret" not in text.lower()


def test_an_ended_grant_is_gone_and_a_client_over_it_says_to_start_again(sign_in, regions):
    session = sign_in("admin@contosopartners.com").session
    region = regions["us"]
    grant = grant_capture(session=session, region=region, purpose="test", ttl=600)

    grant_end(grant)

    assert not DelegatedGrant.objects.filter(pk=grant).exists()
    graph = graph_as_grant(grant_id=grant, region=region, tenant_id=str(region.partner_tenant_id))
    with pytest.raises(GrantExpired, match="Start the job again"):
        graph.get("/me")


def test_an_expired_grant_is_refused_and_purged(sign_in, regions):
    session = sign_in("admin@contosopartners.com").session
    region = regions["us"]
    grant = grant_capture(session=session, region=region, purpose="test", ttl=600)
    DelegatedGrant.objects.filter(pk=grant).update(expires_at=timezone.now() - timedelta(1))

    with pytest.raises(GrantExpired):
        partner_center_as_grant(grant_id=grant, region=region).get_customer("x")
    assert grants_purge() == 1
    assert not DelegatedGrant.objects.exists()


def test_a_grant_of_one_region_is_no_use_for_another(sign_in, regions):
    session = sign_in("admin@contosopartners.com").session
    grant = grant_capture(session=session, region=regions["us"], purpose="test", ttl=600)

    eu = regions["eu"]
    graph = graph_as_grant(grant_id=grant, region=eu, tenant_id=str(eu.partner_tenant_id))
    with pytest.raises(GrantExpired):
        graph.get("/organization")


def test_a_session_without_a_signed_in_account_lends_nothing(regions):
    from mscloud.identity import InteractionRequired

    with pytest.raises(InteractionRequired):
        grant_capture(session=SessionStore(), region=regions["us"], purpose="test", ttl=600)
    assert not DelegatedGrant.objects.exists()
