"""The multi-machine shape test: its marker (registered here, so the test stays self-contained)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "multiprocess: starts gunicorn webs, Celery workers and beat with production settings",
    )
