"""Bridges a Region and the session to mscloud's MSAL wrapper."""

from __future__ import annotations

import msal

from mscloud.http import shared_session
from mscloud.identity import AppCredentials, confidential_app
from regions.models import Region


def region_app(
    region: Region,
    *,
    tenant: str | None = None,
    token_cache: msal.TokenCache | None = None,
    http_cache: dict | None = None,
) -> msal.ConfidentialClientApplication:
    """The region's partner-managed app with authority = `tenant` (default: partner tenant)."""
    if region.uses_certificate:
        creds = AppCredentials(
            login_host=region.login_host,
            client_id=str(region.client_id),
            private_key=region.certificate_private_key,
            certificate=region.certificate_pem,
            thumbprint=region.certificate_thumbprint,
        )
    else:
        creds = AppCredentials(
            login_host=region.login_host,
            client_id=str(region.client_id),
            client_secret=region.client_secret,
        )
    return confidential_app(
        creds,
        tenant=str(tenant or region.partner_tenant_id),
        session=shared_session(region.tls_verify),
        token_cache=token_cache,
        http_cache=http_cache,
    )
