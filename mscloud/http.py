"""The pooled `requests.Session` every Microsoft call goes through.

It never follows a redirect (Microsoft's APIs answer where they are asked; a 3xx would carry
a bearer token, a client secret or the next request to wherever it points), and, unless told
otherwise (the local simulator runs on loopback), it refuses plain http:// and connections to
loopback, private, link-local, unspecified, multicast and reserved addresses. The address is
checked on the connected socket itself, so a name that resolves elsewhere at the next lookup
(DNS rebinding) cannot get around it.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import os
import socket
import threading
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError
from urllib3.util.retry import Retry

from .errors import ErrorKind, MicrosoftError

# What callers above mscloud name in annotations (they never import requests themselves).
HttpSession = requests.Session

log = logging.getLogger(__name__)


class DiscoveryStore(Protocol):
    """Where every process of the portal finds the OpenID discovery documents one of them
    read (the Django cache on Redis, configured by regions at start-up)."""

    def get(self, key: str) -> bytes | None: ...

    def set(self, key: str, value: bytes, ttl: int) -> None: ...


_discovery: tuple[DiscoveryStore, int] | None = None
DISCOVERY_SUFFIX = "/.well-known/openid-configuration"


def discovery_store_set(store: DiscoveryStore | None, *, ttl: int = 3600) -> None:
    """Share tenants' discovery documents across processes (None: each process alone).

    A document is stable per tenant (MSAL keeps its own copy a day), so a cold worker that
    finds it here needs two round trips per customer (token, data) instead of three. Only a
    200 is kept; a GET sent with `Cache-Control: no-cache` (the setup check) reads afresh."""
    global _discovery
    _discovery = (store, ttl) if store is not None else None


class EndpointRefused(requests.RequestException):
    """The portal itself refused a call: a redirect, plain http://, or an address it must not
    reach. `str()` is a sentence that names the host, never a body; retrying cannot help."""


def address_refusal(address: str) -> str | None:
    """Why the portal must not connect to this IP address (None: it may)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "it is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "it is a loopback address"
    if ip.is_link_local:
        return "it is a link-local address (such as the cloud metadata service)"
    if ip.is_unspecified:
        return "it is the unspecified address"
    if ip.is_multicast:
        return "it is a multicast address"
    if ip.is_private or ip.is_reserved or not ip.is_global:
        return "it is a private or reserved address"
    return None


def host_refusal(url: str, *, require_https: bool, allow_private_hosts: bool) -> str | None:
    """Why the portal would refuse to call `url` (None: it would call it): a sentence.

    A host name is resolved now, and every address it resolves to must be allowed; a name that
    does not resolve is not refused here (the call is checked again when it connects)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if require_https and parts.scheme != "https":
        return f"{url} is not an https:// URL; Microsoft's endpoints are reached over https only."
    if allow_private_hosts or not host:
        return None
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, parts.port or 443)}
    except (OSError, UnicodeError):
        return None
    for address in sorted(addresses):
        reason = address_refusal(address)
        if reason:
            return (
                f"{host} resolves to {address}, and the portal does not call that address: "
                f"{reason}. Enter a public Microsoft endpoint."
            )
    return None


class _AddressRefused(NewConnectionError):
    """Raised inside urllib3 when the connected peer is an address the portal refuses."""

    def __init__(self, conn: HTTPConnection, sentence: str) -> None:
        super().__init__(conn, sentence)
        self.sentence = sentence


class _CheckedPeer:
    """Mixed into urllib3's connections: refuse the socket when its peer is not allowed."""

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()  # type: ignore[misc]
        try:
            peer = sock.getpeername()[0]
        except OSError:
            peer = ""
        reason = address_refusal(peer)
        if reason:
            sock.close()
            raise _AddressRefused(
                self,  # type: ignore[arg-type]
                f"The portal does not connect to {self.host} ({peer}): {reason}.",  # type: ignore[attr-defined]
            )
        return sock


class _CheckedHTTPConnection(_CheckedPeer, HTTPConnection):
    pass


class _CheckedHTTPSConnection(_CheckedPeer, HTTPSConnection):
    pass


class _CheckedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _CheckedHTTPConnection


class _CheckedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _CheckedHTTPSConnection


