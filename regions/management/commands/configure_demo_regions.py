"""Configure regions from the local simulator's /_sim/ description (demo and tests)."""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from mscloud.errors import MicrosoftError
from mscloud.http import json_get
from regions.access_template import access_template_parse
from regions.models import Cloud, Region
from regions.selectors import region_find
from regions.services import region_save

ACTOR = "configure_demo_regions"


class Command(BaseCommand):
    help = "Create or update one Region per simulator region, pointing at the simulator."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--sim", default="https://127.0.0.1:9443", help="simulator base URL")
        parser.add_argument(
            "--ca", default=".data/simulator/ca.pem", help="the simulator's CA certificate"
        )
        parser.add_argument(
            "--portal-url",
            action="append",
            dest="portal_urls",
            default=None,
            help="an origin the portal is served at (repeatable); its sign-in callback is "
            "registered as a redirect URI of each region's app. Default: http://localhost "
            "and http://127.0.0.1, whose port Entra ignores (loopback).",
        )

    def handle(
        self,
        *args: object,
        sim: str,
        ca: str,
        portal_urls: list[str] | None = None,
        **options: object,
    ) -> None:
        ca_path = Path(ca).resolve()
        if not ca_path.exists():
            raise CommandError(f"No CA certificate at {ca_path}: start the simulator first.")
        try:
            info = json_get(
                f"{sim}/_sim/",
                ca_bundle=str(ca_path),
                timeout=10,
                # The simulator listens on loopback: allowed where the portal may call it.
                allow_private_hosts=settings.MICROSOFT_ALLOW_PRIVATE_HOSTS,
                require_https=settings.MICROSOFT_REQUIRE_HTTPS,
            )
        except MicrosoftError as exc:
            raise CommandError(exc.message) from exc
        callback = reverse("auth_callback")
        redirect_uris = [
            f"{origin.rstrip('/')}{callback}"
            for origin in portal_urls or ["http://localhost", "http://127.0.0.1"]
        ]
        for region in info["regions"]:
            # Entra sends the sign-in answer only to a redirect URI registered on the app
            # (AADSTS50011 otherwise): register the portal's callback, as an admin would.
            # Reference: https://learn.microsoft.com/entra/identity-platform/reply-url
            try:
                json_get(
                    f"{sim}/_sim/regions/{region['slug']}/app/redirect-uris",
                    ca_bundle=str(ca_path),
                    timeout=10,
                    allow_private_hosts=settings.MICROSOFT_ALLOW_PRIVATE_HOSTS,
                    require_https=settings.MICROSOFT_REQUIRE_HTTPS,
                    post={"redirect_uris": redirect_uris},
                )
            except MicrosoftError as exc:
                raise CommandError(exc.message) from exc
            saved = _save(region, endpoints=info["endpoints"], ca_bundle=str(ca_path))
            self.stdout.write(f"region {saved.slug}: {saved.name} ({region['partner_domain']})")


# What the demo gives its partner groups in each customer it creates (an admin edits it later).
_DEMO_ACCESS = {
    "Helpdesk agents": (
        "Directory Readers",
        "Helpdesk Administrator",
        "User Administrator",
        "Intune Administrator",
    ),
    "Portal admins": (
        "Directory Readers",
        "Global Reader",
        "User Administrator",
        "Cloud Application Administrator",
        "Privileged Role Administrator",
    ),
}


def _demo_access(sim_region: dict[str, Any]) -> list[dict[str, Any]]:
    lines = [
        f"{g['id']}: {', '.join(_DEMO_ACCESS[g['name']])}"
        for g in sim_region.get("groups", [])
        if g.get("name") in _DEMO_ACCESS
    ]
    return access_template_parse("\n".join(lines))


def _save(sim_region: dict[str, Any], *, endpoints: dict[str, str], ca_bundle: str) -> Region:
    """Create or update the region by slug, with exactly the simulator's sign-in domain."""
    slug, app = sim_region["slug"], sim_region["app"]
    region = region_find(slug=slug) or Region(slug=slug)
    region.name = sim_region["name"]
    region.partner_tenant_id = sim_region["partner_tenant_id"]
    region.client_id = app["client_id"]
    region.cloud = Cloud.CUSTOM
    # The graph resource stays as stored (new regions: the model's default audience).
    region.login_host = endpoints["login"]
    region.graph_base_url = endpoints["graph"]
    region.partner_center_base_url = endpoints["partner_center"]
    region.ca_bundle = ca_bundle
    region.active = True
    if not region.new_customer_access:
        region.new_customer_access = _demo_access(sim_region)
    # The same secret again is no change: re-encrypting it would log one at every start.
    secret = "" if region.client_secret == app["client_secret"] else app["client_secret"]
    return region_save(
        region=region,
        domains=[sim_region["partner_domain"]],
        client_secret=secret,
        # The simulator's secrets do not expire; keep whatever expiry an admin entered.
        client_secret_expires_at=region.client_secret_expires_at,
        actor=ACTOR,
    )
