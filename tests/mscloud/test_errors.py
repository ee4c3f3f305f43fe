from __future__ import annotations

import pickle

from mscloud.errors import (
    GraphForbidden,
    GraphThrottled,
    MicrosoftError,
    PartnerCenterConflict,
    PartnerCenterUnavailable,
)


def test_errors_survive_pickling_with_their_details():
    err = GraphThrottled(
        "Slow down.", status=429, code="TooManyRequests", request_id="r", retry_after=5
    )

    copy = pickle.loads(pickle.dumps(err))  # noqa: S301 - our own object

    assert type(copy) is GraphThrottled
    assert (copy.status, copy.code, copy.request_id, copy.retry_after) == (
        429,
        "TooManyRequests",
        "r",
        5,
    )
    assert str(copy) == str(err)


def test_only_throttling_outages_and_timeouts_are_transient():
    assert GraphThrottled().transient and PartnerCenterUnavailable().transient
    assert not GraphForbidden().transient and not PartnerCenterConflict().transient


def test_an_error_without_details_still_reads_as_a_sentence():
    assert str(MicrosoftError()) == "The call to Microsoft failed."
    assert str(GraphForbidden(status=403)) == "Microsoft Graph answered HTTP 403. [HTTP 403]"


def test_long_or_multiline_server_messages_are_cut_to_one_bounded_line():
    err = PartnerCenterConflict("x\n" * 500, status=409)

    assert "\n" not in str(err) and len(err.message) <= 300
