"""The client address behind N trusted proxies: the N-th hop from the right, never one the
client wrote itself."""

from __future__ import annotations

import pytest
from django.test import RequestFactory, override_settings

from portal.clientip import client_ip


def _request(remote: str, forwarded: str | None = None):
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=remote, **extra)


def test_without_trusted_proxies_the_forwarded_header_is_ignored():
    assert client_ip(_request("192.0.2.1", "6.6.6.6")) == "192.0.2.1"


@pytest.mark.parametrize(
    ("count", "forwarded", "expected"),
    [
        (1, "198.51.100.7", "198.51.100.7"),
        (1, "6.6.6.6, 198.51.100.7", "198.51.100.7"),
        (2, "6.6.6.6, 198.51.100.7, 10.0.0.9", "198.51.100.7"),
        (2, "198.51.100.7", "10.0.0.2"),  # fewer hops than proxies: not through all of them
        (1, "not-an-ip", "10.0.0.2"),
        (1, "", "10.0.0.2"),
        (1, " 2001:db8::1 ", "2001:db8::1"),
    ],
)
def test_behind_trusted_proxies_the_address_is_read_that_many_hops_from_the_right(
    count, forwarded, expected
):
    with override_settings(PORTAL_TRUSTED_PROXY_COUNT=count):
        assert client_ip(_request("10.0.0.2", forwarded)) == expected
