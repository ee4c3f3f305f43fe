"""The one table of agent actions on users and devices: what each does, which portal role and
which Entra (GDAP) role it needs, whether it is destructive, and the Graph call it makes.

Shown to agents before any click (the detail pages' "Actions" panel); the POST views that run
the actions read the same rows, so what the panel promises is what the server enforces.
Entra roles are template ids; "least" are the ones named to an agent who lacks them
(DESIGN.md "GDAP and consent"; Global Administrator allows every action).
# Reference: https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from django.contrib.sessions.backends.base import SessionBase

from accounts.models import Role, User
from customers.access import GLOBAL_ADMIN, INTUNE_ADMIN, CustomerAccess, access_read
from customers.models import Customer
from mscloud.entra_roles import role_name
from mscloud.errors import MicrosoftError

log = logging.getLogger(__name__)

HELPDESK_ADMIN = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
PASSWORD_ADMIN = "966707d0-3269-4727-9be2-8c3a10f19b9d"  # noqa: S105 - a role id
PRIVILEGED_AUTH_ADMIN = "7be44c8a-adaf-4e2a-84d6-ab2649e08a13"
USER_ADMIN = "fe930be7-5e62-47db-91af-98c3a49a38b1"
GROUPS_ADMIN = "fdd7a751-b60b-444a-984c-02652fe8fa1c"
CLOUD_DEVICE_ADMIN = "7698a772-787b-4ac8-901f-60d6b08affd2"


class Target(StrEnum):
    USER = "user"
    DEVICE = "device"


class Confirm(StrEnum):
    NONE = "none"  # one click
    CLICK = "click"  # a confirmation step before the write
    TYPED_NAME = "typed_name"  # the agent types the device's name (wipe)


@dataclass(frozen=True)
class GraphCall:
    """The Graph request an action makes; `{id}` is the user's or the managed device's id."""

    method: str
    path: str
    sends: str  # what the body carries, in words (never a secret)
    reference: str  # learn.microsoft.com page of the call


@dataclass(frozen=True)
class Action:
    name: str  # the URL segment under ./actions/
    target: Target
    label: str
    does: str  # one sentence: what the click will do
    portal_role: Role
    entra_any_of: tuple[str, ...]  # Entra role template ids that allow it
    entra_least: tuple[str, ...]  # named to the agent when their groups hold none of any_of
    confirm: Confirm
    graph: GraphCall
    scope: str  # the delegated permission of the portal's app the call needs (ACTION_SCOPES)

    @property
    def destructive(self) -> bool:
        return self.confirm != Confirm.NONE

    @property
    def entra_roles_named(self) -> str:
        return " or ".join(role_name(r) for r in self.entra_least)


_PASSWORD_ROLES = (
    HELPDESK_ADMIN,
    PASSWORD_ADMIN,
    USER_ADMIN,
    PRIVILEGED_AUTH_ADMIN,
    GLOBAL_ADMIN,
)
_USER_ROLES = (USER_ADMIN, GLOBAL_ADMIN)
_GROUP_ROLES = (GROUPS_ADMIN, USER_ADMIN, GLOBAL_ADMIN)
_INTUNE_ROLES = (INTUNE_ADMIN, GLOBAL_ADMIN)
_ENTRA_DEVICE_ROLES = (CLOUD_DEVICE_ADMIN, INTUNE_ADMIN, GLOBAL_ADMIN)

_USER_UPDATE = "https://learn.microsoft.com/en-us/graph/api/user-update"
# The app's delegated permissions per call (regions/permissions.py ACTION_SCOPES).
_PASSWORD_SCOPE = "Directory.AccessAsUser.All"  # noqa: S105 - a permission name
_ENABLE_SCOPE = "User.EnableDisableAccount.All"
_REVOKE_SCOPE = "User.RevokeSessions.All"
_MEMBER_SCOPE = "GroupMember.ReadWrite.All"
_INTUNE_SCOPE = "DeviceManagementManagedDevices.PrivilegedOperations.All"
_DEVICE_SCOPE = "Directory.AccessAsUser.All"
_INTUNE = "https://learn.microsoft.com/en-us/graph/api/intune-devices-manageddevice-{}"

# Portal roles (DESIGN.md "Roles"): agents do helpdesk work (passwords, sessions, a sync, a
# restart, group membership); whatever locks a person or a device out is for managers.
ACTIONS: tuple[Action, ...] = (
    Action(
        "reset-password",
        Target.USER,
        "Reset password",
        "Sets a new generated password, shown to you once, that the user must change at their "
        "next sign-in.",
        Role.AGENT,
        _PASSWORD_ROLES,
        # A user who holds an admin role needs Privileged Authentication Administrator.
        (HELPDESK_ADMIN, PASSWORD_ADMIN),
        Confirm.CLICK,
        GraphCall(
            "PATCH",
            "/users/{id}",
            "passwordProfile with the new password and forceChangePasswordNextSignIn",
            _USER_UPDATE,
        ),
        _PASSWORD_SCOPE,
    ),
    Action(
        "block-sign-in",
        Target.USER,
        "Block sign-in",
        "Stops the user signing in to Microsoft 365 until someone unblocks them; sessions "
        "already open run until their tokens expire unless you also revoke them.",
        Role.MANAGER,
        _USER_ROLES,
        (USER_ADMIN,),
        Confirm.CLICK,
        GraphCall("PATCH", "/users/{id}", "accountEnabled: false", _USER_UPDATE),
        _ENABLE_SCOPE,
    ),
    Action(
        "unblock-sign-in",
        Target.USER,
        "Unblock sign-in",
        "Lets the user sign in again with their current password.",
        Role.MANAGER,
        _USER_ROLES,
        (USER_ADMIN,),
        Confirm.NONE,
        GraphCall("PATCH", "/users/{id}", "accountEnabled: true", _USER_UPDATE),
        _ENABLE_SCOPE,
    ),
    Action(
        "revoke-sessions",
        Target.USER,
        "Revoke sessions",
        "Signs the user out of every app and device: they must sign in again everywhere.",
        Role.AGENT,
        _USER_ROLES,
        (USER_ADMIN,),
        Confirm.CLICK,
        GraphCall(
            "POST",
            "/users/{id}/revokeSignInSessions",
            "nothing",
            "https://learn.microsoft.com/en-us/graph/api/user-revokesigninsessions",
        ),
        _REVOKE_SCOPE,
    ),
    Action(
        "add-to-group",
        Target.USER,
        "Add to a group",
        "Makes the user a member of the group you choose, with whatever access it grants.",
        Role.AGENT,
        _GROUP_ROLES,
        (GROUPS_ADMIN, USER_ADMIN),
        Confirm.NONE,
        GraphCall(
            "POST",
            "/groups/{group_id}/members/$ref",
            "@odata.id of the user",
            "https://learn.microsoft.com/en-us/graph/api/group-post-members",
        ),
        _MEMBER_SCOPE,
    ),
    Action(
        "remove-from-group",
        Target.USER,
        "Remove from a group",
        "Ends the user's membership of the group you choose, and the access it granted.",
        Role.AGENT,
        _GROUP_ROLES,
        (GROUPS_ADMIN, USER_ADMIN),
        Confirm.CLICK,
        GraphCall(
            "DELETE",
            "/groups/{group_id}/members/{id}/$ref",
            "nothing",
            "https://learn.microsoft.com/en-us/graph/api/group-delete-members",
        ),
        _MEMBER_SCOPE,
    ),
    Action(
        "sync",
        Target.DEVICE,
        "Sync",
        "Asks the device to check in with Intune now and pick up policies and apps.",
        Role.AGENT,
        _INTUNE_ROLES,
        (INTUNE_ADMIN,),
        Confirm.NONE,
        GraphCall(
            "POST",
            "/deviceManagement/managedDevices/{id}/syncDevice",
            "nothing",
            _INTUNE.format("syncdevice"),
        ),
        _INTUNE_SCOPE,
    ),
    Action(
        "restart",
        Target.DEVICE,
        "Restart",
        "Restarts the device at its next check-in; unsaved work on it is lost.",
        Role.AGENT,
        _INTUNE_ROLES,
        (INTUNE_ADMIN,),
        Confirm.CLICK,
        GraphCall(
            "POST",
            "/deviceManagement/managedDevices/{id}/rebootNow",
            "nothing",
            _INTUNE.format("rebootnow"),
        ),
        _INTUNE_SCOPE,
    ),
    Action(
        "retire",
        Target.DEVICE,
        "Retire",
        "Removes company data, apps and policies from the device and takes it out of Intune; "
        "the user's personal data stays.",
        Role.MANAGER,
        _INTUNE_ROLES,
        (INTUNE_ADMIN,),
        Confirm.CLICK,
        GraphCall(
            "POST",
            "/deviceManagement/managedDevices/{id}/retire",
            "nothing",
            _INTUNE.format("retire"),
        ),
        _INTUNE_SCOPE,
    ),
    Action(
        "wipe",
        Target.DEVICE,
        "Wipe",
        "Resets the device to factory settings, erasing everything on it; you confirm by "
        "typing the device's name.",
        Role.MANAGER,
        _INTUNE_ROLES,
        (INTUNE_ADMIN,),
        Confirm.TYPED_NAME,
        GraphCall(
            "POST",
            "/deviceManagement/managedDevices/{id}/wipe",
            "keepEnrollmentData and keepUserData: false",
            _INTUNE.format("wipe"),
        ),
        _INTUNE_SCOPE,
    ),
    Action(
        "disable-entra-device",
        Target.DEVICE,
        "Disable the Entra device",
        "Disables the device's Entra ID object, so nobody can sign in on it with a work "
        "account until it is enabled again.",
        Role.MANAGER,
        _ENTRA_DEVICE_ROLES,
        (INTUNE_ADMIN, CLOUD_DEVICE_ADMIN),
        Confirm.CLICK,
        GraphCall(
            "PATCH",
            "/devices/{entra_device_id}",
            "accountEnabled: false",
            "https://learn.microsoft.com/en-us/graph/api/device-update",
        ),
        _DEVICE_SCOPE,
    ),
    Action(
        "enable-entra-device",
        Target.DEVICE,
        "Enable the Entra device",
        "Enables the device's Entra ID object again, so work accounts can sign in on it.",
        Role.MANAGER,
        _ENTRA_DEVICE_ROLES,
        (INTUNE_ADMIN, CLOUD_DEVICE_ADMIN),
        Confirm.NONE,
        GraphCall(
            "PATCH",
            "/devices/{entra_device_id}",
            "accountEnabled: true",
            "https://learn.microsoft.com/en-us/graph/api/device-update",
        ),
        _DEVICE_SCOPE,
    ),
)
ACTIONS_BY_NAME: dict[tuple[Target, str], Action] = {(a.target, a.name): a for a in ACTIONS}


@dataclass(frozen=True)
class ActionVerdict:
    """Whether this agent may run `action` in this customer, and if not, why (sentences)."""

    action: Action
    reasons: tuple[str, ...]

    @property
    def allowed(self) -> bool:
        return not self.reasons


def action_verdicts(
    *,
    target: Target,
    user: User,
    access: CustomerAccess | None,
    consented_scopes: list[str] | None = None,
) -> tuple[ActionVerdict, ...]:
    """Every action on `target` against the agent's portal role, where the stored GDAP
    relationships tell (`access.known`), the Entra roles their groups hold in the customer,
    and where the portal consented the app there (`consented_scopes`), the app's permission;
    where they cannot tell, Microsoft decides when the action runs."""
    verdicts = []
    for action in ACTIONS:
        if action.target != target:
            continue
        reasons = []
        if not user.has_role(action.portal_role):
            reasons.append(f"It needs the {action.portal_role.label} role in the portal.")
        if access is not None and access.known and not access.role_ids & set(action.entra_any_of):
            reasons.append(
                f"It needs {action.entra_roles_named} in this customer, and none of your "
                "partner security groups holds it here."
            )
        if consented_scopes and action.scope not in consented_scopes:
            reasons.append(
                f"The portal's app is consented here without {action.scope}, which this "
                "needs: an admin of your region consents it again on “My access”."
            )
        verdicts.append(ActionVerdict(action, tuple(reasons)))
    return tuple(verdicts)


def actions_for(
    *, target: Target, user: User, session: SessionBase, customer: Customer
) -> tuple[ActionVerdict, ...]:
    """`action_verdicts` for the agent signed in to `session` in `customer`."""
    try:
        access = access_read(session=session, customer=customer)
    except MicrosoftError as exc:
        # The agent's groups cannot be read: only the portal role is checked in advance.
        log.info("groups of the agent unknown, actions not checked in advance: %s", exc.kind)
        access = None
    return action_verdicts(
        target=target, user=user, access=access, consented_scopes=customer.consent_scopes
    )
