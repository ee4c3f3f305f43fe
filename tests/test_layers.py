"""Product packages import only downwards: no cycles, and no package imports one above it."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Bottom to top. Packages on one level may import each other, but not in a cycle.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("portal", "mscloud", "audit"),
    ("regions",),
    ("accounts",),
    ("customers", "regionadmin"),
    ("compliance", "provisioning", "search"),
    ("alerts",),
)
LEVEL = {package: level for level, packages in enumerate(LAYERS) for package in packages}

# Only mscloud/ talks HTTP and MSAL; everyone else gets its clients and typed errors.
MICROSOFT_LIBRARIES = {"requests", "msal", "urllib3"}


def _imports(package: str, *, of: set[str] | None = None) -> list[tuple[str, str]]:
    """(file, imported module) for every absolute import (function-local ones included) of
    another product package, or of the top-level modules in `of`."""
    wanted = of if of is not None else set(LEVEL) - {package}
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.partition(".")[0]
                if top in wanted:
                    found.append((path.relative_to(ROOT).as_posix(), module))
    return found


def test_no_package_imports_a_package_above_it():
    upward = [
        (file, module)
        for package in LEVEL
        for file, module in _imports(package)
        if LEVEL[module.partition(".")[0]] > LEVEL[package]
    ]
    assert upward == [], "Move the code down, or the import up: see LAYERS."


def test_packages_on_one_level_do_not_import_each_other_both_ways():
    edges = {
        (package, module.partition(".")[0]) for package in LEVEL for _, module in _imports(package)
    }
    cycles = sorted((a, b) for a, b in edges if (b, a) in edges and LEVEL[a] == LEVEL[b] and a < b)
    assert cycles == []


def test_only_mscloud_imports_requests_msal_or_urllib3():
    outside = [
        found
        for package in LEVEL
        if package != "mscloud"
        for found in _imports(package, of=MICROSOFT_LIBRARIES)
    ]
    assert outside == [], "Ask regions.clients for a client; catch mscloud.errors.MicrosoftError."


def test_product_code_never_imports_the_simulator():
    assert [found for package in LEVEL for found in _imports(package, of={"simulator"})] == []
