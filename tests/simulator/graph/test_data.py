"""Generated tenant data: deterministic, realistic, lazy (no server)."""

from __future__ import annotations

import re
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from simulator.graph.data import TenantData, TenantInfo

DAY = datetime(2026, 11, 26, tzinfo=UTC)
INFO = TenantInfo(
    seed=1,
    id="0f6c2a1e-5d1b-4c8e-9a3f-1b2c3d4e5f60",
    domain="fabrikam.onmicrosoft.com",
    initial_domain="",
    name="Fabrikam Inc.",
    kind="customer",
    country="US",
    created_at=datetime(2022, 5, 1, tzinfo=UTC),
    users=300,
    devices=400,
    day=DAY,
)


def fresh(**changes: object) -> TenantData:
    """A new TenantData (not the LRU-cached one), so nothing is shared between two builds."""
    return TenantData(replace(INFO, **changes))


def test_the_same_seed_and_tenant_give_the_same_items():
    a, b = fresh(), fresh()
    assert [a.user(i) for i in range(50)] == [b.user(i) for i in range(50)]
    assert [a.managed_device(i) for i in range(50)] == [b.managed_device(i) for i in range(50)]
    assert a.groups() == b.groups() and a.organization() == b.organization()


def test_another_seed_or_tenant_gives_other_items():
    base = fresh().user(0)
    assert fresh(seed=2).user(0)["id"] != base["id"]
    assert fresh(id="11111111-2222-3333-4444-555555555555").user(0)["id"] != base["id"]


def test_item_i_does_not_depend_on_how_many_items_the_tenant_has():
    small, big = fresh(users=40), fresh(users=100_000)
    assert [small.user(i) for i in range(40)] == [big.user(i) for i in range(40)]


def test_user_principal_names_are_unique_and_on_the_tenant_domain():
    data = fresh(users=20_000)
    upns = [data.user_light(i)["userPrincipalName"] for i in range(data.user_count)]
    assert len(set(upns)) == len(upns)
    assert all(re.fullmatch(r"[a-z]+\.[a-z]+\d*@fabrikam\.onmicrosoft\.com", u) for u in upns)


def test_users_look_like_people():
    user = fresh().user(7)
    assert user["displayName"] == f"{user['givenName']} {user['surname']}"
    assert user["jobTitle"] and user["department"] and user["officeLocation"]
    assert user["mail"] == user["userPrincipalName"]
    assert isinstance(user["accountEnabled"], bool)


def test_the_first_page_of_a_big_tenant_is_generated_without_the_rest():
    data = fresh(users=100_000)
    started = time.perf_counter()
    page = [data.user(i) for i in range(100)]
    assert time.perf_counter() - started < 0.05
    assert len({u["id"] for u in page}) == 100


def test_lookup_by_id_and_by_upn_finds_the_same_user():
    data = fresh()
    user = data.user(123)
    assert data.user_index(user["id"]) == 123
    assert data.user_index(user["userPrincipalName"].upper()) == 123
    assert data.user_index("nobody@fabrikam.onmicrosoft.com") is None


def test_managed_devices_have_a_realistic_mix_of_compliance_states():
    data = fresh()
    counts = data.compliance_counts()
    assert sum(counts.values()) == data.device_count
    assert counts["compliant"] > data.device_count / 2
    assert counts["noncompliant"] > 0 and counts["inGracePeriod"] > 0
    assert counts["unknown"] + counts["error"] + counts["conflict"] > 0


def test_grace_period_devices_expire_soon_and_others_never():
    data = fresh()
    for i in range(data.device_count):
        device = data.managed_device(i)
        grace = device["complianceGracePeriodExpirationDateTime"]
        if device["complianceState"] == "inGracePeriod":
            expiry = datetime.strptime(grace, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            assert DAY < expiry < DAY + timedelta(days=9)
        else:
            assert grace == "9999-12-31T23:59:59Z"


def test_some_devices_are_stale_and_the_rest_synced_this_week():
    data = fresh()
    ages = [
        DAY
        - datetime.strptime(
            data.managed_device(i)["lastSyncDateTime"], "%Y-%m-%dT%H:%M:%SZ"
        ).replace(tzinfo=UTC)
        for i in range(data.device_count)
    ]
    stale = [a for a in ages if a > timedelta(days=30)]
    assert 0 < len(stale) < len(ages) / 5
    assert all(a <= timedelta(days=8) for a in ages if a <= timedelta(days=30))


def test_devices_span_the_four_platforms_with_an_owner_from_the_directory():
    data = fresh()
    assert all(count > 0 for count in data.os_counts().values())
    device = data.managed_device(3)
    owner = data.user_index(device["userPrincipalName"])
    assert owner is not None and data.user_id(owner) == device["userId"]


def test_entra_devices_mirror_the_managed_devices():
    data = fresh()
    for i in range(20):
        managed, entra = data.managed_device(i), data.device(i)
        assert entra["deviceId"] == managed["azureADDeviceId"]
        assert entra["isCompliant"] == (managed["complianceState"] == "compliant")


def test_the_organization_lists_the_initial_domain_as_verified():
    org = fresh().organization()
    assert org["id"] == INFO.id and org["countryLetterCode"] == "US"
    initial = [d for d in org["verifiedDomains"] if d["isInitial"]]
    assert [d["name"] for d in initial] == ["fabrikam.onmicrosoft.com"]
    assert sum(d["isDefault"] for d in org["verifiedDomains"]) == 1


def test_groups_mix_security_and_microsoft_365_groups_with_members():
    data = fresh()
    groups = data.groups()
    assert any(g["groupTypes"] == ["Unified"] and g["mail"] for g in groups)
    assert any(g["groupTypes"] == [] and g["securityEnabled"] for g in groups)
    assert len({g["displayName"] for g in groups}) == len(groups)
    members = data.group_member_indexes(0)
    assert members and len(set(members)) == len(members)
