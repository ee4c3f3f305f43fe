"""Playwright driving Debian's Chromium (Playwright's own browser download does not work here)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Without these, Chromium keeps calling Google services that this closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: apt-get install -y chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1360, "height": 860})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def shot() -> Callable[[Any, str], Path]:
    ARTIFACTS.mkdir(exist_ok=True)

    def _shot(page: Any, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return _shot


@pytest.fixture
def browser_sign_in(live_server: Any, world: dict[str, Any]) -> Callable[..., None]:
    """Sign in through the portal's page and the simulator's Microsoft-style page."""
    from tests.conftest import password_of

    def _sign_in(page: Any, username: str, shot: Callable | None = None) -> None:
        page.goto(f"{live_server.url}/signin/")
        page.fill("input[name=username]", username)
        if shot:
            shot(page, "signin-portal")
        page.click("button[type=submit]")
        page.wait_for_selector("input[name=passwd]")
        if shot:
            shot(page, "signin-microsoft")
        page.fill("input[name=passwd]", password_of(world, username))
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/**")
        page.wait_for_load_state("networkidle")

    return _sign_in
