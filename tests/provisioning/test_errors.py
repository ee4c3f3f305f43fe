"""Why a provisioning attempt failed, by kind and AADSTS code (provisioning/errors.py)."""

from __future__ import annotations

from mscloud.errors import GraphForbidden
from mscloud.identity import IdentityError
from provisioning.errors import attempt_failure


def test_a_tenant_the_relationship_has_not_reached_yet_says_so():
    # Reference: https://learn.microsoft.com/en-us/graph/auth-cloudsolutionprovider
    reason = attempt_failure(IdentityError("unauthorized_client", "AADSTS700016: x.", [700016]))

    assert "AADSTS700016" in reason and "has not reached the tenant yet" in reason


def test_an_app_without_a_service_principal_says_consent_it_and_where():
    reason = attempt_failure(IdentityError("invalid_client", "AADSTS7000229: x.", [7000229]))

    assert "not consented" in reason and "Consent the app" in reason and "access page" in reason


def test_graph_refusing_the_app_names_the_missing_preconsented_permissions():
    assert "preconsented permissions" in attempt_failure(GraphForbidden(status=403))
