"""In-process checks of the world, tokens, faults and request log (no server needed)."""

from __future__ import annotations

import time

import jwt
import pytest

from simulator import gdap
from simulator.config import SeedConfig
from simulator.context import SimContext
from simulator.faults import FaultConfigError, Faults
from simulator.reqlog import RequestLog, kind_of
from simulator.signing import SigningKeys
from simulator.tokens import (
    GRAPH_AUDIENCES,
    PARTNER_CENTER_AUDIENCES,
    InvalidToken,
    verify_access_token,
)
from simulator.world import World


@pytest.fixture(scope="module")
def ctx() -> SimContext:
    return SimContext(config=SeedConfig(), signing=SigningKeys.generate())


def token(ctx: SimContext, **claims) -> str:
    now = int(time.time())
    base = {
        "aud": "https://graph.microsoft.com",
        "tid": ctx.world.regions[0].partner_tenant_id,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
    }
    return ctx.signing.sign({**base, **claims})


def test_the_same_seed_builds_the_same_world():
    one, two = World.build(seed=7), World.build(seed=7)

    assert list(one.tenants) == list(two.tenants)
    assert [t.name for t in one.tenants.values()] == [t.name for t in two.tenants.values()]
    assert one.regions[0].app.client_secret == two.regions[0].app.client_secret
    assert list(World.build(seed=8).tenants) != list(one.tenants)


def test_thousands_of_customers_build_quickly_with_unique_domains():
    started = time.monotonic()
    world = World.build(customers=2500)

    assert time.monotonic() - started < 2
    assert len(world.tenants) == 2 * (2500 + 1 + 1)
    domains = [t.domain for t in world.tenants.values()]
    assert len(set(domains)) == len(domains)


def test_the_big_tenant_is_a_us_customer():
    world = World.build(big_tenant_users=100_000)

    big = [t for t in world.tenants.values() if t.big]

    assert [(t.region, t.users, t.relationship_status) for t in big] == [("us", 100_000, "active")]


def test_the_demo_world_has_a_big_a_device_rich_and_a_deviceless_customer_in_each_region():
    world = World.build(demo=True)
    for region in world.regions:
        sizes = [(t.users, t.devices) for t in world.customers_of(region.partner_tenant_id)]
        assert any(users >= 3000 for users, _ in sizes), region.slug
        assert any(devices >= 400 for _, devices in sizes), region.slug
        assert any(devices == 0 for _, devices in sizes), region.slug
    plain = World.build()
    assert all(t.users == 25 for t in plain.tenants.values() if t.kind == "customer")


def test_a_reset_keeps_the_demo_sizes():
    demo = SimContext(config=SeedConfig(demo=True), signing=SigningKeys.generate())
    before = sorted(t.users for t in demo.world.tenants.values())
    demo.reset()
    assert sorted(t.users for t in demo.world.tenants.values()) == before
    assert max(before) >= 3000


def test_tenants_are_found_by_guid_or_verified_domain(ctx):
    partner = ctx.world.regions[1]

    assert ctx.world.find_tenant(partner.partner_domain.upper()).id == partner.partner_tenant_id
    assert (
        ctx.world.find_tenant("contosopartnerseu.onmicrosoft.com").id == partner.partner_tenant_id
    )
    assert ctx.world.find_tenant(partner.partner_tenant_id.upper()).kind == "partner"
    assert ctx.world.find_tenant("nowhere.example") is None


def test_a_new_customer_propagates_after_the_delay_and_its_domain_is_unique():
    world = World.build()
    world.propagation_delay_for = lambda _tid: 180.0
    region = world.regions[0]

    tenant = world.create_customer(
        partner_tenant_id=region.partner_tenant_id,
        domain_prefix="newco",
        company_name="NewCo Inc.",
        country="US",
        now=1000.0,
    )

    assert not world.app_access(region.app, tenant.id, now=1100.0)
    # Propagated, but a created customer has no consent: the app is not there yet.
    assert not world.app_access(region.app, tenant.id, now=1180.0)
    tenant.app_consent = gdap.AppConsent(True, ["User.Read.All"], ["User.Read.All"])
    assert not world.app_access(region.app, tenant.id, now=1100.0)
    assert world.app_access(region.app, tenant.id, now=1180.0)
    with pytest.raises(ValueError):
        world.create_customer(
            partner_tenant_id=region.partner_tenant_id,
            domain_prefix="NewCo",
            company_name="Other",
            country="US",
            now=1000.0,
        )


