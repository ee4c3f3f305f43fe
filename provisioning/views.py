"""Create a customer, and follow its provisioning: parse input, call one service, render."""

from __future__ import annotations

import uuid

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.models import Role
from accounts.permissions import role_required
from audit.services import audit_record
from customers.guard import customer_for_user
from customers.models import Customer
from provisioning.credentials import credentials_held, credentials_keep, credentials_pop
from provisioning.forms import CustomerCreateForm
from provisioning.selectors import provisioning_status_context
from provisioning.services import (
    CustomerCreateError,
    InitialCredentials,
    ProvisioningRefused,
    ProvisioningUnconfirmed,
    customer_create,
    provisioning_restart,
)


@role_required(Role.AGENT)
def customer_create_view(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _form(request, CustomerCreateForm.blank())
    form = CustomerCreateForm(request.POST)
    if not form.is_valid():
        return _form(request, form, status=400)
    data = form.cleaned_data
    try:
        created = customer_create(
            user=request.user,
            key=data["key"],
            company_name=data["company_name"],
            domain_prefix=data["domain_prefix"],
            payload=form.payload(),
        )
    except CustomerCreateError as exc:
        form.add_error(exc.field, exc.message)
        if not exc.retry_same:
            # Nothing was created: the corrected form is a new request with a new id.
            form.data = form.data.copy()
            form.data["key"] = str(uuid.uuid4())
        status = getattr(exc, "status", None) or (502 if exc.retry_same else 400)
        return _form(request, form, status=status)
    tenant_id = str(created.customer.tenant_id)
    if created.credentials is not None:
        credentials_keep(user=request.user, tenant_id=tenant_id, credentials=created.credentials)
    if created.recorded:
        audit_record(
            action="customer.create",
            request=request,
            tenant_id=tenant_id,
            detail={"domain": created.customer.default_domain, "key": str(data["key"])},
        )
    return redirect("customer_provisioning", tenant_id=tenant_id)


def _form(request: HttpRequest, form: CustomerCreateForm, status: int = 200) -> HttpResponse:
    return render(
        request, "provisioning/create.html", {"form": form, "nav": "customers"}, status=status
    )


@role_required(Role.AGENT)
def provisioning_page_view(request: HttpRequest, tenant_id: str) -> HttpResponse:
    """The provisioning page: the live status, and "Reveal" while initial credentials wait."""
    customer = customer_for_user(user=request.user, tenant_id=tenant_id)
    held = credentials_held(user=request.user, tenant_id=str(customer.tenant_id))
    return _page(request, customer, credentials_held=held)


@require_POST
@role_required(Role.AGENT)
def provisioning_reveal_view(request: HttpRequest, tenant_id: str) -> HttpResponse:
    """Show the initial admin credentials once: this POST deletes them as it reads them."""
    customer = customer_for_user(user=request.user, tenant_id=tenant_id)
    credentials = credentials_pop(user=request.user, tenant_id=str(customer.tenant_id))
    if credentials is not None:
        audit_record(
            action="customer.credentials_revealed",
            request=request,
            tenant_id=str(customer.tenant_id),
            detail={"user_name": credentials.user_name},
        )
    return _page(request, customer, credentials=credentials, revealed=credentials is None)


def _page(
    request: HttpRequest,
    customer: Customer,
    *,
    credentials: InitialCredentials | None = None,
    credentials_held: bool = False,
    revealed: bool = False,
    status: int = 200,
    **extra: object,
) -> HttpResponse:
    return render(
        request,
        "provisioning/page.html",
        {
            **provisioning_status_context(customer=customer),
            "tab": "provisioning",
            "credentials": credentials,
            "credentials_held": credentials_held,
            # A reveal that found nothing: shown already (another tab) or expired.
            "credentials_gone": revealed,
            **extra,
        },
        status=status,
    )


@role_required(Role.AGENT)
def provisioning_status_view(request: HttpRequest, tenant_id: str) -> HttpResponse:
    """The status partial, polled by htmx while the run is unfinished."""
    customer = customer_for_user(user=request.user, tenant_id=tenant_id)
    return _status(request, customer)


def _status(
    request: HttpRequest, customer: Customer, status: int = 200, **extra: object
) -> HttpResponse:
    """The status partial, with the header's badge swapped out of band: a page left open all
    day shows the relationship as the run left it, not as it was when the page loaded."""
    context = provisioning_status_context(customer=customer)
    return render(
        request,
        "provisioning/_status.html",
        {**context, **extra, "badge_oob": True},
        status=status,
    )


@require_POST
@role_required(Role.AGENT)
def provisioning_start_view(request: HttpRequest, tenant_id: str) -> HttpResponse:
    """The customer accepted the partner's invitation (or an agent starts the checks again):
    the same delayed flow as for a new customer. The invitation start is a confirmed action:
    without `confirm=yes` it shows the confirmation (the wait it starts) and changes nothing."""
    customer = customer_for_user(user=request.user, tenant_id=tenant_id)
    again = request.POST.get("reason") == "again"
    confirmed = again or request.POST.get("confirm") == "yes"
    try:
        _, created = provisioning_restart(
            customer=customer, again=again, requested_by=str(request.user), confirmed=confirmed
        )
    except ProvisioningUnconfirmed:
        return _answer(request, customer, confirming=True)
    except ProvisioningRefused as exc:
        return _answer(request, customer, status=409, refused=exc.message)
    if created:
        audit_record(
            action="customer.provisioning_again" if again else "customer.invitation_accepted",
            request=request,
            tenant_id=str(customer.tenant_id),
        )
    if request.headers.get("HX-Request"):
        customer.refresh_from_db()
        return _status(request, customer)
    return redirect("customer_provisioning", tenant_id=str(customer.tenant_id))


def _answer(
    request: HttpRequest, customer: Customer, status: int = 200, **extra: object
) -> HttpResponse:
    """A start that changed nothing: the partial for htmx, else the whole page."""
    if request.headers.get("HX-Request"):
        return _status(request, customer, status=status, **extra)
    return _page(request, customer, status=status, **extra)
