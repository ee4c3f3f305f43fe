"""The simulator's Graph part stands alone: no Microsoft Graph SDK (or Kiota) needed."""

from __future__ import annotations

import subprocess
import sys

from tests.simharness import ROOT

SDK_PACKAGES = ("msgraph", "msgraph_core", "kiota_abstractions", "kiota_http", "azure.identity")


def test_the_graph_and_partner_center_parts_import_without_the_graph_sdk():
    # A fresh interpreter in which importing any SDK package fails loudly.
    blocker = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name.split('.')[0] in {[p.split('.')[0] for p in SDK_PACKAGES]!r}:\n"
        "            raise ImportError('Graph SDK import: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import simulator.graph.routes, simulator.graph.batch, simulator.partnercenter\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", blocker], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
