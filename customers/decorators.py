"""`customer_view`: role check, the isolation guard, audit, the agent's Graph client, and
Microsoft error handling."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render

from accounts.models import Role
from accounts.permissions import role_required
from accounts.recheck import Verdict, grant_may_be_dead, session_recheck
from accounts.redirects import session_end
from accounts.services import SignInError, tenant_signin_start
from audit.services import audit_record
from customers.access import page_refusal
from customers.directory import BadPageToken
from customers.errors import explain
from customers.guard import customer_for_user
from customers.models import Customer
from customers.recent import recent_record
from mscloud.errors import MicrosoftError
from mscloud.identity import InteractionRequired
from regions.clients import graph_as_agent

log = logging.getLogger(__name__)

CustomerView = Callable[..., HttpResponse]


def customer_view(
    page: str, *, role: Role = Role.AGENT
) -> Callable[[CustomerView], Callable[..., HttpResponse]]:
    """Wrap a view taking (request, customer, graph, **kwargs) for the URL's tenant id:
    `graph` is Microsoft Graph as the signed-in agent in that customer's tenant, built only
    after the guard passed (it asks for a token on its first call, not before). `role`: the
    portal role the view needs (admins for consent)."""

    def decorator(view: CustomerView) -> Callable[..., HttpResponse]:
        @role_required(role)
        @wraps(view)
        def wrapper(request: HttpRequest, tenant_id: str, **kwargs: object) -> HttpResponse:
            # The isolation boundary comes first: no token, no Graph call before it.
            customer = customer_for_user(user=request.user, tenant_id=tenant_id)
            audit_record(
                action=f"customer.{page}",
                request=request,
                tenant_id=str(customer.tenant_id),
                detail={"path": request.path},
            )
            recent_record(session=request.session, customer=customer)
            refusal = page_refusal(session=request.session, customer=customer, page=page)
            if refusal is not None:
                # The agent's GDAP roles cannot serve this page: say which role, call no one.
                return _problem(request, customer, page, refusal, 403)
            graph = graph_as_agent(
                session=request.session, region=customer.region, tenant_id=str(customer.tenant_id)
            )
            try:
                return view(request, customer, graph, **kwargs)
            except BadPageToken as exc:
                return _problem(request, customer, page, str(exc), 400)
            except MicrosoftError as exc:
                ended = session_ended_by(request, exc)
                if ended is not None:
                    return ended
                if isinstance(exc, InteractionRequired):
                    return _reauthenticate(request, customer)
                message, status = explain(exc, customer)
                log.info("graph call for %s failed: %s", customer.tenant_id, exc)
                return _problem(request, customer, page, message, status, kind=exc.kind)

        return wrapper

    return decorator


def _problem(
    request: HttpRequest,
    customer: Customer,
    page: str,
    message: str,
    status: int,
    *,
    kind: str = "",
) -> HttpResponse:
    # `kind` (ErrorKind): "not_consented" offers the fix, the access page's "Consent the app".
    return render(
        request,
        "customers/problem.html",
        {"customer": customer, "tab": page, "message": message, "kind": str(kind)},
        status=status,
    )


_GRANT_DEAD = (
    "Microsoft no longer accepts your sign-in (it was revoked, expired, or your password "
    "changed), so the portal signed you out. Please sign in again."
)


def session_ended_by(request: HttpRequest, exc: MicrosoftError) -> HttpResponse | None:
    """The sign-in page if `exc` ended the session, else None.

    A refusal that may mean the session's grant is dead is put to the partner tenant: if
    Entra refuses the grant there too, the session ends (sign-in, with why); a refusal of
    this customer alone (MFA, consent, no group) keeps the session and is handled as before."""
    if not grant_may_be_dead(exc):
        return None
    recheck = session_recheck(request=request)
    if recheck.verdict != Verdict.ENDED:
        return None
    return session_end(request=request, reason=recheck.reason, message=_GRANT_DEAD)


def _reauthenticate(request: HttpRequest, customer: Customer) -> HttpResponse:
    """Silent acquisition needs the agent: send them to the customer tenant's /authorize."""
    try:
        auth_uri = tenant_signin_start(
            request=request,
            region=customer.region,
            tenant_id=str(customer.tenant_id),
            next_url=request.get_full_path(),
        )
    except SignInError as exc:
        return _problem(request, customer, "overview", str(exc), 502)
    return HttpResponseRedirect(auth_uri)
