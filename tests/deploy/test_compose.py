"""docker-compose.yml against the compose-spec JSON schema (as vendored by check-jsonschema)
and the portal's own rules. `docker compose config` cannot run here: no Docker."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from check_jsonschema.builtin_schemas import get_builtin_schema

from tests.deploy.composefile import (
    COMPOSE,
    ROOT,
    MissingVariable,
    env_file,
    filled_env,
    load,
    variables_required,
)

PORTAL = ("migrate", "web", "worker", "beat")
LONG_RUNNING = ("postgres", "redis", "web", "worker", "beat", "caddy", "simulator")
ONE_SHOT = ("migrate", "demo-setup")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load(filled_env())


def test_the_compose_file_is_valid_against_the_compose_spec(compose: dict[str, Any]) -> None:
    schema = get_builtin_schema("vendor.compose-spec")
    jsonschema.validate(compose, schema, cls=jsonschema.Draft202012Validator)


def test_every_service_names_its_image(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {*LONG_RUNNING, *ONE_SHOT, "caddy"} | {"postgres", "redis"}
    for name, service in services.items():
        assert service.get("image"), name
    for name in PORTAL:
        assert services[name]["image"] == "csp-portal:latest"
        assert services[name]["build"] == {"context": ".", "target": "production"}
    for name in ("simulator", "demo-setup"):
        assert services[name]["image"] == "csp-portal-demo:latest"
        assert services[name]["build"]["target"] == "demo"


def test_no_service_overrides_the_database_or_redis_urls_of_the_env_file(
    compose: dict[str, Any],
) -> None:
    for name, service in compose["services"].items():
        environment = service.get("environment") or {}
        keys = (
            set(environment)
            if isinstance(environment, dict)
            else {item.split("=", 1)[0] for item in environment}
        )
        assert not keys & {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}, name
    for name in (*PORTAL, "demo-setup"):
        assert compose["services"][name]["env_file"] == ".env"


def test_the_database_password_comes_from_the_env_file_and_is_required() -> None:
    text = COMPOSE.read_text()
    assert "POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?set it in .env}" in text
    variables = {**filled_env()}
    del variables["POSTGRES_PASSWORD"]
    with pytest.raises(MissingVariable, match="POSTGRES_PASSWORD"):
        load(variables)


def test_every_variable_compose_requires_is_in_the_env_template() -> None:
    required = variables_required(COMPOSE.read_text())
    assert {"POSTGRES_PASSWORD", "PORTAL_DOMAIN", "CADDY_TLS"} <= required
    assert required <= set(env_file())


def test_long_running_services_have_health_checks_restart_policies_grace_and_limits(
    compose: dict[str, Any],
) -> None:
    for name in LONG_RUNNING:
        service = compose["services"][name]
        assert service["healthcheck"]["test"], name
        assert service["restart"] == "unless-stopped", name
        assert service["stop_grace_period"], name
        assert service["deploy"]["resources"]["limits"]["memory"], name
    for name in ONE_SHOT:
        assert compose["services"][name]["restart"] == "no", name


def test_web_is_checked_on_livez_and_celery_by_pinging_its_own_node(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    assert "/livez" in " ".join(services["web"]["healthcheck"]["test"])
    for name in ("worker", "beat"):
        check = " ".join(services[name]["healthcheck"]["test"])
        assert "celery -A portal inspect ping -d celery@$HOSTNAME" in check, name
        assert "--hostname celery@$HOSTNAME" in " ".join(services[name]["command"]), name
    # Workers finish their tasks on a warm shutdown: more grace than Docker's 10 s.
    assert services["worker"]["stop_grace_period"] == "5m"


def test_beat_is_a_singleton(compose: dict[str, Any]) -> None:
    beat = compose["services"]["beat"]
    assert beat["deploy"]["replicas"] == 1
    assert "--beat" in beat["command"][-1]
    assert "--beat" not in " ".join(compose["services"]["worker"]["command"])


def test_web_worker_and_beat_start_only_after_migrations_completed(
    compose: dict[str, Any],
) -> None:
    for name in ("web", "worker", "beat"):
        depends = compose["services"][name]["depends_on"]
        assert depends["migrate"] == {"condition": "service_completed_successfully"}, name
        assert depends["postgres"] == {"condition": "service_healthy"}, name
    migrate = compose["services"]["migrate"]
    assert migrate["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert "migrate" not in migrate["depends_on"]


def test_only_the_tls_front_publishes_ports_outside_the_demo(compose: dict[str, Any]) -> None:
    published = {
        name: service["ports"]
        for name, service in compose["services"].items()
        if service.get("ports") and "demo" not in service.get("profiles", [])
    }
    assert published == {"caddy": ["80:80", "443:443", "443:443/udp"]}
    caddyfile = (ROOT / "deploy" / "caddy" / "Caddyfile").read_text()
    assert "{$PORTAL_DOMAIN} {" in caddyfile
    assert "tls {$CADDY_TLS}" in caddyfile
    assert "reverse_proxy web:8000" in caddyfile
    # Without trusted_proxies, Caddy (2.5+) replaces the X-Forwarded-* a client sent.
    # Reference: https://github.com/caddyserver/caddy/pull/4507
    directives = [line for line in caddyfile.splitlines() if not line.lstrip().startswith("#")]
    assert not [line for line in directives if "trusted_proxies" in line]
    assert env_file()["PORTAL_TRUSTED_PROXY_COUNT"] == "1"


def test_the_demo_simulator_has_one_name_for_browsers_and_containers(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    simulator, setup = services["simulator"], services["demo-setup"]
    assert simulator["profiles"] == setup["profiles"] == ["demo"]
    command = simulator["command"]
    host = command[command.index("--public-host") + 1]
    assert host == "sim.localhost"
    assert simulator["networks"]["default"]["aliases"] == [host]
    assert setup["environment"]["SIM_URL"] == f"https://{host}:9443"
    # The CA the simulator writes is what the portal's containers read.
    assert "simdata:/app/.data/simulator" in simulator["volumes"]
    for name in (*PORTAL, "demo-setup"):
        assert "simdata:/app/.data/simulator:ro" in services[name]["volumes"], name
    assert setup["depends_on"] == {
        "simulator": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
    }
    script = (ROOT / "scripts" / "demo-setup.sh").read_text()
    assert 'configure_demo_regions --sim "$SIM_URL"' in script
