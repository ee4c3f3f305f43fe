"""The customer tables: the customers list (database) and a customer's users, groups, Entra
devices and Intune devices (Microsoft Graph), declared once for sorting, the column chooser
and the CSV export.

Graph sorts directory objects by a few properties only; these tables offer exactly those.
# Reference: https://learn.microsoft.com/graph/aad-advanced-queries (ConsistencyLevel,
#   $count=true: $orderby with $search, and $orderby on more than the default properties)
# Reference: https://learn.microsoft.com/graph/api/user-list ($orderby=displayName with
#   $search, Example "Use $search to get users with display names that contain ...")
# Reference: https://learn.microsoft.com/graph/api/group-list
# Reference: https://learn.microsoft.com/graph/api/device-list ($search="displayName:...")
"""

from collections.abc import Mapping

from django.http import HttpRequest

from accounts.preferences import columns_of
from portal.tables import Column, Table, TableView, table_register, table_view

CUSTOMERS = table_register(
    Table(
        name="customers",
        columns=(
            Column("name", "Name", order_by=("name",), required=True),
            Column("domain", "Default domain", order_by=("default_domain",)),
            Column("tenant", "Tenant id", order_by=("tenant_id",)),
            Column("relationship", "Relationship", order_by=("relationship_status",)),
            Column("ends", "Relationship ends", order_by=("relationship_end_at",), default=False),
            Column("consent", "App consent", order_by=("consent_state",)),
            Column("synced", "Last synced", order_by=("synced_at",), default=False),
            Column("region", "Region"),
        ),
        default_sort="name",
        tiebreak=("name", "tenant_id"),
        unsortable="Region is the same for every customer of the list, so it does not sort.",
    )
)

USERS = table_register(
    Table(
        name="users",
        columns=(
            Column("name", "Name", orderby="displayName", required=True),
            Column("upn", "User principal name", orderby="userPrincipalName", required=True),
            Column("mail", "Mail", default=False),
            Column("job", "Job title"),
            Column("department", "Department"),
            Column("signin", "Sign-in"),
        ),
        default_sort="name",
        unsortable="Microsoft Graph sorts users by name and user principal name only, so the "
        "other columns cannot be sorted.",
    )
)

GROUPS = table_register(
    Table(
        name="groups",
        columns=(
            Column("name", "Name", orderby="displayName", required=True),
            Column("type", "Type"),
            Column("mail", "Mail"),
            Column("description", "Description"),
        ),
        default_sort="name",
        unsortable="Microsoft Graph sorts groups by name only, so the other columns cannot be "
        "sorted.",
    )
)

DEVICES = table_register(
    Table(
        name="devices",
        columns=(
            Column("name", "Name", orderby="displayName", required=True),
            Column("os", "OS"),
            Column("version", "Version"),
            Column("join", "Join type"),
            Column("managed", "Managed"),
            Column("compliant", "Compliant"),
            Column("signin", "Last sign-in"),
        ),
        default_sort="name",
        unsortable="Microsoft Graph sorts devices by name only, so the other columns cannot be "
        "sorted.",
    )
)

MANAGED_DEVICES = table_register(
    Table(
        name="managed-devices",
        columns=(
            Column("device", "Device", required=True),
            Column("user", "User"),
            Column("os", "OS"),
            Column("compliance", "Compliance"),
            Column("owner", "Ownership"),
            Column("model", "Model"),
            Column("encrypted", "Encrypted", default=False),
            Column("sync", "Last sync"),
        ),
        unsortable="Intune lists managed devices in its own order: Microsoft documents no "
        "$orderby for them, so this table does not sort. Filter by compliance or system instead.",
    )
)


def table_for(
    request: HttpRequest, table: Table, filters: Mapping[str, str], *, selectable: bool = False
) -> TableView:
    """The table as this user sees it: the sort in the URL, the columns they chose."""
    view = table_view(table, request.GET, columns_of(request.user, table.name), filters)
    view.selectable = selectable
    return view
