"""The Graph calls of agent actions (customers/actions.py): read the object, decide, write,
and say what happened in a sentence, with the before and after the audit records.

One code path for one object and for many: every step is a list of `$batch` items, so a bulk
job (customers/bulk.py) sends the reads of 20 users in one round trip and their writes in a
second, and a click on a detail page sends a batch of one. Before any write the object is read:
a user already blocked is not blocked again ("already so", nothing sent), a wipe's typed name
is compared with the device's name as Graph has it, and a write a killed worker may have sent
is recognised from Graph's state instead of being sent twice.

The agent's roles were checked before this module is called (customers.actions verdicts);
Microsoft checks them again, and its refusals become sentences here.
# Reference: https://learn.microsoft.com/en-us/graph/json-batching
# Reference: https://learn.microsoft.com/en-us/graph/errors
"""

from __future__ import annotations

import math
import secrets
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from customers.actions import Action, Target
from customers.errors import explain
from customers.models import ActionOutcomeKind, Customer
from mscloud.batch import BatchRequest, BatchResponse
from mscloud.errors import ErrorKind, GraphError, MicrosoftError
from mscloud.graph import GraphClient
from mscloud.identity import InteractionRequired

Kind = ActionOutcomeKind
SUCCEEDED = (Kind.DONE, Kind.ALREADY)

USER_STATE_FIELDS = (
    "id,displayName,userPrincipalName,accountEnabled,signInSessionsValidFromDateTime"
)
DEVICE_STATE_FIELDS = "id,deviceName,azureADDeviceId,deviceActionResults,lastSyncDateTime"
ENTRA_STATE_FIELDS = "id,deviceId,displayName,accountEnabled"
# What the Intune actions are called in a device's deviceActionResults.
# Reference: https://learn.microsoft.com/en-us/graph/api/resources/intune-devices-deviceactionresult
INTUNE_ACTION_NAMES = {
    "sync": "syncDevice",
    "restart": "rebootNow",
    "retire": "retire",
    "wipe": "wipe",
}
# Actions a worker may send again after it was killed mid-write without harm: they set a state.
STATE_SETTING = {"block-sign-in", "unblock-sign-in", "disable-entra-device", "enable-entra-device"}

# Generated passwords: 16 characters, every kind Entra counts (lower, upper, digits, symbols),
# without the ones people misread when they read a password out on the phone (O/0, l/1/I).
# Reference: https://learn.microsoft.com/en-us/entra/identity/authentication/concept-password-policies
PASSWORD_LENGTH = 16
_LOWER = "abcdefghijkmnopqrstuvwxyz"
_UPPER = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_DIGITS = "23456789"
_SYMBOLS = "!#$%*+-=?@"


