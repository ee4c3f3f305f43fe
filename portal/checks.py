"""Deploy checks (`manage.py check --deploy`): the encryption keys parse, and Microsoft calls
keep production's address policy."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from portal.startup import encryption_keys_problem


@register(Tags.security, deploy=True)
def encryption_keys_check(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    problem = encryption_keys_problem(list(settings.PORTAL_ENCRYPTION_KEYS))
    return [Error(problem, id="portal.E001")] if problem else []


@register(Tags.security, deploy=True)
def microsoft_endpoints_check(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    found = []
    if settings.MICROSOFT_ALLOW_PRIVATE_HOSTS:
        found.append(
            Warning(
                "MICROSOFT_ALLOW_PRIVATE_HOSTS is on: the portal may call loopback, private and "
                "link-local addresses (the cloud metadata service) with the app's credential.",
                hint="Turn it off outside a demo against the local simulator.",
                id="portal.W001",
            )
        )
    if not settings.MICROSOFT_REQUIRE_HTTPS:
        found.append(
            Warning(
                "MICROSOFT_REQUIRE_HTTPS is off: Microsoft calls may go over plain http://.",
                hint="Turn it on outside a demo against the local simulator.",
                id="portal.W002",
            )
        )
    return found
