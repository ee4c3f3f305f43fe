"""The client's IP address, behind as many reverse proxies as the deployment says it has.

`REMOTE_ADDR` is the last hop. Behind N trusted proxies (ingress, load balancer) the client is
the N-th address from the right of `X-Forwarded-For`: each trusted proxy appended the address it
received from; anything further left was written by the client and proves nothing.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _valid(address: str) -> str | None:
    try:
        return str(ipaddress.ip_address(address.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    """The client's address, or None when the request carries nothing usable."""
    remote = _valid(request.META.get("REMOTE_ADDR", "") or "")
    trusted = settings.PORTAL_TRUSTED_PROXY_COUNT
    if trusted <= 0:
        return remote
    hops = [h for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    if len(hops) < trusted:
        # Fewer hops than proxies: the request did not come through all of them.
        return remote
    return _valid(hops[-trusted]) or remote
