"""Who may open what: every URL of the portal, for anonymous / no role / agent / manager / admin /
global admin, in the user's own region and reaching into another one.

One table, enforced server-side, checked with real sign-ins against the simulator. The
first test fails as soon as someone adds a URL without a row here: decide who may open it,
then add the row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from alerts.models import Alert, AlertKind, ChannelKind, NotificationChannel
from compliance.models import ComplianceSweep
from customers.models import BulkRun, ConsentRun, Customer, SyncRun
from regions.clients import graph_as_app
from regions.models import Region
from tests.conftest import HOST

ROLES = ("anonymous", "norole", "agent", "manager", "admin", "globaladmin")

SIGNIN = "signin"  # sent to /signin/ (directly, or via the Django admin's login)
NO_ACCESS = "no access"  # the 403 "no access" page for a user without a portal role
FORBIDDEN = "forbidden"  # 403: signed in, role too low
OK = "ok"  # 200, or a redirect that is neither to sign-in nor to "no access"
ADMIN_PREFIX = "admin/"


@dataclass(frozen=True)
class Row:
    sample: str  # a concrete path; {placeholders} are filled per test
    expect: tuple[str | int, ...]  # one per role, in ROLES order; an int is an exact status
    method: str = "GET"


AGENT_PAGE = (SIGNIN, NO_ACCESS, OK, OK, OK, OK)
MANAGER_PAGE = (SIGNIN, NO_ACCESS, FORBIDDEN, OK, OK, OK)
ADMIN_PAGE = (SIGNIN, NO_ACCESS, FORBIDDEN, FORBIDDEN, OK, OK)
GLOBAL_ADMIN_PAGE = (SIGNIN, NO_ACCESS, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK)
# Another region's object: 404 (and audited) for every role of region "us" but the global admin.
OTHER_REGION_AGENT = (SIGNIN, NO_ACCESS, 404, 404, 404, 404)
OTHER_REGION_MANAGER = (SIGNIN, NO_ACCESS, FORBIDDEN, 404, 404, OK)
OTHER_REGION_ADMIN = (SIGNIN, NO_ACCESS, FORBIDDEN, FORBIDDEN, 404, OK)
# Another region's customer on a manager's page: agents fail the role first, the rest 404.
OTHER_REGION_MANAGER_CUSTOMER = (SIGNIN, NO_ACCESS, FORBIDDEN, 404, 404, 404)

# Route pattern (as Django prints it) -> who gets what.
MATRIX: dict[str, Row] = {
    "": Row("/", (SIGNIN, NO_ACCESS, OK, OK, OK, OK)),
    "healthz": Row("/healthz", (200, 200, 200, 200, 200, 200)),
    "signin/": Row("/signin/", (200, OK, OK, OK, OK, OK)),
    # Without a pending sign-in the callback explains itself (400) to anyone.
    "auth/callback/": Row("/auth/callback/", (400, 400, 400, 400, 400, 400)),
    "no-access/": Row(
        "/no-access/", (SIGNIN, NO_ACCESS, NO_ACCESS, NO_ACCESS, NO_ACCESS, NO_ACCESS)
    ),
    "customers/": Row("/customers/", AGENT_PAGE),
    "customers/sync/": Row("/customers/sync/", AGENT_PAGE, "POST"),
    # The customers list as CSV (the user's own region's, as the list), and the column
    # chooser of any table (a preference of the user's own; back to the page).
    "customers/export.csv": Row("/customers/export.csv", AGENT_PAGE),
    "tables/<slug:table>/columns/": Row("/tables/customers/columns/", AGENT_PAGE, "POST"),
    # The tenant switcher's results: the user's own region's customers, from the database.
    "customers/switch/": Row("/customers/switch/?q=a&tab=users", AGENT_PAGE),
    "customers/sync/<int:run_id>/": Row("/customers/sync/{run}/", AGENT_PAGE),
    "customers/<tenant:tenant_id>/": Row("/customers/{tenant}/", AGENT_PAGE),
    "customers/<tenant:tenant_id>/users/": Row("/customers/{tenant}/users/", AGENT_PAGE),
    "customers/<tenant:tenant_id>/users/export.csv": Row(
        "/customers/{tenant}/users/export.csv", AGENT_PAGE
    ),
    "customers/<tenant:tenant_id>/users/<tenant:user_id>/": Row(
        "/customers/{tenant}/users/{user_object}/", AGENT_PAGE
    ),
    # Actions (POST): the verdict comes first (an agent may not block sign-in: 403), then the
    # form's idempotency key; without one it explains itself (400) and calls nobody.
    "customers/<tenant:tenant_id>/users/<tenant:user_id>/actions/<slug:name>/": Row(
        "/customers/{tenant}/users/{user_object}/actions/block-sign-in/",
        (SIGNIN, NO_ACCESS, FORBIDDEN, 400, 400, 400),
        "POST",
    ),
    # Bulk actions are for managers; without an action picked the form explains itself (400).
    "customers/<tenant:tenant_id>/users/bulk/": Row(
        "/customers/{tenant}/users/bulk/", (SIGNIN, NO_ACCESS, FORBIDDEN, 400, 400, 400), "POST"
    ),
    "customers/<tenant:tenant_id>/managed-devices/bulk/": Row(
        "/customers/{tenant}/managed-devices/bulk/",
        (SIGNIN, NO_ACCESS, FORBIDDEN, 400, 400, 400),
        "POST",
    ),
    "customers/<tenant:tenant_id>/bulk/<int:run_id>/": Row(
        "/customers/{tenant}/bulk/{bulk_run}/", MANAGER_PAGE
    ),
    "customers/<tenant:tenant_id>/groups/": Row("/customers/{tenant}/groups/", AGENT_PAGE),
    "customers/<tenant:tenant_id>/groups/<tenant:group_id>/": Row(
        "/customers/{tenant}/groups/{group}/", AGENT_PAGE
    ),
    "customers/<tenant:tenant_id>/devices/": Row("/customers/{tenant}/devices/", AGENT_PAGE),
    "customers/<tenant:tenant_id>/managed-devices/": Row(
        "/customers/{tenant}/managed-devices/", AGENT_PAGE
    ),
    "customers/<tenant:tenant_id>/managed-devices/<tenant:device_id>/": Row(
        "/customers/{tenant}/managed-devices/{managed_device}/", AGENT_PAGE
    ),
    "customers/<tenant:tenant_id>/managed-devices/<tenant:device_id>/actions/<slug:name>/": Row(
        "/customers/{tenant}/managed-devices/{managed_device}/actions/sync/",
        (SIGNIN, NO_ACCESS, 400, 400, 400, 400),
        "POST",
    ),
    "customers/new/": Row("/customers/new/", AGENT_PAGE),
    "customers/<customer_tenant:tenant_id>/provisioning/": Row(
        "/customers/{tenant}/provisioning/", AGENT_PAGE
    ),
    "customers/<customer_tenant:tenant_id>/provisioning/status/": Row(
        "/customers/{tenant}/provisioning/status/", AGENT_PAGE
    ),
    # Agents pass the role check; the sample customer has no pending invitation, so the
    # start explains itself (409) and changes nothing.
    "customers/<customer_tenant:tenant_id>/provisioning/start/": Row(
        "/customers/{tenant}/provisioning/start/", (SIGNIN, NO_ACCESS, 409, 409, 409, 409), "POST"
    ),
    "customers/<customer_tenant:tenant_id>/provisioning/reveal/": Row(
        "/customers/{tenant}/provisioning/reveal/", AGENT_PAGE, "POST"
    ),
    "customers/<tenant:tenant_id>/compliance/": Row("/customers/{tenant}/compliance/", AGENT_PAGE),
    "customers/<tenant:tenant_id>/access/": Row("/customers/{tenant}/access/", AGENT_PAGE),
    # Consenting runs as the signed-in admin; without the ticked confirmation it explains
    # itself (400) and calls nobody.
    "customers/<tenant:tenant_id>/access/consent/": Row(
        "/customers/{tenant}/access/consent/",
        (SIGNIN, NO_ACCESS, FORBIDDEN, FORBIDDEN, 400, 400),
        "POST",
    ),
    "customers/consent/": Row("/customers/consent/", ADMIN_PAGE, "POST"),
    "customers/consent/<int:run_id>/": Row("/customers/consent/{consent_run}/", ADMIN_PAGE),
    # Search across the user's own region's customers (the global admin's too).
    "search/": Row("/search/?q=ade", AGENT_PAGE),
    "search/live/": Row("/search/live/?q=ade&chunk=0", AGENT_PAGE),
    "alerts/": Row("/alerts/", AGENT_PAGE),
    # Acknowledging an alert of one's own region: back to the list (a second one changes
    # nothing, and says so).
    "alerts/<int:alert_id>/acknowledge/": Row("/alerts/{alert}/acknowledge/", AGENT_PAGE, "POST"),
    "compliance/": Row("/compliance/", MANAGER_PAGE),
    "compliance/export.csv": Row("/compliance/export.csv", MANAGER_PAGE),
    "compliance/noncompliant/": Row("/compliance/noncompliant/", MANAGER_PAGE),
    "compliance/noncompliant.csv": Row("/compliance/noncompliant.csv", MANAGER_PAGE),
    "compliance/report/": Row("/compliance/report/", MANAGER_PAGE),
    "compliance/report.csv": Row("/compliance/report.csv", MANAGER_PAGE),
    "compliance/sweeps/": Row("/compliance/sweeps/", MANAGER_PAGE, "POST"),
    "compliance/sweeps/<int:sweep_id>/": Row("/compliance/sweeps/{sweep}/", MANAGER_PAGE),
    # An admin's landing after sign-in: a redirect to the setup summary or the customers.
    "home/admin/": Row("/home/admin/", ADMIN_PAGE),
    "regions/": Row("/regions/", ADMIN_PAGE),
    "regions/new/": Row("/regions/new/", GLOBAL_ADMIN_PAGE),
    "regions/<slug:slug>/": Row("/regions/{region}/", ADMIN_PAGE),
    "regions/<slug:slug>/setup/": Row("/regions/{region}/setup/", ADMIN_PAGE),
    "regions/<slug:slug>/setup/<slug:check>/": Row(
        "/regions/{region}/setup/discovery/", ADMIN_PAGE, "POST"
    ),
    "regions/<slug:slug>/preconsent/": Row("/regions/{region}/preconsent/", ADMIN_PAGE, "POST"),
    # A region's notification channels (alerts app). The sample channel is an e-mail one: a
    # test goes to the locmem outbox; a delete without the ticked confirmation deletes nothing.
    "regions/<slug:slug>/notifications/": Row("/regions/{region}/notifications/", ADMIN_PAGE),
    "regions/<slug:slug>/notifications/reports/": Row(
        "/regions/{region}/notifications/reports/", ADMIN_PAGE
    ),
    "regions/<slug:slug>/notifications/<int:channel_id>/test/": Row(
        "/regions/{region}/notifications/{channel}/test/", ADMIN_PAGE, "POST"
    ),
    "regions/<slug:slug>/notifications/<int:channel_id>/delete/": Row(
        "/regions/{region}/notifications/{channel}/delete/", ADMIN_PAGE, "POST"
    ),
    "regions/<slug:slug>/notifications/<int:channel_id>/edit/": Row(
        "/regions/{region}/notifications/{channel}/edit/", ADMIN_PAGE
    ),
    # Without `active` (0 or 1) it explains itself and changes nothing, back to the list.
    "regions/<slug:slug>/notifications/<int:channel_id>/active/": Row(
        "/regions/{region}/notifications/{channel}/active/", ADMIN_PAGE, "POST"
    ),
    "regions/<slug:slug>/alert-settings/": Row("/regions/{region}/alert-settings/", ADMIN_PAGE),
    # Admins see their region's users and may end their sessions (a user of their region:
    # the matrix's own "agent"; without the ticked confirmation nothing ends, back to the list).
    "users/": Row("/users/", ADMIN_PAGE),
    "users/<int:user_id>/end-sessions/": Row("/users/{user}/end-sessions/", ADMIN_PAGE, "POST"),
    # The nav's colour theme switch, for anyone signed in; without a theme it explains itself
    # (400) and stores nothing.
    "preferences/theme/": Row("/preferences/theme/", (SIGNIN, 400, 400, 400, 400, 400), "POST"),
    # Where Microsoft's sign-out comes back to: a public page.
    "signed-out/": Row("/signed-out/", (200, 200, 200, 200, 200, 200)),
    # Signing out is for anyone; it runs last, since it ends the session. Signed in, it goes
    # on to the region's Microsoft sign-out (a redirect, OK).
    "signout/": Row("/signout/", (200, OK, OK, OK, OK, OK), "POST"),
}
# The same routes reaching into region "eu" (every test user but the global admin is of "us").
# The global admin is not in the EU partner tenant's groups, so EU customer pages are 404 to
# them too: crossing regions is about configuration, compliance and audit, not customer data.
CROSS_REGION: list[Row] = [
    Row("/customers/{eu_tenant}/", OTHER_REGION_AGENT),
    Row("/customers/{eu_tenant}/provisioning/", OTHER_REGION_AGENT),
    Row("/customers/{eu_tenant}/users/{eu_user_object}/", OTHER_REGION_AGENT),
    Row("/customers/{eu_tenant}/users/export.csv", OTHER_REGION_AGENT),
    Row("/customers/{eu_tenant}/managed-devices/{eu_managed_device}/", OTHER_REGION_AGENT),
    Row(
        "/customers/{eu_tenant}/users/{eu_user_object}/actions/revoke-sessions/",
        OTHER_REGION_AGENT,
        "POST",
    ),
    Row(
        "/customers/{eu_tenant}/managed-devices/{eu_managed_device}/actions/sync/",
        OTHER_REGION_AGENT,
        "POST",
    ),
    Row("/customers/{eu_tenant}/users/bulk/", OTHER_REGION_MANAGER_CUSTOMER, "POST"),
    Row("/customers/{eu_tenant}/bulk/{eu_bulk_run}/", OTHER_REGION_MANAGER_CUSTOMER),
    # A run of region "eu" under a customer of "us": 404, the run is not that customer's.
    Row("/customers/{tenant}/bulk/{eu_bulk_run}/", (SIGNIN, NO_ACCESS, FORBIDDEN, 404, 404, 404)),
    Row("/compliance/sweeps/{eu_sweep}/", OTHER_REGION_MANAGER),
    # Another region's weekly report, named in the URL: 404 to its managers and admins.
    Row("/compliance/report/?region=eu", OTHER_REGION_MANAGER),
    Row("/compliance/report.csv?region=eu", OTHER_REGION_MANAGER),
    # Another region's alert: 404 to acknowledge for every role of "us" but the global admin.
    Row("/alerts/{eu_alert}/acknowledge/", (SIGNIN, NO_ACCESS, 404, 404, 404, OK), "POST"),
    Row("/regions/eu/", OTHER_REGION_ADMIN),
    Row("/regions/eu/setup/", OTHER_REGION_ADMIN),
    Row("/regions/eu/setup/discovery/", OTHER_REGION_ADMIN, "POST"),
    Row("/regions/eu/preconsent/", OTHER_REGION_ADMIN, "POST"),
    Row("/regions/eu/notifications/", OTHER_REGION_ADMIN),
    Row("/regions/eu/notifications/reports/", OTHER_REGION_ADMIN),
    Row("/regions/eu/notifications/{eu_channel}/test/", OTHER_REGION_ADMIN, "POST"),
    Row("/regions/eu/notifications/{eu_channel}/delete/", OTHER_REGION_ADMIN, "POST"),
    Row("/regions/eu/notifications/{eu_channel}/edit/", OTHER_REGION_ADMIN),
    Row("/regions/eu/notifications/{eu_channel}/active/", OTHER_REGION_ADMIN, "POST"),
    Row("/regions/eu/alert-settings/", OTHER_REGION_ADMIN),
    # Another region's channel under one's own region: not there, for the global admin too.
    Row(
        "/regions/us/notifications/{eu_channel}/test/",
        (SIGNIN, NO_ACCESS, FORBIDDEN, FORBIDDEN, 404, 404),
        "POST",
    ),
    Row(
        "/regions/us/notifications/{eu_channel}/edit/",
        (SIGNIN, NO_ACCESS, FORBIDDEN, FORBIDDEN, 404, 404),
    ),
    Row(
        "/regions/us/notifications/{eu_channel}/active/",
        (SIGNIN, NO_ACCESS, FORBIDDEN, FORBIDDEN, 404, 404),
        "POST",
    ),
    Row("/users/{eu_user}/end-sessions/", OTHER_REGION_ADMIN, "POST"),
]
# Every URL under /admin/ is Django admin's, which admits staff only (Portal.Admin and
# Portal.GlobalAdmin, set at sign-in) with view permissions from the role; its rows are
# generated from the registered models below. Its login view (portal/urls.py) shows "no
# access" to a user without a portal role and a plain 403 to agents and managers.
ADMIN_SITE = (SIGNIN, NO_ACCESS, FORBIDDEN, FORBIDDEN, OK, OK)


def url_routes() -> Iterator[str]:
    """Every route of the URL conf, as `"prefix/<conv:name>/"` strings."""

    def walk(patterns: list[Any], prefix: str) -> Iterator[str]:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern)

    yield from walk(get_resolver().url_patterns, "")


def admin_rows() -> dict[str, Row]:
    rows = {"admin/": Row("/admin/", ADMIN_SITE)}
    for model in admin.site._registry:
        meta = model._meta
        path = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        rows[path] = Row(path, ADMIN_SITE)
        app = reverse("admin:app_list", args=[meta.app_label])
        rows[app] = Row(app, ADMIN_SITE)
    return rows


def test_every_url_of_the_portal_has_a_row_in_the_roles_matrix():
    routes = list(url_routes())
    missing = [r for r in routes if r not in MATRIX and not r.startswith(ADMIN_PREFIX)]
    assert not missing, (
        f"URLs without a row in tests/test_roles_matrix.py MATRIX: {missing}. Decide who may "
        "open them (anonymous, no role, agent, manager, admin) and add a row."
    )
    stale = [r for r in MATRIX if r not in routes]
    assert not stale, f"MATRIX rows for URLs that no longer exist: {stale}"


def _passes(response: Any, expected: str | int) -> bool:
    if isinstance(expected, int):
        return response.status_code == expected
    chain = [urlsplit(url).path for url, _ in getattr(response, "redirect_chain", [])]
    final = chain[-1] if chain else None
    if expected == SIGNIN:
        return response.status_code == 200 and final == "/signin/"
    if expected == NO_ACCESS:
        return response.status_code == 403 and b'data-testid="no-access"' in response.content
    if expected == FORBIDDEN:
        return response.status_code == 403 and b'data-testid="no-access"' not in response.content
    if expected == OK:
        if response.status_code == 200 and not chain:
            return True
        location = urlsplit(response.get("Location", "")).path
        return response.status_code == 302 and location not in ("/signin/", "/no-access/")
    raise AssertionError(f"unknown expectation {expected}")


def _request(client: Client, row: Row, values: dict[str, str], expected: str | int) -> Any:
    path = row.sample.format(**values)
    follow = expected in (SIGNIN, NO_ACCESS, FORBIDDEN)
    if row.method == "POST":
        return client.post(path, follow=follow)
    return client.get(path, follow=follow)


def _channel(region: Region) -> NotificationChannel:
    channel = NotificationChannel(region=region, kind=ChannelKind.EMAIL, name="matrix")
    channel.set_target("noc@contoso.example")
    channel.save()
    return channel


def _alert(region: Region, customer: Customer) -> Alert:
    now = timezone.now()
    return Alert.objects.create(
        region=region,
        customer=customer,
        kind=AlertKind.CONSENT_LOST,
        key=f"customer-{customer.pk}",
        title=f"{customer.name}: the app's consent was lost.",
        opened_at=now,
        last_seen_at=now,
    )


@pytest.fixture
def values(customers: dict[str, list[Customer]], regions: dict[str, Region]) -> dict[str, str]:
    """Real objects of region "us", where every test user signs in."""
    customer = next(c for c in customers["us"] if c.relationship_status == "active")
    eu_customer = next(c for c in customers["eu"] if c.relationship_status == "active")

    def first_id(region: str, tenant: object, path: str) -> str:
        graph = graph_as_app(region=regions[region], tenant_id=str(tenant))
        return graph.get(path, params={"$top": 1, "$select": "id"})["value"][0]["id"]

    group = first_id("us", customer.tenant_id, "/groups")
    return {
        "tenant": str(customer.tenant_id),
        "group": group,
        "run": str(SyncRun.objects.create(region=regions["us"], requested_by="test").pk),
        "sweep": str(
            ComplianceSweep.objects.create(
                region=regions["us"], scope=ComplianceSweep.scope_for(regions["us"].pk)
            ).pk
        ),
        "eu_sweep": str(
            ComplianceSweep.objects.create(
                region=regions["eu"], scope=ComplianceSweep.scope_for(regions["eu"].pk)
            ).pk
        ),
        "user_object": first_id("us", customer.tenant_id, "/users"),
        "managed_device": first_id("us", customer.tenant_id, "/deviceManagement/managedDevices"),
        "eu_tenant": str(eu_customer.tenant_id),
        "eu_user_object": first_id("eu", eu_customer.tenant_id, "/users"),
        "eu_managed_device": first_id(
            "eu", eu_customer.tenant_id, "/deviceManagement/managedDevices"
        ),
        "bulk_run": str(
            BulkRun.objects.create(
                region=regions["us"],
                customer=customer,
                action="block-sign-in",
                target="user",
                status=BulkRun.Status.DONE,
            ).pk
        ),
        "eu_bulk_run": str(
            BulkRun.objects.create(
                region=regions["eu"],
                customer=eu_customer,
                action="block-sign-in",
                target="user",
                status=BulkRun.Status.DONE,
            ).pk
        ),
        "consent_run": str(
            ConsentRun.objects.create(
                region=regions["us"], requested_by="test", status=ConsentRun.Status.DONE
            ).pk
        ),
        "alert": str(_alert(regions["us"], customer).pk),
        "eu_alert": str(_alert(regions["eu"], eu_customer).pk),
        "channel": str(_channel(regions["us"]).pk),
        "eu_channel": str(_channel(regions["eu"]).pk),
        "region": "us",
        "user": str(
            get_user_model()
            .objects.get_or_create(
                username="matrix-target",
                defaults={"tenant_id": regions["us"].partner_tenant_id, "region": regions["us"]},
            )[0]
            .pk
        ),
        "eu_user": str(
            get_user_model()
            .objects.get_or_create(
                username="matrix-target-eu",
                defaults={"tenant_id": regions["eu"].partner_tenant_id, "region": regions["eu"]},
            )[0]
            .pk
        ),
    }


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_exactly_what_the_matrix_says(
    role: str, sign_in: Callable[[str], Client], values: dict[str, str]
):
    if role == "anonymous":
        client = Client(HTTP_HOST=HOST)
    else:
        client = sign_in(f"{role}@contosopartners.com")
    # A crash is one more wrong cell in the table, not the end of the walk.
    client.raise_request_exception = False
    index = ROLES.index(role)
    rows = {**MATRIX, **admin_rows(), **{f"other region {r.sample}": r for r in CROSS_REGION}}
    # Signing out ends the session: it goes last.
    ordered = sorted(rows.items(), key=lambda item: item[0] == "signout/")
    wrong = []
    for route, row in ordered:
        expected = row.expect[index]
        response = _request(client, row, values, expected)
        if not _passes(response, expected):
            chain = [url for url, _ in getattr(response, "redirect_chain", [])]
            wrong.append(
                f"{row.method} {row.sample.format(**values)} ({route}): expected {expected}, "
                f"got {response.status_code} {response.get('Location', '')} {chain}"
            )
    assert not wrong, f"{role}:\n" + "\n".join(wrong)


@pytest.mark.django_db
def test_static_files_are_public(portal_client: Client):
    # Served by WhiteNoise before any URL pattern; the sign-in page needs them.
    assert portal_client.get("/static/css/portal.css").status_code == 200
