from __future__ import annotations

import logging
import socket
import time

import pytest

from mscloud.errors import (
    GraphBadRequest,
    GraphError,
    GraphForbidden,
    GraphNotFound,
    GraphTimeout,
    GraphUnauthorized,
    GraphUnavailable,
    MicrosoftError,
)
from mscloud.graph import GraphClient
from mscloud.http import build_session

from .fakes import LOCAL, graph_error, reply


@pytest.mark.parametrize(
    ("status", "code", "message", "error_class"),
    [
        (400, "Request_UnsupportedQuery", "Unsupported query.", GraphBadRequest),
        (401, "InvalidAuthenticationToken", "Access token has expired.", GraphUnauthorized),
        (403, "Authorization_RequestDenied", "Insufficient privileges.", GraphForbidden),
        (404, "Request_ResourceNotFound", "Resource 'x' does not exist.", GraphNotFound),
    ],
)
def test_graph_error_bodies_become_typed_errors_with_code_and_message(
    graph, fake, status, code, message, error_class
):
    fake.queue(graph_error(status, code, message, request_id="rid-42"))

    with pytest.raises(error_class) as caught:
        graph.get("/users/x")

    err = caught.value
    assert (err.status, err.code, err.message, err.request_id) == (status, code, message, "rid-42")
    assert str(err) == f"{message} [HTTP {status}, {code}, request-id rid-42]"
    assert isinstance(err, GraphError) and isinstance(err, MicrosoftError)
    assert len(fake.seen) == 1  # client errors are not retried


def test_an_error_without_a_graph_body_still_gets_a_sentence_and_our_request_id(make_graph, fake):
    graph = make_graph(request_id_factory=lambda: "client-rid")
    fake.queue(reply(None, status=409))

    with pytest.raises(GraphError) as caught:
        graph.post("/groups/g/members/$ref", {"@odata.id": "x"})

    assert caught.value.message == "Microsoft Graph answered HTTP 409."
    assert caught.value.request_id == "client-rid"


def test_error_messages_never_contain_a_token(graph, fake):
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2dyYXBoIn0.c2lnbmF0dXJl"
    fake.queue(graph_error(400, "Request_BadRequest", f"Bad token {jwt} and Bearer {jwt}\nline2"))

    with pytest.raises(GraphBadRequest) as caught:
        graph.get("/me")

    text = str(caught.value)
    assert "eyJ" not in text and "\n" not in text
    assert "[redacted]" in text


def test_connection_refused_becomes_graph_unavailable_after_retries(sleeps):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    graph = GraphClient(
        base_url=f"http://127.0.0.1:{port}", token="t", session=build_session(**LOCAL), sleep=sleeps
    )

    with pytest.raises(GraphUnavailable, match="could not be reached") as caught:
        graph.get("/users")

    assert caught.value.transient
    assert len(sleeps.delays) == 3  # four attempts in all
    assert not isinstance(caught.value.__cause__, MicrosoftError)


def test_a_refused_post_is_retried_too_because_it_never_left(sleeps):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    graph = GraphClient(
        base_url=f"http://127.0.0.1:{port}", token="t", session=build_session(**LOCAL), sleep=sleeps
    )

    with pytest.raises(GraphUnavailable):
        graph.post("/groups", {"displayName": "x"})

    assert len(sleeps.delays) == 3


def test_a_read_timeout_becomes_graph_timeout_without_waiting_again(make_graph, fake, sleeps):
    graph = make_graph(timeout=(1, 0.2))

    def slow(request):
        fake.release.wait(2)
        return reply({"value": []})

    fake.queue(slow)
    started = time.monotonic()

    with pytest.raises(GraphTimeout, match="did not answer in time"):
        graph.get("/users")

    assert time.monotonic() - started < 1.5
    assert sleeps.delays == []


def test_it_logs_method_path_status_and_duration_but_never_the_token_or_query(graph, fake, caplog):
    fake.queue(reply({"value": []}))

    with caplog.at_level(logging.DEBUG, logger="mscloud"):
        graph.get("/users", params={"$filter": "mail eq 'jo@contoso.com'"})

    lines = [r.getMessage() for r in caplog.records if r.name.startswith("mscloud")]
    assert len(lines) == 1
    line = lines[0]
    assert line.startswith("GET /graph/v1.0/users -> 200 in ")
    assert "token-abc" not in line and "contoso" not in line


def test_every_call_sends_the_bearer_token_and_a_client_request_id(make_graph, fake):
    calls = iter(["tok-1", "tok-2"])
    graph = make_graph(token=lambda: next(calls), request_id_factory=lambda: "cid")
    fake.queue(reply({"id": "1"}), reply({"id": "2"}))

    graph.get("/organization")
    graph.get("/organization")

    assert [s.headers["Authorization"] for s in fake.seen] == ["Bearer tok-1", "Bearer tok-2"]
    assert fake.seen[0].headers["Client-Request-Id"] == "cid"


def test_on_unauthorized_is_called_once_and_the_call_is_repeated_with_the_new_token(
    make_graph, fake
):
    refreshes = []

    def refresh():
        refreshes.append(1)
        return "fresh-token"

    graph = make_graph(on_unauthorized=refresh)
    fake.queue(graph_error(401, "InvalidAuthenticationToken", "expired"), reply({"id": "org"}))

    assert graph.get("/organization") == {"id": "org"}
    assert refreshes == [1]
    assert fake.seen[1].headers["Authorization"] == "Bearer fresh-token"


def test_a_second_401_after_refreshing_raises_graph_unauthorized(make_graph, fake):
    graph = make_graph(on_unauthorized=lambda: "fresh-token")
    fake.queue(
        graph_error(401, "InvalidAuthenticationToken", "expired"),
        graph_error(401, "InvalidAuthenticationToken", "still expired"),
    )

    with pytest.raises(GraphUnauthorized, match="still expired"):
        graph.get("/organization")

    assert len(fake.seen) == 2


def test_an_on_unauthorized_hook_that_returns_none_gives_up_at_once(make_graph, fake):
    graph = make_graph(on_unauthorized=lambda: None)
    fake.queue(graph_error(401, "InvalidAuthenticationToken", "expired"))

    with pytest.raises(GraphUnauthorized):
        graph.get("/organization")

    assert len(fake.seen) == 1


def test_request_sends_other_methods_and_reads_an_empty_answer_as_an_empty_dict(graph, fake):
    fake.queue(reply(None, status=204), reply(None, status=204))

    assert graph.request("PATCH", "/users/u1", json={"jobTitle": "Boss"}) == {}
    assert graph.request("delete", "/groups/g/members/u1/$ref") == {}
    assert [(s.method, s.path) for s in fake.seen] == [
        ("PATCH", "/graph/v1.0/users/u1"),
        ("DELETE", "/graph/v1.0/groups/g/members/u1/$ref"),
    ]
    assert fake.seen[0].body == {"jobTitle": "Boss"}


def test_an_answer_that_is_not_json_becomes_a_graph_error(graph, fake):
    from werkzeug.wrappers import Response

    fake.queue(Response("<html>proxy error</html>", content_type="text/html"))

    with pytest.raises(GraphError, match="not JSON"):
        graph.get("/users")