def password_generate() -> str:
    """A random password that meets Entra's complexity rules (never logged or stored)."""
    kinds = (_LOWER, _UPPER, _DIGITS, _SYMBOLS)
    chars = [secrets.choice(k) for k in kinds]
    everything = "".join(kinds)
    chars += [secrets.choice(everything) for _ in range(PASSWORD_LENGTH - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


@dataclass(frozen=True)
class ActionParams:
    """What the form adds to an action: the group of a membership change, the typed name of a
    wipe, and for a worker taking over, when the interrupted write may have left."""

    group_id: str = ""
    confirm_name: str = ""
    sent_at: datetime | None = None  # an earlier attempt sent the write at this time


@dataclass
class Outcome:
    """How an action on one object ended, in words; `password` only for a reset, shown once to
    the agent and never stored, logged or audited."""

    kind: Kind
    message: str
    name: str = ""
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    retry_after: float | None = None
    password: str = field(default="", repr=False)
    bad_input: bool = False  # refused for what was sent (a typed name, a body Graph refused)

    @property
    def ok(self) -> bool:
        return self.kind in SUCCEEDED

    @property
    def status(self) -> int:
        """The HTTP status of the page that shows it."""
        return 400 if self.bad_input else _STATUS.get(self.kind, 200)


_STATUS = {
    Kind.REFUSED: 403,
    Kind.NOT_FOUND: 404,
    Kind.THROTTLED: 429,
    Kind.FAILED: 502,
}


# -- steps ------------------------------------------------------------------------------------


@dataclass
class Write:
    """A write to send; `done` is the outcome if Graph accepts it."""

    request: BatchRequest
    done: Outcome


@dataclass
class Read:
    """Another read before the write can be decided (the Entra object of an Intune device)."""

    request: BatchRequest
    then: Callable[[BatchResponse], Step]


Step = Write | Read | Outcome


def _user_path(user_id: str) -> str:
    return f"/users/{user_id}"


def _device_path(device_id: str) -> str:
    return f"/deviceManagement/managedDevices/{device_id}"


def reads(action: Action, object_id: str, params: ActionParams, *, prefix: str) -> list:
    """The first round trip for one object: the object itself (and the group of a membership
    change), as `$batch` items whose ids start with `prefix`."""
    if action.target == Target.USER:
        items = [BatchRequest(f"{prefix}o", f"{_user_path(object_id)}?$select={USER_STATE_FIELDS}")]
        if action.name in ("add-to-group", "remove-from-group"):
            items.append(
                BatchRequest(f"{prefix}g", f"/groups/{params.group_id}?$select=id,displayName")
            )
        return items
    return [BatchRequest(f"{prefix}o", f"{_device_path(object_id)}?$select={DEVICE_STATE_FIELDS}")]


def plan(
    action: Action,
    object_id: str,
    params: ActionParams,
    answers: Mapping[str, BatchResponse],
    *,
    prefix: str,
    customer: Customer,
) -> Step:
    """From the first reads, the write to send, another read, or the outcome already known."""
    first = answers[f"{prefix}o"]
    if not first.ok:
        return failure(action, _error(first), customer)
    obj = first.body or {}
    if action.target == Target.USER:
        return _plan_user(action, object_id, params, obj, answers, prefix, customer)
    return _plan_device(action, object_id, params, obj, prefix, customer)


def settle(action: Action, write: Write, answer: BatchResponse, customer: Customer) -> Outcome:
    """The outcome of a sent write: `write.done`, or Microsoft's refusal in a sentence."""
    if answer.ok:
        return write.done
    exc = _error(answer)
    named = write.done.name
    if action.name == "add-to-group" and exc.kind == ErrorKind.BAD_REQUEST and _already(exc):
        return Outcome(
            Kind.ALREADY,
            f"{named} was already a member of {write.done.after.get('group')}; nothing changed.",
            name=named,
            before=write.done.after,
            after=write.done.after,
        )
    if action.name == "remove-from-group" and exc.kind == ErrorKind.NOT_FOUND:
        return Outcome(
            Kind.ALREADY,
            f"{named} was not a member of {write.done.before.get('group')}; nothing changed.",
            name=named,
            before=write.done.after,
            after=write.done.after,
        )
    outcome = failure(action, exc, customer)
    outcome.name = named
    outcome.before = write.done.before
    outcome.after = write.done.before  # nothing changed
    return outcome


def _already(exc: MicrosoftError) -> bool:
    return "already exist" in (exc.message or "").lower()


def _plan_user(
    action: Action,
    object_id: str,
    params: ActionParams,
    user: dict[str, Any],
    answers: Mapping[str, BatchResponse],
    prefix: str,
    customer: Customer,
) -> Step:
    name = str(user.get("displayName") or user.get("userPrincipalName") or object_id)
    path = _user_path(object_id)
    enabled = user.get("accountEnabled")
    if action.name in ("block-sign-in", "unblock-sign-in"):
        want = action.name == "unblock-sign-in"
        before = {"accountEnabled": enabled}
        if enabled is want and params.sent_at is not None:
            # An earlier attempt planned this write because the state differed, so it reached
            # Graph: done (by that attempt), not "already so".
            return Outcome(
                Kind.DONE,
                f"{name} can sign in again (unblocked by an earlier attempt)."
                if want
                else f"{name} can no longer sign in (blocked by an earlier attempt).",
                name=name,
                before={"accountEnabled": not want},
                after=before,
            )
        if enabled is want:
            state = "allowed" if want else "blocked"
            return Outcome(
                Kind.ALREADY,
                f"{name}'s sign-in was already {state}; nothing changed.",
                name=name,
                before=before,
                after=before,
            )
        done = (
            f"{name} can sign in again."
            if want
            else f"{name} can no longer sign in. Sessions already open last until their tokens "
            "expire: revoke sessions to end them now."
        )
        return Write(
            BatchRequest(
                f"{prefix}w",
                path,
                method="PATCH",
                body={"accountEnabled": want},
            ),
            Outcome(Kind.DONE, done, name=name, before=before, after={"accountEnabled": want}),
        )
    if action.name == "reset-password":
        password = password_generate()
        return Write(
            BatchRequest(
                f"{prefix}w",
                path,
                method="PATCH",
                body={
                    "passwordProfile": {
                        "forceChangePasswordNextSignIn": True,
                        "password": password,
                    }
                },
            ),
            Outcome(
                Kind.DONE,
                f"{name}'s password was reset. Give them the new password below; they must "
                "change it at their next sign-in.",
                name=name,
                before={"passwordReset": False},
                after={"passwordReset": True, "forceChangePasswordNextSignIn": True},
                password=password,
            ),
        )
    if action.name == "revoke-sessions":
        valid_from = user.get("signInSessionsValidFromDateTime")
        before = {"signInSessionsValidFromDateTime": valid_from}
        if params.sent_at is not None and _at_or_after(valid_from, params.sent_at):
            # A killed worker's revocation reached Graph: sessions are already revoked.
            return Outcome(
                Kind.DONE,
                f"{name} is signed out everywhere (revoked by an earlier attempt).",
                name=name,
                before=before,
                after=before,
            )
        return Write(
            BatchRequest(f"{prefix}w", f"{path}/revokeSignInSessions", method="POST", body={}),
            Outcome(
                Kind.DONE,
                f"{name} is signed out everywhere: every app asks them to sign in again "
                "(some notice only when their access token expires, within an hour).",
                name=name,
                before=before,
                after={"signInSessionsValidFromDateTime": "now"},
            ),
        )
    # Membership changes: the group was read in the same round trip.
    group_answer = answers[f"{prefix}g"]
    if not group_answer.ok:
        exc = _error(group_answer)
        if exc.kind == ErrorKind.NOT_FOUND:
            return Outcome(
                Kind.NOT_FOUND, f"That group no longer exists in {customer.name}.", name=name
            )
        return failure(action, exc, customer)
    group = str((group_answer.body or {}).get("displayName") or params.group_id)
    if action.name == "add-to-group":
        return Write(
            BatchRequest(
                f"{prefix}w",
                f"/groups/{params.group_id}/members/$ref",
                method="POST",
                body={
                    "@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{object_id}"
                },
            ),
            Outcome(
                Kind.DONE,
                f"{name} is now a member of {group}.",
                name=name,
                before={"group": group, "member": False},
                after={"group": group, "member": True},
            ),
        )
    return Write(
        BatchRequest(
            f"{prefix}w",
            f"/groups/{params.group_id}/members/{object_id}/$ref",
            method="DELETE",
        ),
        Outcome(
            Kind.DONE,
            f"{name} is no longer a member of {group}.",
            name=name,
            before={"group": group, "member": True},
            after={"group": group, "member": False},
        ),
    )


def _plan_device(
    action: Action,
    object_id: str,
    params: ActionParams,
    device: dict[str, Any],
    prefix: str,
    customer: Customer,
) -> Step:
    name = str(device.get("deviceName") or object_id)
    if action.name in ("disable-entra-device", "enable-entra-device"):
        return _plan_entra(action, device, name, prefix, customer)
    if action.name == "wipe" and params.confirm_name.strip() != name:
        return Outcome(
            Kind.REFUSED,
            f"Nothing was wiped: the name you typed does not match this device's name "
            f"({name}). Type it exactly to confirm.",
            name=name,
            bad_input=True,
        )
    intune_name = INTUNE_ACTION_NAMES[action.name]
    results = [r for r in device.get("deviceActionResults") or [] if isinstance(r, dict)]
    same = [r for r in results if str(r.get("actionName", "")).lower() == intune_name.lower()]
    pending = [r for r in same if r.get("actionState") == "pending"]
    before = {
        "pendingActions": sorted(
            {str(r.get("actionName")) for r in results if r.get("actionState") == "pending"}
        )
    }
    if params.sent_at is not None and any(
        _at_or_after(r.get("startDateTime"), params.sent_at) for r in same
    ):
        return Outcome(
            Kind.DONE,
            f"{action.label} of {name} was sent by an earlier attempt; not sent again.",
            name=name,
            before=before,
            after=before,
        )
    if action.name in ("retire", "wipe") and pending:
        return Outcome(
            Kind.ALREADY,
            f"A {action.label.lower()} of {name} is already pending; nothing was sent again.",
            name=name,
            before=before,
            after=before,
        )
    body = {"keepEnrollmentData": False, "keepUserData": False} if action.name == "wipe" else None
    done = {
        "sync": f"{name} was asked to sync with Intune; it checks in the next time it is online.",
        "restart": f"{name} restarts when it next checks in with Intune.",
        "retire": f"{name} is being retired: company data, apps and policies go at its next "
        "check-in.",
        "wipe": f"{name} is being wiped: it resets to factory settings at its next check-in.",
    }[action.name]
    after = {"pendingActions": sorted({*before["pendingActions"], intune_name})}
    return Write(
        BatchRequest(
            f"{prefix}w", f"{_device_path(object_id)}/{intune_name}", method="POST", body=body
        ),
        Outcome(Kind.DONE, done, name=name, before=before, after=after),
    )


def _plan_entra(
    action: Action, device: dict[str, Any], name: str, prefix: str, customer: Customer
) -> Step:
    """Intune knows the Entra device by its deviceId; Graph writes it by its object id."""
    entra_id = str(device.get("azureADDeviceId") or "")
    if len(entra_id) != 36 or entra_id.strip("0-") == "":
        return Outcome(
            Kind.REFUSED,
            f"{name} has no Entra ID device object (it is not joined or registered), so there "
            "is nothing to enable or disable.",
            name=name,
        )
    want = action.name == "enable-entra-device"

    def then(answer: BatchResponse) -> Step:
        if not answer.ok:
            return failure(action, _error(answer), customer)
        found = (answer.body or {}).get("value") or []
        if not found:
            return Outcome(
                Kind.NOT_FOUND,
                f"{name}'s Entra ID device object no longer exists in {customer.name}.",
                name=name,
            )
        before = {"accountEnabled": found[0].get("accountEnabled")}
        if before["accountEnabled"] is want:
            state = "enabled" if want else "disabled"
            return Outcome(
                Kind.ALREADY,
                f"{name}'s Entra device was already {state}; nothing changed.",
                name=name,
                before=before,
                after=before,
            )
        done = (
            f"{name}'s Entra device is enabled again: work accounts can sign in on it."
            if want
            else f"{name}'s Entra device is disabled: nobody can sign in on it with a work "
            "account until it is enabled again."
        )
        return Write(
            BatchRequest(
                f"{prefix}w",
                f"/devices/{found[0]['id']}",
                method="PATCH",
                body={"accountEnabled": want},
            ),
            Outcome(Kind.DONE, done, name=name, before=before, after={"accountEnabled": want}),
        )

    return Read(
        BatchRequest(
            f"{prefix}e",
            f"/devices?$filter=deviceId eq '{entra_id}'&$select={ENTRA_STATE_FIELDS}",
        ),
        then,
    )


# -- Microsoft's refusals in words ------------------------------------------------------------


def _error(answer: BatchResponse) -> MicrosoftError:
    try:
        answer.raise_for_status()
    except MicrosoftError as exc:
        return exc
    return GraphError("Microsoft Graph answered an error without a status.")


_GONE = {
    Target.USER: "This user no longer exists in {name}.",
    Target.DEVICE: "This device is no longer managed by Intune in {name}.",
}


# Entra decides these by the target user's own roles too: a Helpdesk or User Administrator
# may not reset the password of (nor block, nor sign out) a Global Administrator.
# Reference: https://learn.microsoft.com/entra/identity/role-based-access-control/privileged-roles-permissions#who-can-reset-passwords
_TARGET_ROLE_BOUND = frozenset(
    {"reset-password", "block-sign-in", "unblock-sign-in", "revoke-sessions"}
)


def failure(action: Action, exc: MicrosoftError, customer: Customer) -> Outcome:
    """Microsoft's refusal of `action` as the outcome an agent reads: what happened, what to do."""
    if isinstance(exc, InteractionRequired):
        raise exc  # only the agent, at /authorize, can fix it: the view sends them there
    if exc.kind == ErrorKind.NOT_FOUND:
        return Outcome(Kind.NOT_FOUND, _GONE[action.target].format(name=customer.name))
    if exc.kind == ErrorKind.FORBIDDEN:
        target = (
            " If this user holds an admin role of their own (a Global Administrator, for "
            "example), Entra lets only more privileged roles do this: ask someone whose groups "
            "hold Privileged Authentication Administrator there."
            if action.name in _TARGET_ROLE_BOUND
            else ""
        )
        return Outcome(
            Kind.REFUSED,
            f"Microsoft refused to {action.label.lower()} in {customer.name} (HTTP 403), so "
            f"nothing was changed. It needs {action.entra_roles_named} there through your GDAP "
            f"groups, and the portal's app consented there with {action.scope}; if your groups "
            "hold the role, an admin of your region consents the app again on “My access”."
            + target,
        )
    if exc.kind == ErrorKind.THROTTLED:
        wait = math.ceil(exc.retry_after) if exc.retry_after else 30
        return Outcome(
            Kind.THROTTLED,
            f"Microsoft is throttling changes in {customer.name}; nothing was changed. Try "
            f"again in {wait} s.",
            retry_after=float(wait),
        )
    if exc.kind == ErrorKind.BAD_REQUEST:
        return Outcome(
            Kind.REFUSED,
            f"Microsoft refused the change: {exc.message} Nothing was changed.",
            bad_input=True,
        )
    message, _ = explain(exc, customer)
    return Outcome(Kind.FAILED, message)


def _at_or_after(value: Any, moment: datetime) -> bool:
    """Whether Graph's timestamp `value` is at or after `moment` (to the second)."""
    if not isinstance(value, str) or not value:
        return False
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return when.timestamp() >= math.floor(moment.timestamp())


# -- one object -------------------------------------------------------------------------------


def action_perform(
    *,
    graph: GraphClient,
    customer: Customer,
    action: Action,
    object_id: str,
    params: ActionParams | None = None,
) -> Outcome:
    """Run `action` on one user or managed device: two round trips (three for the Entra
    device of an Intune device). Never raises for Microsoft's refusals (they are outcomes),
    except when the agent must sign in again (InteractionRequired)."""
    params = params or ActionParams()
    try:
        first = graph.batch(reads(action, object_id, params, prefix=""))
        step = plan(action, object_id, params, first, prefix="", customer=customer)
        while isinstance(step, Read):
            step = step.then(graph.batch([step.request])[step.request.id])
        if isinstance(step, Outcome):
            return step
        return settle(action, step, graph.batch([step.request])[step.request.id], customer)
    except InteractionRequired:
        raise
    except MicrosoftError as exc:
        return failure(action, exc, customer)


def guid_clean(value: str) -> str:
    """A GUID from a form (a group id, an object id), lower case, or "" (the form is then
    refused with a sentence)."""
    value = (value or "").strip().lower()
    hexdigits = set(string.hexdigits.lower())
    parts = value.split("-")
    if [len(p) for p in parts] != [8, 4, 4, 4, 12] or not set(value) - {"-"} <= hexdigits:
        return ""
    return value
