"""Django admin is read-only history: no model offers an "Add" form (customer creations and
provisioning runs are written by the portal only, as audit events are), for any role."""

from __future__ import annotations

import pytest
from django.contrib import admin

from accounts.models import Role
from tests.factories import client_for, region_make, user_make

pytestmark = pytest.mark.django_db

ADMINS = [
    "provisioning/customercreation",
    "provisioning/provisioning",
    "audit/auditevent",
    "compliance/compliancesweep",
    "compliance/compliancesnapshot",
]


@pytest.mark.parametrize("role", [Role.ADMIN, Role.GLOBAL_ADMIN])
@pytest.mark.parametrize("model", ADMINS)
def test_no_admin_model_offers_an_add_form(role, model):
    client = client_for(user_make(region=region_make(), role=role))
    changelist = client.get(f"/admin/{model}/")
    assert changelist.status_code == 200
    assert f"/admin/{model}/add/" not in changelist.content.decode()
    assert client.get(f"/admin/{model}/add/").status_code == 403
    assert f"/admin/{model}/add/" not in client.get("/admin/").content.decode()


def test_every_registered_model_refuses_add_change_and_delete():
    request = type("Request", (), {"user": None})()
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label in ("auth", "sessions"):
            continue
        assert not model_admin.has_add_permission(request), model
        assert not model_admin.has_delete_permission(request), model
