"""Every page of the portal in Chromium, as the role that may open it, at a phone's and a
desktop's size, light and dark: no horizontal overflow, no serious or critical axe-core
violation, and a screenshot of each in artifacts/pages/.

The inventory is the roles matrix (tests/test_roles_matrix.py): a GET row that some role may
open is a page here, so a new page is audited as soon as it has its row. axe-core comes from
npm into tests/browser/tooling/ (scripts/test.sh runs `npm ci` there); it is injected by the
test (an init script: the CSP stays on) and never served to users.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS
from tests.test_roles_matrix import MATRIX, OK, ROLES, Row
from tests.test_roles_matrix import values as values  # the matrix's real ids, as a fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parent / "tooling" / "node_modules" / "axe-core" / "axe.min.js"
PAGES = ARTIFACTS / "pages"
SIZES = {"390": {"width": 390, "height": 844}, "1440": {"width": 1440, "height": 900}}
SCHEMES = ("light", "dark")
SERIOUS = {"serious", "critical"}

# Not pages: data (JSON, CSV) and the fragments htmx swaps into a page.
NOT_PAGES = {
    "healthz",
    "home/admin/",
    "compliance/export.csv",
    "compliance/noncompliant.csv",
    "compliance/report.csv",
    "customers/export.csv",
    "customers/<tenant:tenant_id>/users/export.csv",
    "customers/switch/",
    "customers/sync/<int:run_id>/",
    "customers/<customer_tenant:tenant_id>/provisioning/status/",
    "search/live/",
    "compliance/sweeps/<int:sweep_id>/",
}
# Pages the matrix gives a status of their own rather than OK, and who sees them.
EXTRA = {
    "auth/callback/": "anonymous",  # 400: the sign-in error page
    "no-access/": "norole",
}
# The error pages, in the frame: a customer that is nobody's (404), a manager's page (403).
ERRORS = {
    "error-404": ("agent", "/customers/00000000-0000-4000-8000-000000000000/"),
    "error-403": ("agent", "/compliance/"),
    "error-404-anonymous": ("anonymous", "/no-such-page/"),
}


def _opener(route: str, row: Row) -> str | None:
    """The least privileged role that may open the page (None: nobody, or not a page)."""
    if row.method != "GET" or route in NOT_PAGES:
        return None
    if route in EXTRA:
        return EXTRA[route]
    for role, expected in zip(ROLES, row.expect, strict=True):
        if expected in (OK, 200):
            return role
    return None


def _name(route: str) -> str:
    """customers/<tenant:tenant_id>/users/ -> customers-tenant-users"""
    name = re.sub(r"<(?:[a-z_]+:)?([a-z_]+)>", lambda m: m.group(1).removesuffix("_id"), route)
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "home"


def inventory(ids: dict[str, str]) -> dict[str, list[tuple[str, str]]]:
    """{role: [(page name, path), …]} over the matrix and the error pages."""
    pages: dict[str, list[tuple[str, str]]] = {role: [] for role in ROLES}
    for route, row in MATRIX.items():
        role = _opener(route, row)
        if role is not None:
            pages[role].append((_name(route), row.sample.format(**ids)))
    for name, (role, path) in ERRORS.items():
        pages[role].append((name, path))
    return pages


def _overflow(page: Any) -> int:
    """How many pixels the page is wider than the window (0: none)."""
    return page.evaluate(
        "() => Math.max(0, document.scrollingElement.scrollWidth - window.innerWidth)"
    )


def _axe(page: Any) -> list[str]:
    result = page.evaluate(
        """async () => {
          const r = await axe.run(document, {resultTypes: ["violations"]});
          return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 3).map(n => n.target.join(" ") + " ["
              + (n.any.concat(n.all)[0] || {message: ""}).message + "]")}));
        }"""
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {', '.join(v['nodes'])}"
        for v in result
        if v["impact"] in SERIOUS
    ]


def audit(page: Any, name: str) -> list[str]:
    """Overflow and axe at every size and scheme, with a screenshot of each."""
    problems = []
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        for scheme in SCHEMES:
            # Reduced motion: Bootstrap drops its colour transitions, which axe would otherwise
            # sample halfway between the two themes.
            page.emulate_media(color_scheme=scheme, reduced_motion="reduce")
            # The theme script follows matchMedia; charts redraw on resize and on the theme.
            page.wait_for_function(
                "s => document.documentElement.dataset.bsTheme === s", arg=scheme, timeout=3000
            )
            page.wait_for_timeout(100)
            label = f"{name}-{size}-{scheme}"
            wider = _overflow(page)
            if wider:
                problems.append(f"{label}: {wider}px wider than the window")
            problems.extend(f"{label}: {v}" for v in _axe(page))
            page.screenshot(path=str(PAGES / f"{label}.png"), full_page=True)
    return problems


@pytest.mark.parametrize("role", ROLES)
def test_every_page_fits_a_phone_and_passes_axe_in_light_and_dark(
    role, chromium, live_server, values, browser_sign_in, world
):
    assert AXE.exists(), "axe-core is missing: cd tests/browser/tooling && npm ci"
    PAGES.mkdir(parents=True, exist_ok=True)
    pages = inventory(values)[role]
    context = chromium.new_context(viewport=SIZES["1440"])
    # An init script, not add_script_tag: our CSP (script-src 'self') refuses inline script,
    # and must stay on while we test.
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        if role != "anonymous":
            browser_sign_in(page, f"{role}@contosopartners.com")
        problems = []
        for name, path in pages:
            page.goto(f"{live_server.url}{path}")
            page.wait_for_load_state("networkidle")
            problems.extend(audit(page, name))
    finally:
        context.close()
    assert pages, f"no page to audit as {role}"
    assert not problems, f"{role}: {len(problems)} problems\n" + "\n".join(problems)
