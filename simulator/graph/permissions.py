"""Microsoft Graph's own permissions: the application permissions (`appRoles`) and delegated
permissions (`oauth2PermissionScopes`) its service principal publishes in every tenant.

Partner Center's application consent accepts only delegated permissions Graph knows; an app
role assignment (appRoleAssignedTo) only one of Graph's appRoles, by id. The ids are
Microsoft's: each checked against the permissions reference and two independent listings.
A subset of Graph's several hundred permissions: the directory, Intune and app-management
ones a CSP portal asks for. A name missing here is refused like an unknown one, so extend the
table rather than loosen the checks.

# Reference: https://learn.microsoft.com/graph/permissions-reference
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from simulator.tokens import GRAPH_APP_ID


@dataclass(frozen=True)
class Permission:
    value: str
    app_role_id: str | None  # application permission (appRoles[].id); None: delegated only
    scope_id: str | None  # delegated permission (oauth2PermissionScopes[].id)
    display_name: str


_TABLE: tuple[Permission, ...] = (
    Permission(
        "User.Read", None, "e1fe6dd8-ba31-4d61-89e7-88639da4683d", "Sign in and read user profile"
    ),
    Permission(
        "User.Read.All",
        "df021288-bdef-4463-88db-98f22de89214",
        "a154be20-db9c-4678-8ab7-66f6cc099a59",
        "Read all users' full profiles",
    ),
    Permission(
        "User.ReadBasic.All",
        "97235f07-e226-4f63-ace3-39588e11d3a1",
        "b340eb25-3456-403f-be2f-af7a0d370277",
        "Read all users' basic profiles",
    ),
    Permission(
        "User.ReadWrite.All",
        "741f803b-c850-494e-b5df-cde7c675a1ca",
        "204e0828-b5ca-4ad8-b9f3-f32a958e7cc4",
        "Read and write all users' full profiles",
    ),
    # Agent actions (issue 14). Ids as Graph's service principal publishes them, each found in
    # two or more independent listings. User-PasswordProfile.ReadWrite.All is left out until
    # its delegated id is confirmed the same way (a delegated reset can use
    # Directory.AccessAsUser.All); Device.ReadWrite.All is an application permission only.
    Permission(
        "User.EnableDisableAccount.All",
        "3011c876-62b7-4ada-afa2-506cbbecc68c",
        "f92e74e7-2563-467f-9dd0-902688cb5863",
        "Enable and disable user accounts",
    ),
    Permission(
        "User.RevokeSessions.All",
        "77f3a031-c388-4f99-b373-dc68676a979e",
        "fc30e98b-8810-4501-81f5-c20a3196387b",
        "Revoke all sign in sessions for a user",
    ),
    Permission(
        "Device.ReadWrite.All",
        "1138cb37-bd11-4084-a2b7-9f71582aeddb",
        None,
        "Read and write devices",
    ),
    Permission(
        "Group.Read.All",
        "5b567255-7703-4780-807c-7be8301ae99b",
        "5f8c59db-677d-491f-a6b8-5f174b11ec1d",
        "Read all groups",
    ),
    Permission(
        "Group.ReadWrite.All",
        "62a82d76-70ea-41e2-9197-370581804d09",
        "4e46008b-f24c-477d-8fff-7bb4ec7aafe0",
        "Read and write all groups",
    ),
    Permission(
        "GroupMember.Read.All",
        "98830695-27a2-44f7-8c18-0c3ebc9698f6",
        "bc024368-1153-4739-b217-4326f2e966d0",
        "Read all group memberships",
    ),
    Permission(
        "GroupMember.ReadWrite.All",
        "dbaae8cf-10b5-4b86-a4a1-f871c94c6695",
        "f81125ac-d3b7-4573-a3b2-7099cc39df9e",
        "Read and write all group memberships",
    ),
    Permission(
        "Device.Read.All",
        "7438b122-aefc-4978-80ed-43db9fcc7715",
        "951183d1-1a61-466f-a6d1-1fde911bfd95",
        "Read all devices",
    ),
    Permission(
        "Directory.Read.All",
        "7ab1d382-f21e-4acd-a863-ba3e13f7da61",
        "06da0dbc-49e2-44d2-8312-53f166ab848a",
        "Read directory data",
    ),
    Permission(
        "Directory.ReadWrite.All",
        "19dbc75e-c2e2-444c-a770-ec69d8559fc7",
        "c5366453-9fb0-48a5-a156-24f0c49a4b84",
        "Read and write directory data",
    ),
    Permission(
        "Directory.AccessAsUser.All",
        None,
        "0e263e50-5827-48a4-b97c-d940288653c7",
        "Access directory as the signed in user",
    ),
    Permission(
        "Organization.Read.All",
        "498476ce-e0fe-48b0-b801-37ba7e2685c6",
        "4908d5b9-3fb2-4b1e-9336-1888b7937185",
        "Read organization information",
    ),
    Permission(
        "Domain.Read.All",
        "dbb9058a-0e50-45d7-ae91-66909b5d4664",
        "2f9ee017-59c1-4f1d-9472-bd5529a7b311",
        "Read domains",
    ),
    Permission(
        "DeviceManagementManagedDevices.Read.All",
        "2f51be20-0bb4-4fed-bf7b-db946066c75e",
        "314874da-47d6-4978-88dc-cf0d37f0bb82",
        "Read Microsoft Intune devices",
    ),
    Permission(
        "DeviceManagementManagedDevices.ReadWrite.All",
        "243333ab-4d21-40cb-a475-36241daa0842",
        "44642bfe-8385-4adc-8fc6-fe3cb2c375c3",
        "Read and write Microsoft Intune devices",
    ),
    Permission(
        "DeviceManagementManagedDevices.PrivilegedOperations.All",
        "5b07b0dd-2377-4e44-a38d-703f09a0dc3c",
        "3404d2bf-2b13-457e-a330-c24615765193",
        "Perform user-impacting remote actions on Microsoft Intune devices",
    ),
    Permission(
        "DeviceManagementConfiguration.Read.All",
        "dc377aa6-52d8-4e23-b271-2a7ae04cedf3",
        "f1493658-876a-4c87-8fa7-edb559b3476a",
        "Read Microsoft Intune device configuration and policies",
    ),
    Permission(
        "DeviceManagementConfiguration.ReadWrite.All",
        "9241abd9-d0e6-425a-bd4f-47ba86e767a4",
        "0883f392-0a7a-443d-8c76-16a6d39c7b63",
        "Read and write Microsoft Intune device configuration and policies",
    ),
    Permission(
        "Application.Read.All",
        "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
        "c79f8feb-a9db-4090-85f9-90d820caa0eb",
        "Read all applications",
    ),
    Permission(
        "Application.ReadWrite.All",
        "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
        "bdfbf15f-ee85-4955-8675-146e8e5296b5",
        "Read and write all applications",
    ),
    Permission(
        "AppRoleAssignment.ReadWrite.All",
        "06b708a9-e830-4db3-a914-8e69da51d44f",
        "84bccea3-f856-4a8a-967b-dbe0a3d53a64",
        "Manage app permission grants and app role assignments",
    ),
    Permission(
        "DelegatedPermissionGrant.ReadWrite.All",
        "8e8e4742-1d95-4f68-9d56-6ee75648c72a",
        "41ce6ca6-6826-4807-84f1-1c82854f7ee5",
        "Manage all delegated permission grants",
    ),
    Permission(
        "UserAuthenticationMethod.ReadWrite.All",
        "50483e42-d915-4231-9639-7fdb7fd190e5",
        "b7887744-6746-4312-813d-72daeaee7e2d",
        "Read and write all users' authentication methods",
    ),
    Permission(
        "AuditLog.Read.All",
        "b0afded3-3588-46d8-8b3d-9842eff778da",
        "e4c9e354-4dc5-45b8-9e7c-e1393b0b1a20",
        "Read all audit log data",
    ),
    Permission(
        "Policy.Read.All",
        "246dd0d5-5bd0-4def-940b-0421030a5b68",
        "572fea84-0151-49b2-9301-11cb16974376",
        "Read your organization's policies",
    ),
    Permission(
        "RoleManagement.Read.Directory",
        "483bed4a-2ad3-4361-a73b-c83ccdbdc53c",
        "741c54c3-0c1e-44a1-818b-3f97ab4e8c83",
        "Read all directory RBAC settings",
    ),
    Permission(
        "DelegatedAdminRelationship.Read.All",
        "f6e9e124-4586-492f-adc0-c6f96e4823fd",
        "0c0064ea-477b-4130-82a5-4c2cc4ff68aa",
        "Read Delegated Admin relationships with customers",
    ),
    Permission(
        "DelegatedAdminRelationship.ReadWrite.All",
        "cc13eba4-8cd8-44c6-b4d4-f93237adce58",
        "885f682f-a990-4bad-a642-36736a74b0c7",
        "Manage Delegated Admin relationships with customers",
    ),
)

_BY_NAME: dict[str, Permission] = {p.value.lower(): p for p in _TABLE}
_BY_ROLE_ID: dict[str, Permission] = {p.app_role_id: p for p in _TABLE if p.app_role_id}

# Microsoft Graph's application id, the resource of every grant and app role here.
RESOURCE_APP_ID = GRAPH_APP_ID


def delegated_scope(name: str) -> str | None:
    """Graph's spelling of a delegated permission (names are case-insensitive), or None."""
    found = _BY_NAME.get(name.strip().lower())
    return found.value if found and found.scope_id else None


