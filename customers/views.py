"""Customer pages: parse input, call one selector or service, render."""

from collections.abc import Callable
from functools import partial
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.models import Role
from accounts.permissions import role_required
from accounts.preferences import columns_of, columns_set
from accounts.services import safe_next
from audit.services import audit_record
from customers import bulk, directory, paging, switcher, tables
from customers.access import CONSENT_ROLES_NEEDED, access_read
from customers.action_calls import (
    ActionParams,
    Outcome,
    action_perform,
    failure,
    guid_clean,
    reads,
)
from customers.action_records import (
    FORM_STALE,
    FormKeyInvalid,
    action_audit,
    action_click,
    form_key_parse,
)
from customers.actions import ACTIONS_BY_NAME, Action, Confirm, Target, actions_for
from customers.consent import consent_by_agent
from customers.consent_jobs import customers_lacking_consent
from customers.decorators import customer_view, session_ended_by
from customers.models import ActionOutcomeKind, BulkRun, ConsentRun, Customer, SyncRun
from customers.recent import recent_tenant_ids
from customers.selectors import customer_list, region_admins
from customers.tasks import consent_run_request, sync_run_request
from mscloud.errors import ErrorKind, GraphNotFound, MicrosoftError
from mscloud.graph import GraphClient
from portal import crypto, labels
from portal.csvexport import csv_lines, csv_response
from portal.paginator import DeferredJoinPaginator
from portal.tables import TABLES

LIST_PAGE_SIZE = 25


