"""Partner Center REST (api.partnercenter.microsoft.com/v1): customers (list, get, create) in
customers.py and application consent (the Control Panel Vendor API) in consents.py; the
caller's token and Partner Center's error shape in service.py."""

from __future__ import annotations

from werkzeug.routing import Rule

from simulator.partnercenter import consents, customers


def url_rules() -> list[Rule]:
    return [*consents.url_rules(), *customers.url_rules()]
