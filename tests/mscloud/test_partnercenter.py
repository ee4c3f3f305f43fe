from __future__ import annotations

import pytest

from mscloud.errors import (
    PartnerCenterConflict,
    PartnerCenterError,
    PartnerCenterForbidden,
    PartnerCenterThrottled,
    PartnerCenterUnauthorized,
)

from .fakes import reply


def customers(*ids: str) -> list[dict]:
    return [
        {"id": i, "companyProfile": {"tenantId": i, "domain": f"{i}.onmicrosoft.com"}} for i in ids
    ]


def page(items: list[dict], next_uri: str | None = None, token: str = "") -> object:
    body = {"totalCount": len(items), "items": items, "attributes": {"objectType": "Collection"}}
    if next_uri:
        headers = [{"key": "MS-ContinuationToken", "value": token}]
        body["links"] = {"next": {"uri": next_uri, "method": "GET", "headers": headers}}
    return reply(body)


def test_iter_customers_follows_continuation_tokens_to_the_end(partner_center, fake):
    fake.queue(
        page(customers("a", "b"), "/customers?size=2&seekOperation=Next", "tok-1"),
        page(customers("c", "d"), "/v1/customers?size=2&seekOperation=Next", "tok-2"),
        page(customers("e")),
    )

    ids = [c["id"] for c in partner_center.iter_customers(size=2)]

    assert ids == ["a", "b", "c", "d", "e"]
    assert [s.path for s in fake.seen] == ["/partnercenter/v1/customers"] * 3
    assert fake.seen[0].args == {"size": ["2"]}
    assert fake.seen[1].args == {"size": ["2"], "seekOperation": ["Next"]}
    tokens = [s.headers.get("Ms-Continuationtoken") for s in fake.seen]
    assert tokens == [None, "tok-1", "tok-2"]
    assert len({s.headers["Ms-Correlationid"] for s in fake.seen}) == 1
    assert len({s.headers["Ms-Requestid"] for s in fake.seen}) == 3
    assert all(s.headers["Authorization"] == "Bearer pc-token" for s in fake.seen)


def test_iter_customers_accepts_an_absolute_next_link_on_the_same_service(partner_center, fake):
    fake.queue(
        page(customers("a"), f"{fake.url}/partnercenter/v1/customers?size=1&seek=1", "t"),
        page(customers("b")),
    )

    assert [c["id"] for c in partner_center.iter_customers(size=1)] == ["a", "b"]


def test_iter_customers_refuses_a_next_link_to_another_host(partner_center, fake):
    fake.queue(page(customers("a"), "https://evil.example/v1/customers?size=1", "t"))

    with pytest.raises(PartnerCenterError, match="outside Partner Center"):
        list(partner_center.iter_customers(size=1))

    assert len(fake.seen) == 1


def test_iter_customers_does_not_let_a_next_link_set_other_headers(partner_center, fake):
    body = {
        "items": customers("a"),
        "links": {
            "next": {
                "uri": "/customers?size=1&seekOperation=Next",
                "headers": [
                    {"key": "Authorization", "value": "Bearer stolen"},
                    {"key": "MS-ContinuationToken", "value": "tok"},
                ],
            }
        },
    }
    fake.queue(reply(body), page([]))

    list(partner_center.iter_customers(size=1))

    assert fake.seen[1].headers["Authorization"] == "Bearer pc-token"
    assert fake.seen[1].headers["Ms-Continuationtoken"] == "tok"


def test_create_customer_sends_the_request_id_for_idempotency(partner_center, fake, sleeps):
    created = {"id": "t-1", "companyProfile": {"tenantId": "t-1", "domain": "new.onmicrosoft.com"}}
    fake.queue(reply(None, status=503), reply(created, status=201))
    payload = {"CompanyProfile": {"Domain": "new.onmicrosoft.com"}}

    result = partner_center.create_customer(payload, request_id="req-123")

    assert result == created
    assert [s.method for s in fake.seen] == ["POST", "POST"]
    assert all(s.headers["Ms-Requestid"] == "req-123" for s in fake.seen)  # same on the resend
    assert all(s.headers["Ms-Correlationid"] for s in fake.seen)
    assert fake.seen[0].body == payload
    assert len(sleeps.delays) == 1


def test_a_taken_domain_raises_partner_center_conflict(partner_center, fake):
    body = {"code": 1000, "description": "Domain already exists.", "data": [], "source": "PCS"}
    fake.queue(reply(body, status=409))

    with pytest.raises(PartnerCenterConflict) as caught:
        partner_center.create_customer({}, request_id="req-9")

    err = caught.value
    assert (err.status, err.code, err.message) == (409, "1000", "Domain already exists.")
    assert err.request_id == "req-9"
    assert str(err) == "Domain already exists. [HTTP 409, 1000, request-id req-9]"


@pytest.mark.parametrize(
    ("status", "error_class"),
    [(401, PartnerCenterUnauthorized), (403, PartnerCenterForbidden)],
)
def test_partner_center_error_bodies_become_typed_errors(partner_center, fake, status, error_class):
    fake.queue(reply({"code": "900", "description": "Nope.", "source": "PCS"}, status=status))

    with pytest.raises(error_class, match="Nope"):
        list(partner_center.iter_customers())


def test_partner_center_throttling_beyond_the_cap_raises_throttled(partner_center, fake):
    fake.queue(reply({"code": "429"}, status=429, headers={"Retry-After": "600"}))

    with pytest.raises(PartnerCenterThrottled) as caught:
        list(partner_center.iter_customers())

    assert caught.value.retry_after == 600


def test_partner_center_json_with_a_byte_order_mark_is_read(partner_center, fake):
    from werkzeug.wrappers import Response

    fake.queue(Response(b'\xef\xbb\xbf{"items": [{"id": "a"}]}', content_type="application/json"))

    assert [c["id"] for c in partner_center.iter_customers()] == ["a"]