def app_role_id(name: str) -> str:
    """The appRoles id of an application permission; KeyError when Graph has none by that name."""
    found = _BY_NAME[name.lower()]
    if found.app_role_id is None:
        raise KeyError(name)
    return found.app_role_id


def app_role_name(role_id: str) -> str | None:
    found = _BY_ROLE_ID.get(role_id.strip().lower())
    return found.value if found else None


def app_roles() -> list[dict[str, Any]]:
    """`appRoles` of Microsoft Graph's service principal, shaped as Graph shows them (the
    descriptions are paraphrased; ids, values and display names are Microsoft's)."""
    return [
        {
            "allowedMemberTypes": ["Application"],
            "description": f"Allows the app to {p.display_name[0].lower()}{p.display_name[1:]}, "
            "without a signed-in user.",
            "displayName": p.display_name,
            "id": p.app_role_id,
            "isEnabled": True,
            "origin": "Application",
            "value": p.value,
        }
        for p in _TABLE
        if p.app_role_id
    ]


def oauth2_permission_scopes() -> list[dict[str, Any]]:
    """`oauth2PermissionScopes` of Microsoft Graph's service principal."""
    return [
        {
            "adminConsentDisplayName": p.display_name,
            "id": p.scope_id,
            "isEnabled": True,
            "type": "User" if p.value == "User.Read" else "Admin",
            "value": p.value,
        }
        for p in _TABLE
        if p.scope_id
    ]
