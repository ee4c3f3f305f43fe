"""The Microsoft Graph permissions the portal holds in customer tenants: one list, here.

Reads (directory pages, Intune, compliance sweeps) are what the app needs everywhere, as
delegated scopes for agents and as application permissions (app roles) for background work.
Consenting a GDAP customer (customers/consent.py) asks Partner Center for the reads plus what
the acting admin's token needs to give the app its app roles afterwards.

# Reference: https://learn.microsoft.com/en-us/graph/permissions-reference
# Reference: https://learn.microsoft.com/en-us/graph/api/serviceprincipal-post-approleassignedto
"""

from __future__ import annotations

# Microsoft Graph's application id: the same in every national cloud.
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"

CUSTOMER_READ_PERMISSIONS: tuple[str, ...] = (
    "User.Read.All",
    "Group.Read.All",
    "Device.Read.All",
    "Directory.Read.All",
    "DeviceManagementManagedDevices.Read.All",
    "DeviceManagementConfiguration.Read.All",
)

# Delegated scopes of agent actions (customers/actions.py), each the least privileged one the
# call's learn.microsoft.com page lists: block/unblock sign-in, revoke sessions, group
# membership, password reset and Entra device enable/disable (Directory.AccessAsUser.All:
# the delegated permission those two pages name), and Intune's remote actions.
# Reference: https://learn.microsoft.com/en-us/graph/api/user-update
# Reference: https://learn.microsoft.com/en-us/graph/api/user-revokesigninsessions
# Reference: https://learn.microsoft.com/en-us/graph/api/group-post-members
# Reference: https://learn.microsoft.com/en-us/graph/api/device-update
# Reference: https://learn.microsoft.com/en-us/graph/api/intune-devices-manageddevice-wipe
ACTION_SCOPES: tuple[str, ...] = (
    "User.EnableDisableAccount.All",
    "User.RevokeSessions.All",
    "GroupMember.ReadWrite.All",
    "Directory.AccessAsUser.All",
    "DeviceManagementManagedDevices.PrivilegedOperations.All",
)

# Delegated scopes of Partner Center's application consent. Assigning an app role needs
# AppRoleAssignment.ReadWrite.All and Application.Read.All (Microsoft's least privileged
# pair for POST /servicePrincipals/{id}/appRoleAssignedTo).
CONSENT_SCOPES: tuple[str, ...] = (
    *CUSTOMER_READ_PERMISSIONS,
    "Application.Read.All",
    "AppRoleAssignment.ReadWrite.All",
    *ACTION_SCOPES,
)

# Application permissions assigned to the app's service principal in each customer, so that
# client credentials (sweeps, first calls) work there: the same reads.
CUSTOMER_APP_ROLES: tuple[str, ...] = CUSTOMER_READ_PERMISSIONS
