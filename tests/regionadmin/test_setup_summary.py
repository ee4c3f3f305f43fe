"""The checklist's summary agrees with the checks: a failure anywhere means no "All checks
passed", and a failure from an earlier attempt is named, with its time, when the checks since
then pass.

A global admin works on the EU region: not their home partner tenant, so "Preconsent now" runs
with the region's app credential, which a wrong secret makes Microsoft refuse."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from regions.models import Region
from regions.setup import CHECKS

pytestmark = pytest.mark.django_db

AFTER_ADMINAGENTS = [c.key for c in CHECKS][[c.key for c in CHECKS].index("adminagents") + 1 :]


def _run(client: Client, keys: list[str]) -> str:
    row = ""
    for key in keys:
        row = client.post(f"/regions/eu/setup/{key}/").content.decode()
    return row


def _failed_preconsent(client: Client, region: Region, **headers: Any) -> str:
    """A "Preconsent now" that Microsoft refuses (the app's secret is wrong at that moment)."""
    region.refresh_from_db()
    secret = region.client_secret
    region.set_client_secret("wrong-secret")
    region.save(update_fields=["client_secret_encrypted"])
    row = client.post("/regions/eu/preconsent/", **headers).content.decode()
    region.set_client_secret(secret)
    region.save(update_fields=["client_secret_encrypted"])
    return row


def test_a_failed_preconsent_on_the_page_means_no_all_checks_passed(
    global_admin_client: Client, regions: dict[str, Any]
) -> None:
    assert "All checks passed" in _run(global_admin_client, [c.key for c in CHECKS])
    row = _failed_preconsent(global_admin_client, regions["eu"], HTTP_HX_REQUEST="true")
    assert 'data-status="fail"' in row
    # The rows below the red one run again; the last one's summary must not be green.
    last = _run(global_admin_client, AFTER_ADMINAGENTS)
    assert 'data-testid="setup-summary"' in last
    assert "All checks passed" not in last
    assert 'data-passed="false"' in last
    assert "the preconsent at" in last and "failed" in last


def test_an_earlier_failure_is_named_with_its_time_once_the_checks_pass_again(
    global_admin_client: Client, regions: dict[str, Any]
) -> None:
    _failed_preconsent(global_admin_client, regions["eu"], HTTP_HX_REQUEST="true")
    last = _run(global_admin_client, [c.key for c in CHECKS])
    assert 'data-passed="true"' in last
    assert "All checks passed" in last
    assert 'data-testid="setup-earlier-failure"' in last
    assert "UTC failed" in last and "the checks run since then pass" in last


def test_the_non_htmx_preconsent_failure_says_when_it_happened(
    global_admin_client: Client, regions: dict[str, Any]
) -> None:
    page = _failed_preconsent(global_admin_client, regions["eu"], follow=True)
    assert "Preconsent at " in page and " UTC: " in page