@role_required(Role.AGENT)
def customer_list_view(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "")[:100]
    table = tables.table_for(request, tables.CUSTOMERS, {"q": q})
    customers = customer_list(user=request.user, q=q, order=table.sort.order_by())
    page = DeferredJoinPaginator(customers, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    last_sync = SyncRun.objects.filter(region_id=request.user.region_id).first()
    context = {"page": page, "q": q, "nav": "customers", "sync": last_sync, "tv": table}
    if request.user.has_role(Role.ADMIN) and request.user.region is not None:
        context["lacking_consent"] = customers_lacking_consent(region=request.user.region).count()
        context["consent_run"] = ConsentRun.objects.filter(region_id=request.user.region_id).first()
    return render(request, "customers/list.html", context)


def _customer_cells(customer: Customer) -> dict[str, object]:
    return {
        "name": customer.name,
        "domain": customer.default_domain,
        "tenant": str(customer.tenant_id),
        "relationship": customer.get_relationship_status_display(),
        "ends": labels.iso(customer.relationship_end_at),
        "consent": customer.get_consent_state_display(),
        "synced": labels.iso(customer.synced_at),
        "region": customer.region.slug.upper(),
    }


@role_required(Role.AGENT)
def customer_export_view(request: HttpRequest) -> StreamingHttpResponse:
    """The customers list as it is shown (search, sort, chosen columns) as CSV."""
    q = request.GET.get("q", "")[:100]
    table = tables.table_for(request, tables.CUSTOMERS, {"q": q})
    audit_record(
        action="customers.export",
        request=request,
        detail={"q": q, **table.sort.params(), "columns": table.shown_keys},
    )
    customers = customer_list(user=request.user, q=q, order=table.sort.order_by())
    rows = (
        [cells[k] for k in table.shown_keys]
        for cells in map(_customer_cells, customers.iterator(chunk_size=500))
    )
    lines = csv_lines(header=[c.label for c in table.shown], rows=rows)
    return csv_response(lines, name="customers")


@require_POST
@role_required(Role.AGENT)
def table_columns_view(request: HttpRequest, table: str) -> HttpResponse:
    """The column chooser: store the user's columns for `table`, back to the table."""
    found = TABLES.get(table)
    if found is None:
        raise Http404("No such table.")
    before = columns_of(request.user, found.name)
    chosen = [] if request.POST.get("reset") else request.POST.getlist("columns")
    required = [c.key for c in found.columns if c.required]
    kept = columns_set(
        user=request.user,
        table=found.name,
        columns=chosen + required if chosen else [],
        allowed=found.keys,
    )
    audit_record(
        action="preferences.columns",
        request=request,
        detail={"table": found.name, "before": before, "after": kept or None},
    )
    return redirect(safe_next(request, request.POST.get("next")))


@require_POST
@role_required(Role.AGENT)
def sync_start_view(request: HttpRequest) -> HttpResponse:
    region = request.user.region
    if region is None or not region.active:
        # A region switched off stops its app being used, even by agents still signed in.
        return HttpResponse(
            "Your region is switched off, so customers cannot be refreshed. Ask your admin.",
            status=403,
        )
    run, _ = sync_run_request(
        region=region,
        requested_by=str(request.user),
        audit=lambda run: audit_record(action="customers.sync", request=request),
    )
    return render(request, "customers/_sync_status.html", {"sync": run})


@role_required(Role.AGENT)
def sync_status_view(request: HttpRequest, run_id: int) -> HttpResponse:
    """The sync's status, polled every second while it runs. The poll that finds it finished
    says so (a toast) and tells the page to re-read its list (the `customers-synced` event)."""
    run = get_object_or_404(SyncRun, pk=run_id, region_id=request.user.region_id)
    announce = run.finished and request.headers.get("HX-Request") == "true"
    response = render(request, "customers/_sync_status.html", {"sync": run, "announce": announce})
    if announce:
        response["HX-Trigger"] = "customers-synced"
    return response


def _graph_table(
    request: HttpRequest,
    customer: Customer,
    table: tables.Table,
    filters: dict[str, str],
    read: Callable[..., directory.Page],
    *,
    selectable: bool = False,
    **extra: object,
) -> dict[str, object]:
    """A Graph table's page: the sort and columns, the page by skiptoken, and where it sits
    in the list ("26-50 of 3,000", Previous) from the tokens kept in the session."""
    view = tables.table_for(request, table, filters, selectable=selectable)
    token = directory.clean_skiptoken(request.GET.get("page"))
    page = read(skiptoken=token, orderby=view.sort.graph_orderby(), **filters)
    key = paging.list_key(tenant_id=str(customer.tenant_id), table=table.name, query=view.keep)
    position = paging.page_position(
        session=request.session, key=key, token=token, page=page, page_size=directory.PAGE_SIZE
    )
    return {
        "customer": customer,
        "items": page.items,
        "count": position.count,
        "position": position,
        "paged": bool(token),
        "tv": view,
        "pages": _page_links(view, position),
        **filters,
        **extra,
    }


def _page_links(view: tables.TableView, position: paging.Position) -> dict[str, str]:
    """First, Previous and Next as links that keep the table's filters and sort."""

    def link(token: str | None) -> str:
        query = {"page": token} if token else {}
        return "?" + urlencode({**query, **view.keep})

    links = {"first": link(None)}
    if position.has_previous:
        links["previous"] = link(position.previous)
    if position.next:
        links["next"] = link(position.next)
    return links


@customer_view("overview")
def overview_view(request: HttpRequest, customer: Customer, graph: GraphClient) -> HttpResponse:
    overview = directory.customer_overview(graph=graph)
    return render(
        request,
        "customers/overview.html",
        {"customer": customer, "tab": "overview", "overview": overview},
    )


def _bulk_context(
    request: HttpRequest, customer: Customer, target: Target, keep: list[tuple[str, str]]
) -> dict[str, object]:
    """The selection bar of a table, for managers: the bulk actions and their verdicts."""
    if not request.user.has_role(Role.MANAGER):
        return {"bulk_actions": ()}
    verdicts = actions_for(
        target=target, user=request.user, session=request.session, customer=customer
    )
    url = "customer_users_bulk" if target == Target.USER else "customer_managed_devices_bulk"
    return {
        "bulk_actions": [v for v in verdicts if v.action.name in bulk.BULK_ACTIONS[target]],
        "bulk_url": reverse(url, args=[customer.tenant_id]),
        "bulk_keep": keep,
    }


@customer_view("users")
def users_view(request: HttpRequest, customer: Customer, graph: GraphClient) -> HttpResponse:
    q = request.GET.get("q", "")[:100]
    bulk_context = _bulk_context(request, customer, Target.USER, [("q", q)])
    context = _graph_table(
        request,
        customer,
        tables.USERS,
        {"q": q},
        partial(directory.user_page, graph=graph),
        selectable=bool(bulk_context["bulk_actions"]),
        tab="users",
        export_max=directory.EXPORT_MAX_ROWS,
        **bulk_context,
    )
    return render(request, "customers/users.html", context)


@customer_view("users")
def users_export_view(request: HttpRequest, customer: Customer, graph: GraphClient) -> HttpResponse:
    """The users table as shown (search, sort, chosen columns) as CSV, from Graph: the first
    5,000 users at most, and a last line that says so when there are more."""
    q = request.GET.get("q", "")[:100]
    table = tables.table_for(request, tables.USERS, {"q": q})
    limit = directory.EXPORT_MAX_ROWS
    users = directory.user_rows(graph=graph, q=q, orderby=table.sort.graph_orderby(), limit=limit)
    audit_record(
        action="customers.users_export",
        request=request,
        tenant_id=str(customer.tenant_id),
        detail={"q": q, **table.sort.params(), "columns": table.shown_keys, "rows": len(users)},
    )
    rows: list[list[object]] = [
        [_user_cell(u, key) for key in table.shown_keys] for u in users[:limit]
    ]
    if len(users) > limit:
        rows.append([f"Only the first {limit:,} users are exported; search to narrow the list."])
    lines = csv_lines(header=[c.label for c in table.shown], rows=rows)
    return csv_response(lines, name=f"users-{customer.default_domain or customer.tenant_id}")


def _user_cell(user: dict, key: str) -> object:
    if key == "signin":
        return "Blocked" if user.get("accountEnabled") is False else "Allowed"
    field = {
        "name": "displayName",
        "upn": "userPrincipalName",
        "mail": "mail",
        "job": "jobTitle",
        "department": "department",
    }[key]
    return user.get(field) or ""


@customer_view("groups")
def groups_view(request: HttpRequest, customer: Customer, graph: GraphClient) -> HttpResponse:
    q = request.GET.get("q", "")[:100]
    read = partial(directory.group_page, graph=graph)
    context = _graph_table(request, customer, tables.GROUPS, {"q": q}, read, tab="groups")
    return render(request, "customers/groups.html", context)


@customer_view("group")
def group_view(
    request: HttpRequest, customer: Customer, graph: GraphClient, group_id: str
) -> HttpResponse:
    group, members = directory.group_with_members(graph=graph, group_id=group_id)
    return render(
        request,
        "customers/group.html",
        {"customer": customer, "tab": "groups", "group": group, "members": members},
    )


@customer_view("devices")
def devices_view(request: HttpRequest, customer: Customer, graph: GraphClient) -> HttpResponse:
    q = request.GET.get("q", "")[:100]
    read = partial(directory.device_page, graph=graph)
    context = _graph_table(request, customer, tables.DEVICES, {"q": q}, read, tab="devices")
    return render(request, "customers/devices.html", context)


def _managed_device_page(*, graph: GraphClient, orderby: str, **filters: str) -> directory.Page:
    # Intune's table does not sort (customers/tables.py): `orderby` is always "".
    return directory.managed_device_page(graph=graph, **filters)


@customer_view("managed-devices")
def managed_devices_view(
    request: HttpRequest, customer: Customer, graph: GraphClient
) -> HttpResponse:
    compliance = request.GET.get("compliance", "")
    compliance = compliance if compliance in directory.COMPLIANCE_STATES else ""
    os = request.GET.get("os", "")
    os = os if os in directory.OPERATING_SYSTEMS else ""
    keep = [("compliance", compliance), ("os", os)]
    bulk_context = _bulk_context(request, customer, Target.DEVICE, keep)
    context = _graph_table(
        request,
        customer,
        tables.MANAGED_DEVICES,
        {"compliance": compliance, "os": os},
        partial(_managed_device_page, graph=graph),
        selectable=bool(bulk_context["bulk_actions"]),
        tab="managed-devices",
        states=directory.COMPLIANCE_STATES,
        systems=directory.OPERATING_SYSTEMS,
        **bulk_context,
    )
    return render(request, "customers/managed_devices.html", context)


def _gone(request: HttpRequest, customer: Customer, tab: str, message: str) -> HttpResponse:
    """A 404 page in the customer's frame: the object Graph no longer knows."""
    context = {"customer": customer, "tab": tab, "message": message, "kind": "not_found"}
    return render(request, "customers/problem.html", context, status=404)


@customer_view("user")
def user_view(
    request: HttpRequest, customer: Customer, graph: GraphClient, user_id: str
) -> HttpResponse:
    try:
        detail = directory.user_detail(graph=graph, user_id=user_id)
    except MicrosoftError as exc:
        if exc.kind != ErrorKind.NOT_FOUND:
            raise
        return _gone(request, customer, "users", f"This user no longer exists in {customer.name}.")
    actions = actions_for(
        target=Target.USER, user=request.user, session=request.session, customer=customer
    )
    context = {
        "customer": customer,
        "tab": "users",
        "detail": detail,
        "actions": actions,
        "action_url_name": "customer_user_action",
        "object_id": user_id,
        "may_remove_member": any(
            v.allowed for v in actions if v.action.name == "remove-from-group"
        ),
        "new_password": _password_pop(request, customer, user_id),
    }
    return render(request, "customers/user.html", context)


@customer_view("managed-device")
def managed_device_view(
    request: HttpRequest, customer: Customer, graph: GraphClient, device_id: str
) -> HttpResponse:
    try:
        detail = directory.managed_device_detail(graph=graph, device_id=device_id)
    except MicrosoftError as exc:
        if exc.kind != ErrorKind.NOT_FOUND:
            raise
        message = f"This device is no longer managed by Intune in {customer.name}."
        return _gone(request, customer, "managed-devices", message)
    actions = actions_for(
        target=Target.DEVICE, user=request.user, session=request.session, customer=customer
    )
    context = {
        "customer": customer,
        "tab": "managed-devices",
        "detail": detail,
        "actions": actions,
        "action_url_name": "customer_managed_device_action",
        "object_id": device_id,
    }
    return render(request, "customers/managed_device.html", context)


# The outcome of "Consent the app", shown once on the access page after the redirect.
_CONSENT_OUTCOME = "_consent_outcome"


def _access_page(
    request: HttpRequest, customer: Customer, *, status: int = 200, **extra: object
) -> HttpResponse:
    access = access_read(session=request.session, customer=customer)
    shown = request.session.pop(_CONSENT_OUTCOME, None)
    if shown and shown.get("tenant") == str(customer.tenant_id):
        extra.setdefault("outcome", shown)
    context = {
        "customer": customer,
        "tab": "access",
        "access": access,
        "may_consent": request.user.has_role(Role.ADMIN),
        "consent_needs": CONSENT_ROLES_NEEDED,
        "admins": region_admins(region=customer.region),
        **extra,
    }
    return render(request, "customers/access.html", context, status=status)


@customer_view("access")
def access_view(request: HttpRequest, customer: Customer, graph: GraphClient) -> HttpResponse:
    return _access_page(request, customer)


@require_POST
@customer_view("consent", role=Role.ADMIN)
def consent_view(request: HttpRequest, customer: Customer, graph: GraphClient) -> HttpResponse:
    if request.POST.get("confirm") != "yes":
        problem = {
            "ok": False,
            "message": "Tick the confirmation first: consenting gives the portal's app "
            f"permissions in {customer.name}'s tenant.",
        }
        return _access_page(request, customer, status=400, outcome=problem)
    outcome = consent_by_agent(
        session=request.session, customer=customer, user=request.user, request=request
    )
    if outcome.refusal is not None and (ended := session_ended_by(request, outcome.refusal)):
        return ended  # the admin's grant is dead at the partner tenant too: signed out
    request.session[_CONSENT_OUTCOME] = {
        "tenant": str(customer.tenant_id),
        "ok": outcome.ok,
        "kind": str(outcome.kind),
        "message": outcome.message,
    }
    return redirect("customer_access", tenant_id=customer.tenant_id)


@require_POST
@role_required(Role.ADMIN)
def consent_all_view(request: HttpRequest) -> HttpResponse:
    region = request.user.region
    if region is None or not region.active:
        return HttpResponse(
            "Your region is switched off, so the app cannot be consented. Ask your admin.",
            status=403,
        )
    run, _ = consent_run_request(
        region=region,
        session=request.session,
        requested_by=str(request.user),
        audit=lambda run: audit_record(
            action="customers.consent_all", request=request, detail={"run": run.pk}
        ),
    )
    if run is None:
        messages.info(request, "Every customer with an active relationship is consented.")
        return redirect("customer_list")
    return redirect("customer_consent_run", run_id=run.pk)


@role_required(Role.ADMIN)
def consent_run_view(request: HttpRequest, run_id: int) -> HttpResponse:
    run = get_object_or_404(ConsentRun, pk=run_id, region_id=request.user.region_id)
    results = run.results.select_related("customer")
    context = {"run": run, "results": results, "nav": "customers"}
    if request.headers.get("HX-Request"):
        return render(request, "customers/_consent_run.html", context)
    return render(request, "customers/consent_run.html", context)


# -- actions on a user or a device (customers/actions.py, customers/action_calls.py) ----------

# A reset password, encrypted, between the POST and the page that shows it once.
_NEW_PASSWORD = "_action_new_password"  # noqa: S105 - a session key


def _password_keep(request: HttpRequest, customer: Customer, user_id: str, password: str) -> None:
    request.session[_NEW_PASSWORD] = {
        "tenant": str(customer.tenant_id),
        "user": user_id,
        "sealed": crypto.encrypt(password),
    }


def _password_pop(request: HttpRequest, customer: Customer, user_id: str) -> str:
    """The password just reset for this user, once: the next render no longer has it."""
    kept = request.session.get(_NEW_PASSWORD)
    if not kept or kept.get("tenant") != str(customer.tenant_id) or kept.get("user") != user_id:
        return ""
    del request.session[_NEW_PASSWORD]
    return crypto.decrypt(kept["sealed"])


def _detail_url(customer: Customer, target: Target, object_id: str) -> str:
    if target == Target.USER:
        return reverse("customer_user", args=[customer.tenant_id, object_id])
    return reverse("customer_managed_device", args=[customer.tenant_id, object_id])


def _action_page(
    request: HttpRequest,
    customer: Customer,
    target: Target,
    object_id: str,
    template: str,
    *,
    status: int = 200,
    **extra: object,
) -> HttpResponse:
    tab = "users" if target == Target.USER else "managed-devices"
    context = {
        "customer": customer,
        "tab": tab,
        "object_id": object_id,
        "target": str(target),
        "back": _detail_url(customer, target, object_id),
        **extra,
    }
    return render(request, f"customers/{template}", context, status=status)


def _action_outcome_page(
    request: HttpRequest,
    customer: Customer,
    action: Action,
    object_id: str,
    outcome: Outcome,
    *,
    status: int | None = None,
) -> HttpResponse:
    return _action_page(
        request,
        customer,
        action.target,
        object_id,
        "action_result.html",
        status=status or outcome.status,
        action=action,
        outcome=outcome,
    )


def _action_view(
    request: HttpRequest,
    customer: Customer,
    graph: GraphClient,
    target: Target,
    object_id: str,
    name: str,
) -> HttpResponse:
    """POST ./actions/<name>/: roles, form key, confirmation, then the action, once."""
    action = ACTIONS_BY_NAME.get((target, name))
    if action is None:
        raise Http404("No such action.")
    verdicts = actions_for(
        target=target, user=request.user, session=request.session, customer=customer
    )
    verdict = next(v for v in verdicts if v.action is action)
    if not verdict.allowed:
        # Refused before any call to the customer's tenant, and recorded.
        refused = Outcome(ActionOutcomeKind.REFUSED, "Not done: " + " ".join(verdict.reasons))
        action_audit(
            request=request, customer=customer, action=action, object_id=object_id, outcome=refused
        )
        return _action_outcome_page(request, customer, action, object_id, refused)
    try:
        key = form_key_parse(request.POST.get("key"))
    except FormKeyInvalid:
        stale = Outcome(ActionOutcomeKind.REFUSED, FORM_STALE)
        return _action_outcome_page(request, customer, action, object_id, stale, status=400)
    params = ActionParams(
        group_id=guid_clean(request.POST.get("group_id", "")),
        confirm_name=request.POST.get("confirm_name", "")[:256],
    )
    if action.name in ("add-to-group", "remove-from-group") and not params.group_id:
        if action.name == "add-to-group" and "group_id" not in request.POST:
            return _group_picker(request, customer, graph, action, object_id, key)
        unknown = Outcome(
            ActionOutcomeKind.REFUSED, "Choose a group from the list: nothing was changed."
        )
        return _action_outcome_page(request, customer, action, object_id, unknown, status=400)
    if action.confirm != Confirm.NONE and request.POST.get("confirm") != "yes":
        return _action_confirm(request, customer, graph, action, object_id, key, params)
    try:
        click = action_click(
            request=request,
            key=key,
            customer=customer,
            action=action,
            object_id=object_id,
            run=lambda: action_perform(
                graph=graph, customer=customer, action=action, object_id=object_id, params=params
            ),
            audit_extra={"group_id": params.group_id} if params.group_id else None,
        )
    except FormKeyInvalid:
        reused = Outcome(
            ActionOutcomeKind.REFUSED,
            "This form was already used for another action, so nothing was done. Open the "
            "page again and retry.",
        )
        return _action_outcome_page(request, customer, action, object_id, reused, status=400)
    back = _detail_url(customer, target, object_id)
    if click.replayed is not None:
        record = click.replayed
        if record.outcome == ActionOutcomeKind.PENDING:
            messages.info(
                request,
                "This action is still running from your first click; reload the page in a "
                "moment to see its result.",
            )
        else:
            said = record.message
            if action.name == "reset-password" and record.outcome == ActionOutcomeKind.DONE:
                said = (
                    "The password was already reset by this form and shown once; it is not "
                    "shown again. Reset it again if nobody noted it."
                )
            messages.info(request, f"This form was already sent, so it was not run again. {said}")
        return redirect(back)
    outcome = click.outcome
    assert outcome is not None
    if not outcome.ok:
        return _action_outcome_page(request, customer, action, object_id, outcome)
    if outcome.password:
        _password_keep(request, customer, object_id, outcome.password)
    (messages.success if outcome.kind == ActionOutcomeKind.DONE else messages.info)(
        request, outcome.message
    )
    return redirect(back)


def _action_confirm(
    request: HttpRequest,
    customer: Customer,
    graph: GraphClient,
    action: Action,
    object_id: str,
    key: object,
    params: ActionParams,
) -> HttpResponse:
    """The confirmation step of a destructive action: the object as Graph has it now."""
    answers = graph.batch(reads(action, object_id, params, prefix=""))
    first = answers["o"]
    if first.status == 404:  # the same sentence as the action's own 404
        gone = failure(action, GraphNotFound(), customer)
        return _action_outcome_page(request, customer, action, object_id, gone)
    first.raise_for_status()
    obj = first.body or {}
    name = (
        obj.get("displayName") or obj.get("deviceName") or obj.get("userPrincipalName") or object_id
    )
    group = ""
    if "g" in answers:
        answers["g"].raise_for_status()
        group = (answers["g"].body or {}).get("displayName") or params.group_id
    return _action_page(
        request,
        customer,
        action.target,
        object_id,
        "action_confirm.html",
        action=action,
        key=str(key),
        name=name,
        group_id=params.group_id,
        group=group,
    )


def _group_picker(
    request: HttpRequest,
    customer: Customer,
    graph: GraphClient,
    action: Action,
    object_id: str,
    key: object,
) -> HttpResponse:
    """Add to a group: the customer's groups to choose from (searchable)."""
    q = request.POST.get("q", "")[:100]
    page = directory.group_page(graph=graph, q=q, skiptoken=None)
    return _action_page(
        request,
        customer,
        action.target,
        object_id,
        "action_groups.html",
        action=action,
        key=str(key),
        q=q,
        groups=page.items,
        more=bool(page.next_skiptoken),
    )


@require_POST
@customer_view("user-action")
def user_action_view(
    request: HttpRequest, customer: Customer, graph: GraphClient, user_id: str, name: str
) -> HttpResponse:
    return _action_view(request, customer, graph, Target.USER, user_id, name)


@require_POST
@customer_view("managed-device-action")
def managed_device_action_view(
    request: HttpRequest, customer: Customer, graph: GraphClient, device_id: str, name: str
) -> HttpResponse:
    return _action_view(request, customer, graph, Target.DEVICE, device_id, name)


# -- bulk actions on the users and Intune devices tables (customers/bulk.py) -----------------

BULK_ITEMS_PAGE = 100


def _bulk_refusal(
    request: HttpRequest, customer: Customer, tab: str, message: str, status: int
) -> HttpResponse:
    context = {"customer": customer, "tab": tab, "message": message, "kind": "bulk"}
    return render(request, "customers/problem.html", context, status=status)


def _bulk_view(
    request: HttpRequest, customer: Customer, graph: GraphClient, target: Target
) -> HttpResponse:
    """POST ./users/bulk/ or ./managed-devices/bulk/: the selection (ids, or all matching the
    table's search) and the action; confirmed with the count; then a job, once per form."""
    tab = "users" if target == Target.USER else "managed-devices"
    name = request.POST.get("action", "")
    action = ACTIONS_BY_NAME.get((target, name))
    if action is None or name not in bulk.BULK_ACTIONS[target]:
        return _bulk_refusal(
            request, customer, tab, "Choose one of the listed actions for the selection.", 400
        )
    try:
        key = form_key_parse(request.POST.get("key"))
    except FormKeyInvalid:
        return _bulk_refusal(request, customer, tab, FORM_STALE, 400)
    started = BulkRun.objects.filter(form_key=key, customer=customer).first()
    if started is not None:  # the confirmation was sent twice: show the job it started
        return redirect("customer_bulk_run", tenant_id=customer.tenant_id, run_id=started.pk)
    try:
        if request.POST.get("all_matching") == "yes":
            ids = _bulk_all_matching(request, graph, target)
        else:
            ids = request.POST.getlist("ids") or request.POST.get("id_list", "").split(",")
        ids = bulk.bulk_ids_clean([i for i in ids if i])
        if request.POST.get("confirm") != "yes":
            return render(
                request,
                "customers/bulk_confirm.html",
                {
                    "customer": customer,
                    "tab": tab,
                    "action": action,
                    "key": str(key),
                    "ids": ",".join(ids),
                    "count": len(ids),
                    "noun": "user" if target == Target.USER else "device",
                },
            )
        run, created = bulk.bulk_start(
            session=request.session,
            customer=customer,
            user=request.user,
            target=target,
            action_name=name,
            object_ids=ids,
            form_key=key,
        )
    except bulk.BulkRefused as exc:
        return _bulk_refusal(request, customer, tab, exc.message, exc.status)
    if not created:
        messages.warning(
            request,
            "Another bulk action is still running on this customer, so yours was not started: "
            "here it is. Start yours again when it has finished.",
        )
    return redirect("customer_bulk_run", tenant_id=customer.tenant_id, run_id=run.pk)


def _bulk_all_matching(request: HttpRequest, graph: GraphClient, target: Target) -> list[str]:
    limit = settings.BULK_MAX_ITEMS
    if target == Target.USER:
        return directory.user_ids_matching(
            graph=graph, q=request.POST.get("q", "")[:100], limit=limit
        )
    return directory.managed_device_ids_matching(
        graph=graph,
        compliance=request.POST.get("compliance", ""),
        os=request.POST.get("os", ""),
        limit=limit,
    )


@require_POST
@customer_view("users-bulk", role=Role.MANAGER)
def users_bulk_view(request: HttpRequest, customer: Customer, graph: GraphClient) -> HttpResponse:
    return _bulk_view(request, customer, graph, Target.USER)


@require_POST
@customer_view("managed-devices-bulk", role=Role.MANAGER)
def managed_devices_bulk_view(
    request: HttpRequest, customer: Customer, graph: GraphClient
) -> HttpResponse:
    return _bulk_view(request, customer, graph, Target.DEVICE)


@customer_view("bulk-run", role=Role.MANAGER)
def bulk_run_view(
    request: HttpRequest, customer: Customer, graph: GraphClient, run_id: int
) -> HttpResponse:
    """A bulk job: progress while it runs, then every item's result (filterable, paged)."""
    run = get_object_or_404(BulkRun, pk=run_id, customer=customer)
    action = ACTIONS_BY_NAME.get((Target(run.target), run.action))
    outcome = request.GET.get("outcome", "")
    items = run.items.all()
    if outcome in ActionOutcomeKind.values:
        items = items.filter(outcome=outcome)
    page = Paginator(items, BULK_ITEMS_PAGE).get_page(request.GET.get("page"))
    context = {
        "customer": customer,
        "tab": "users" if run.target == Target.USER else "managed-devices",
        "run": run,
        "action": action,
        "page": page,
        "outcome": outcome,
        "outcomes": ActionOutcomeKind.choices,
    }
    if request.headers.get("HX-Request"):
        return render(request, "customers/_bulk_run.html", context)
    return render(request, "customers/bulk_run.html", context)


@role_required(Role.AGENT)
def customer_switch_view(request: HttpRequest) -> HttpResponse:
    """The tenant switcher's results (an htmx partial): from the database, never Microsoft."""
    q = request.GET.get("q", "")[: switcher.Q_MAX * 2]
    results = switcher.switcher_search(
        user=request.user,
        q=q,
        tab=request.GET.get("tab", "")[:32],
        recent=recent_tenant_ids(session=request.session),
    )
    return render(
        request,
        "customers/_switcher_results.html",
        {
            "results": results,
            "q": switcher.switcher_query_clean(q),
            "regions": request.user.crosses_regions,
        },
    )
