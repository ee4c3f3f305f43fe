"""Configure regions from the local simulator's /_sim/ description (demo and tests)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mscloud.errors import MicrosoftError
from mscloud.http import json_get
from regions.services import region_upsert


class Command(BaseCommand):
    help = "Create or update one Region per simulator region, pointing at the simulator."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--sim", default="https://127.0.0.1:9443", help="simulator base URL")
        parser.add_argument(
            "--ca", default=".data/simulator/ca.pem", help="the simulator's CA certificate"
        )

    def handle(self, *args: object, sim: str, ca: str, **options: object) -> None:
        ca_path = Path(ca).resolve()
        if not ca_path.exists():
            raise CommandError(f"No CA certificate at {ca_path}: start the simulator first.")
        try:
            info = json_get(f"{sim}/_sim/", ca_bundle=str(ca_path), timeout=10)
        except MicrosoftError as exc:
            raise CommandError(exc.message) from exc
        endpoints = info["endpoints"]
        for region in info["regions"]:
            saved = region_upsert(
                slug=region["slug"],
                name=region["name"],
                partner_tenant_id=region["partner_tenant_id"],
                domains=[region["partner_domain"]],
                client_id=region["app"]["client_id"],
                client_secret=region["app"]["client_secret"],
                login_host=endpoints["login"],
                graph_base_url=endpoints["graph"],
                partner_center_base_url=endpoints["partner_center"],
                ca_bundle=str(ca_path),
            )
            self.stdout.write(f"region {saved.slug}: {saved.name} ({region['partner_domain']})")
