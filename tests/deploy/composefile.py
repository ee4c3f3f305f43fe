"""docker-compose.yml read as `docker compose config` would, for the tests (no Docker here)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"

# Compose's interpolation: $$ (a literal $), ${VAR}, ${VAR:-default}, ${VAR-default},
# ${VAR:?error}, ${VAR?error}, $VAR.
_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)"
    r"(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|(?P<named>[A-Za-z_][A-Za-z0-9_]*))"
)


class MissingVariable(Exception):
    pass


def env_file(path: Path = ENV_EXAMPLE) -> dict[str, str]:
    """KEY=VALUE lines, as compose's env_file and `.env` reading take them."""
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value
    return values


def interpolate(text: str, variables: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["braced"] or match["named"]
        value = variables.get(name)
        op, arg = match["op"], match["arg"] or ""
        unset = value is None or (op is not None and op.startswith(":") and value == "")
        if op and op.endswith("?") and unset:
            raise MissingVariable(f"{name}: {arg}")
        if op and op.endswith("-") and unset:
            return arg
        return value or ""

    return _VARIABLE.sub(replace, text)


def variables_required(text: str) -> set[str]:
    return {m["braced"] for m in _VARIABLE.finditer(text) if m["op"] and m["op"].endswith("?")}


def load(variables: dict[str, str]) -> dict[str, Any]:
    return yaml.safe_load(interpolate(COMPOSE.read_text(), variables))


def filled_env() -> dict[str, str]:
    """.env.example with its REQUIRED blanks filled in, as an operator would."""
    return {
        **env_file(),
        "DJANGO_SECRET_KEY": "test-" + "k3y" * 20,
        "PORTAL_ENCRYPTION_KEYS": "x18ITJa-qveMSYPJ-ma0Tb3bOBIYtR6APw4FoJnmQVA=",
        "POSTGRES_PASSWORD": "0123456789abcdef",
        "DATABASE_URL": "postgres://portal:0123456789abcdef@postgres:5432/portal",
        "CADDY_TLS": "internal",
    }
