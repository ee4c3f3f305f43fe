"""The Dockerfile, .dockerignore and the hash-locked requirement sets, read as files (there is
no Docker engine here to build the image)."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
DIGEST_PIN = re.compile(r"^ARG BASE_IMAGE=python:3\.11-slim-bookworm@sha256:[0-9a-f]{64}$", re.M)


def _stages() -> dict[str, str]:
    """Stage name -> its instructions."""
    parts = re.split(r"^FROM (\S+) AS (\S+)$", DOCKERFILE, flags=re.M)
    return {parts[i + 1]: parts[i + 2] for i in range(1, len(parts) - 1, 3)}


def _bases() -> dict[str, str]:
    return dict((m[2], m[1]) for m in re.finditer(r"^FROM (\S+) AS (\S+)$", DOCKERFILE, re.M))


def _pins(path: Path) -> dict[str, str]:
    """name -> version of the `name==version` lines (following -r includes)."""
    pins: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip().rstrip("\\").strip()
        if line.startswith("-r "):
            pins.update(_pins(path.parent / line[3:].strip()))
        elif line and not line.startswith("-"):
            requirement = Requirement(line)
            (spec,) = requirement.specifier
            pins[requirement.name.lower().replace("_", "-")] = spec.version
    return pins


def test_the_base_image_is_pinned_by_digest_and_every_stage_starts_from_it_or_a_stage() -> None:
    assert DIGEST_PIN.search(DOCKERFILE)
    stages = _bases()
    for stage, base in stages.items():
        assert base == "${BASE_IMAGE}" or base in stages, f"{stage} starts from {base}"
    assert "FROM python" not in DOCKERFILE


def test_packages_are_installed_from_hash_locked_files_only() -> None:
    installs = re.findall(r"pip install[^\n]*", DOCKERFILE)
    assert installs == [
        "pip install --require-hashes --no-deps -r /tmp/requirements.lock",
        "pip install --require-hashes --no-deps -r /tmp/requirements-demo.lock",
    ]
    for lock in ("requirements.lock", "requirements-demo.lock"):
        text = (ROOT / lock).read_text()
        entries = re.findall(
            r"^(\S+)==\S+ \\\n((?:\s+--hash=sha256:[0-9a-f]{64}(?: \\)?\n)+)", text, re.M
        )
        pinned = [line for line in text.splitlines() if "==" in line and not line.startswith("#")]
        assert len(entries) == len(pinned) > 10, lock


def test_the_locks_hold_the_versions_the_requirement_files_ask_for() -> None:
    production = _pins(ROOT / "requirements.lock")
    for name, version in _pins(ROOT / "requirements.in").items():
        assert production.get(name) == version, name
    demo = _pins(ROOT / "requirements-demo.lock")
    for name, version in _pins(ROOT / "requirements.txt").items():
        assert demo.get(name) == version, name


def test_the_production_image_has_neither_the_simulator_nor_its_packages() -> None:
    production = _pins(ROOT / "requirements.lock")
    assert "werkzeug" not in production
    assert "sqlalchemy" not in production
    assert {"werkzeug", "sqlalchemy"} <= set(_pins(ROOT / "requirements-demo.lock"))
    stages = _stages()
    assert list(stages)[-1] == "production"  # `docker build .` builds it
    assert "rm -rf /src/simulator" in stages["source"]
    assert "COPY --from=deps /venv /venv" in stages["production"]
    assert "simulator" not in stages["production"]
    assert "COPY simulator /app/simulator" in stages["demo"]
    assert "COPY --from=deps-demo /venv /venv" in stages["demo"]


def test_the_images_run_as_a_non_root_user_with_a_health_check_on_livez() -> None:
    stages = _stages()
    for name in ("production", "demo"):
        assert "USER portal" in stages[name], name
    assert "HEALTHCHECK" in stages["runtime"]
    assert "/livez" in stages["runtime"]
    assert 'CMD ["gunicorn", "portal.wsgi", "-c", "python:portal.gunicorn_conf"]' in DOCKERFILE


def test_secrets_and_local_state_stay_out_of_the_build_context() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def ignored(path: str) -> bool:
        verdict = False
        for pattern in patterns:
            negate = pattern.startswith("!")
            pattern = pattern.lstrip("!").rstrip("/").removeprefix("**/")
            parts = path.split("/")
            prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
            if any(fnmatch.fnmatch(p, pattern) for p in prefixes) or fnmatch.fnmatch(
                parts[-1], pattern
            ):
                verdict = not negate
        return verdict

    for path in (
        ".env",
        ".env.production",
        ".data/simulator/ca-key.pem",
        ".data/simulator/signing-key.pem",
        ".venv/bin/python",
        ".git/config",
        "artifacts/report.html",
        "tests/browser/tooling/node_modules/axe-core/axe.js",
        "portal/__pycache__/settings.cpython-311.pyc",
    ):
        assert ignored(path), path
    for path in (
        "manage.py",
        "portal/settings/production.py",
        "requirements.lock",
        "simulator/app.py",
    ):
        assert not ignored(path), path