def test_a_valid_token_verifies_for_its_audience(ctx):
    claims = verify_access_token(ctx, token(ctx), audiences=GRAPH_AUDIENCES)

    assert claims["aud"] == "https://graph.microsoft.com"


@pytest.mark.parametrize(
    ("claims", "audiences"),
    [
        ({"exp": 1, "nbf": 0}, GRAPH_AUDIENCES),
        ({"nbf": int(time.time()) + 3600, "exp": int(time.time()) + 7200}, GRAPH_AUDIENCES),
        ({}, PARTNER_CENTER_AUDIENCES),
        ({"tid": "00000000-0000-0000-0000-000000000000"}, GRAPH_AUDIENCES),
    ],
    ids=["expired", "not-yet-valid", "wrong-audience", "unknown-tenant"],
)
def test_a_bad_token_is_refused(ctx, claims, audiences):
    with pytest.raises(InvalidToken):
        verify_access_token(ctx, token(ctx, **claims), audiences=audiences)


def test_a_token_signed_by_another_key_is_refused(ctx):
    other = SigningKeys.generate()
    forged = other.sign(jwt.decode(token(ctx), options={"verify_signature": False}))

    with pytest.raises(InvalidToken):
        verify_access_token(ctx, forged, audiences=GRAPH_AUDIENCES)


def test_the_jwks_verifies_issued_tokens(ctx):
    jwk = ctx.signing.jwks()["keys"][0]
    key = jwt.algorithms.RSAAlgorithm.from_jwk(jwk)
    raw = token(ctx)

    assert jwt.get_unverified_header(raw)["kid"] == jwk["kid"] == jwk["x5t"]
    assert jwt.decode(raw, key, algorithms=["RS256"], audience="https://graph.microsoft.com")


def test_throttle_counts_per_app_and_tenant_and_answers_retry_after():
    faults = Faults.from_config(SeedConfig(throttle="2/5"))

    answers = [faults.throttle("app", "t1") for _ in range(3)]

    assert answers[:2] == [None, None]
    assert 1 <= answers[2] <= 5
    assert faults.throttle("app", "t2") is None
    assert faults.throttle("other-app", "t1") is None


def test_a_per_tenant_throttle_overrides_the_global_one():
    faults = Faults.from_config(SeedConfig())
    faults.update({"throttle": {"limit": 1, "window": 10}}, tenant_id="t1")

    assert faults.throttle("app", "t1") is None
    assert faults.throttle("app", "t1") is not None
    assert faults.throttle("app", "t2") is None and faults.throttle("app", "t2") is None


def test_the_request_log_is_bounded_but_the_counters_are_not():
    log = RequestLog(max_entries=3)

    for _ in range(5):
        log.record(method="GET", path="/graph/v1.0/users", tenant="t", status=200, kind="graph")

    snapshot = log.snapshot()
    assert snapshot["counters"]["graph"] == 5
    assert len(snapshot["requests"]) == 3


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/t/oauth2/v2.0/token", "token"),
        ("/t/oauth2/token", "token"),
        ("/t/v2.0/.well-known/openid-configuration", "discovery"),
        ("/t/discovery/v2.0/keys", "discovery"),
        ("/t/oauth2/v2.0/authorize", "authorize"),
        ("/graph/v1.0/$batch", "graph"),
        ("/partnercenter/v1/customers", "partnercenter"),
        ("/_sim/requests", "control"),
    ],
)
def test_log_kinds_come_from_the_path(path, kind):
    assert kind_of(path) == kind


def test_a_null_per_tenant_value_removes_the_override():
    faults = Faults.from_config(SeedConfig())
    faults.update({"propagation_mode": "no_roles", "latency_ms": 5}, tenant_id="t1")

    faults.update({"propagation_mode": None}, tenant_id="t1")

    assert faults.propagation_mode("t1") == "aadsts"
    assert faults.snapshot()["tenants"] == {"t1": {"latency_ms": 5}}


@pytest.mark.parametrize(
    "changes",
    [{"latency_ms": -1}, {"token_lifetime": 0}, {"propagation_mode": "maybe"}, {"nope": 1}],
)
def test_invalid_fault_settings_are_refused(changes):
    with pytest.raises(FaultConfigError):
        Faults.from_config(SeedConfig()).update(changes)
