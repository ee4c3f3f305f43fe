"""The customer page's header badge follows provisioning: Pending while it runs, the current
state once it is Ready, on the page and on the polled status partial (an out-of-band swap)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from provisioning.models import Provisioning
from provisioning.services import provisioning_attempt, provisioning_claim_due
from tests.provisioning.conftest import consent_given, create_customer

pytestmark = pytest.mark.django_db


def _badge(html: str) -> str:
    match = re.search(r'data-testid="customer-status-badge"[^>]*>(.*?)</div>', html, re.S)
    assert match, html[:3000]
    return re.sub(r"<[^>]+>", " ", match.group(1)).strip()


def _ids(html: str) -> list[str]:
    return re.findall(r'\sid="([^"]+)"', html)


def test_the_header_badge_says_active_once_provisioning_is_ready(
    agent: Client, sim: Any, fast: Any
) -> None:
    sim.faults(propagation_delay=0)
    customer = create_customer(agent)
    consent_given(sim, customer)
    page = f"/customers/{customer.tenant_id}/provisioning/"
    assert "Pending" in _badge(agent.get(page).content.decode())
    Provisioning.objects.filter(customer=customer).update(next_attempt_at=timezone.now())
    claimed = provisioning_claim_due()
    assert claimed is not None
    run = provisioning_attempt(provisioning_id=claimed[0], attempt=claimed[1])
    assert run is not None and run.status == "ready", run and run.last_error
    for url in (page, f"/customers/{customer.tenant_id}/"):
        html = agent.get(url).content.decode()
        assert _badge(html).startswith("Active"), _badge(html)
        ids = _ids(html)
        assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    # The page that was open all along learns it from its next poll.
    partial = agent.get(f"{page}status/", HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-swap-oob="true"' in partial
    assert _badge(partial).startswith("Active")