class _PublicOnlyAdapter(HTTPAdapter):
    """An adapter whose connections reach public addresses only."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _CheckedHTTPPool,
            "https": _CheckedHTTPSPool,
        }


class MicrosoftSession(requests.Session):
    """A session that follows no redirect, for any verb and whoever calls it (MSAL's
    discovery and token requests included), and enforces the address policy."""

    def __init__(self, *, require_https: bool) -> None:
        super().__init__()
        self.require_https = require_https

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        url = request.url or ""
        host = urlsplit(url).hostname or "the endpoint"
        if self.require_https and not url.startswith("https://"):
            raise EndpointRefused(
                f"The portal calls Microsoft over https only, and {host} was asked over "
                "http://. Use an https:// endpoint.",
                request=request,
            )
        kwargs["allow_redirects"] = False
        shared = self._discovery_key(request)
        if shared is not None:
            cached = _discovery_get(shared)
            if cached is not None:
                return _response_from(request, cached)
        try:
            response = super().send(request, **kwargs)
        except requests.ConnectionError as exc:
            reason = getattr(exc.args[0], "reason", None) if exc.args else None
            if isinstance(reason, _AddressRefused):
                raise EndpointRefused(
                    f"{reason.sentence} Check the region's endpoints: they must be public "
                    "Microsoft hosts.",
                    request=request,
                ) from None
            raise
        if 300 <= response.status_code < 400:
            response.close()
            raise EndpointRefused(
                f"{host} answered with a redirect (HTTP {response.status_code}), and the portal "
                "follows no redirects on Microsoft calls. Check the endpoint: it must be the "
                "address Microsoft documents, not one that forwards elsewhere.",
                request=request,
                response=response,
            )
        if shared is not None and response.status_code == 200:
            _discovery_put(shared, response.content)
        return response

    def _discovery_key(self, request: requests.PreparedRequest) -> str | None:
        """The shared store's key for a discovery GET (None for any other request): the URL
        and this session's address policy, so a document read under a laxer policy (a test's
        loopback simulator) is never served to a stricter session."""
        url = request.url or ""
        if (
            _discovery is None
            or request.method != "GET"
            or not urlsplit(url).path.endswith(DISCOVERY_SUFFIX)
            or "no-cache" in str(request.headers.get("Cache-Control", ""))
        ):
            return None
        policy = f"{self.require_https}/{type(self.get_adapter(url)).__name__}"
        return "msdiscovery:" + hashlib.sha256(f"{policy} {url}".encode()).hexdigest()


def _discovery_get(key: str) -> bytes | None:
    try:
        assert _discovery is not None
        value = _discovery[0].get(key)
    except Exception:  # the store down (Redis): read from Microsoft as without it
        log.warning("discovery store unavailable; reading the document from Microsoft")
        return None
    return value if isinstance(value, bytes) else None


def _discovery_put(key: str, body: bytes) -> None:
    try:
        assert _discovery is not None
        _discovery[0].set(key, body, _discovery[1])
    except Exception:
        log.warning("discovery store unavailable; the document is not shared")


def _response_from(request: requests.PreparedRequest, body: bytes) -> requests.Response:
    """A 200 with `body`, as if Microsoft had just sent it (what MSAL reads of a response)."""
    response = requests.Response()
    response.status_code = 200
    response._content = body
    response.headers["Content-Type"] = "application/json; charset=utf-8"
    response.url = request.url or ""
    response.request = request
    response.reason = "OK"
    response.encoding = "utf-8"
    return response


def build_session(
    *,
    ca_bundle: str | None = None,
    pool_size: int = 20,
    user_agent: str = "csp-portal",
    allow_private_hosts: bool = False,
    require_https: bool = True,
) -> requests.Session:
    """A session that verifies TLS with `ca_bundle` (or the system store) and nothing else.

    `allow_private_hosts` / `require_https=False`: development and tests only (a simulator on
    127.0.0.1); production keeps both closed."""
    session = MicrosoftSession(require_https=require_https)
    # With trust_env on, REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE (set on this machine) silently
    # replace session.verify on every request, and proxies or .netrc would apply too.
    session.trust_env = False
    session.verify = ca_bundle or True
    # Our clients retry with Retry-After and jitter; urllib3 retrying underneath would multiply
    # attempts and hide the real status from them.
    adapter_class = HTTPAdapter if allow_private_hosts else _PublicOnlyAdapter
    adapter = adapter_class(
        pool_maxsize=pool_size, max_retries=Retry(total=0, read=False, redirect=False)
    )
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = user_agent
    return session


_sessions: dict[tuple[str | None, bool, bool], requests.Session] = {}
_lock = threading.Lock()


def shared_session(
    ca_bundle: str | None,
    *,
    allow_private_hosts: bool = False,
    require_https: bool = True,
    pool_size: int = 20,
) -> requests.Session:
    """One pooled session per CA bundle and policy per process, so connections are reused.

    `pool_size`: connections kept per host; at least the threads that call at once, or every
    call beyond it opens (and then drops) a new TLS connection."""
    key = (ca_bundle, allow_private_hosts, require_https, pool_size)
    with _lock:
        session = _sessions.get(key)
        if session is None:
            session = _sessions[key] = build_session(
                ca_bundle=ca_bundle,
                allow_private_hosts=allow_private_hosts,
                require_https=require_https,
                pool_size=pool_size,
            )
        return session


def _forget_sessions_after_fork() -> None:
    # A forked child (Celery prefork, gunicorn --preload) must not reuse the parent's sockets:
    # both processes would read and write the same TLS stream. Drop them without closing.
    global _lock
    _lock = threading.Lock()
    _sessions.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_sessions_after_fork)


def json_get(
    url: str,
    *,
    ca_bundle: str | None,
    timeout: float,
    allow_private_hosts: bool = False,
    require_https: bool = True,
    post: object = None,
) -> object:
    """GET a JSON document (e.g. a cloud's description of itself) with a fresh session, or
    POST `post` as JSON and read the answer; raises MicrosoftError (`unavailable`, or
    `endpoint_refused`) when it cannot be read."""
    session = build_session(
        ca_bundle=ca_bundle, allow_private_hosts=allow_private_hosts, require_https=require_https
    )
    try:
        if post is None:
            response = session.get(url, timeout=timeout)
        else:
            response = session.post(url, json=post, timeout=timeout)
        response.raise_for_status()
        return response.json()
    except EndpointRefused as exc:
        raise MicrosoftError(str(exc), kind=ErrorKind.ENDPOINT_REFUSED) from None
    except (requests.RequestException, ValueError) as exc:
        response = getattr(exc, "response", None)
        status = response.status_code if response is not None else None
        what = f"HTTP {status}" if status else type(exc).__name__
        raise MicrosoftError(
            f"Could not read {urlsplit(url).path or url} ({what}).",
            status=status,
            kind=ErrorKind.UNAVAILABLE,
        ) from exc


class PostFailed(Exception):
    """A POST to a third party (a webhook) did not succeed. `str()` is a sentence that names
    the scheme and host only: a webhook's path and query are often its credential."""

    def __init__(self, sentence: str, *, status: int | None = None) -> None:
        super().__init__(sentence)
        self.status = status


def post_json(
    url: str,
    *,
    body: bytes,
    headers: dict[str, str],
    timeout: float,
    allow_private_hosts: bool = False,
) -> int:
    """POST `body` (already-encoded JSON) to a webhook with the same hardening as Microsoft
    calls: no redirects, https only and public addresses only unless `allow_private_hosts`
    (development and tests). Returns the 2xx status; raises PostFailed otherwise."""
    parts = urlsplit(url)
    where = f"{parts.scheme}://{parts.hostname or ''}"
    require_https = not allow_private_hosts
    if require_https and parts.scheme != "https":
        raise PostFailed(f"{where} is not an https:// address; webhooks are sent over https only.")
    session = shared_session(
        None, allow_private_hosts=allow_private_hosts, require_https=require_https
    )
    try:
        response = session.post(
            url,
            data=body,
            headers={"Content-Type": "application/json", **headers},
            timeout=timeout,
        )
    except EndpointRefused as exc:
        if exc.response is not None:
            raise PostFailed(
                f"{where} answered with a redirect (HTTP {exc.response.status_code}), and the "
                "portal follows no redirects. Enter the final webhook URL.",
                status=exc.response.status_code,
            ) from None
        raise PostFailed(
            f"The portal does not post to {where}: it is a loopback, private or reserved "
            "address. Enter a public webhook URL."
        ) from None
    except requests.Timeout:
        raise PostFailed(f"{where} did not answer within {timeout:g} seconds.") from None
    except requests.RequestException as exc:
        raise PostFailed(f"Could not reach {where} ({type(exc).__name__}).") from None
    status = response.status_code
    response.close()
    if not 200 <= status < 300:
        raise PostFailed(f"{where} answered HTTP {status}.", status=status)
    return status
