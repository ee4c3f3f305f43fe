"""The compliance tables, declared once for sorting and the column chooser: the noncompliant
devices of /compliance/noncompliant/ and the dashboard's customers that need attention.

Both sort in the database (the sweeps' stored data), with a tiebreak so paging is stable.
Importing this module registers them (portal.tables.table_register), so the one column
chooser view knows them; compliance.apps imports it when Django starts.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.http import HttpRequest

from accounts.preferences import columns_of
from portal.tables import Column, Table, TableView, table_register, table_view

NONCOMPLIANT = table_register(
    Table(
        name="compliance-noncompliant",
        columns=(
            Column("customer", "Customer", order_by=("customer__name",)),
            Column("device", "Device", order_by=("device_name",), required=True),
            Column("user", "User", order_by=("user_principal_name",)),
            Column("os", "OS", order_by=("operating_system",)),
            Column("policies", "Policy failing"),
            Column("sync", "Last sync", order_by=("last_sync_at",)),
            Column("since", "Noncompliant since", order_by=("since",)),
            Column("region", "Region", order_by=("customer__region__slug",), default=False),
        ),
        default_sort="since",
        tiebreak=("since", "customer__name", "device_name", "pk"),
        unsortable="A device can fail several policies, so “Policy failing” does not sort: "
        "filter by a policy instead.",
    )
)

PROBLEMS = table_register(
    Table(
        name="compliance-problems",
        columns=(
            Column("customer", "Customer", order_by=("name",), required=True),
            Column("region", "Region", order_by=("region__slug",)),
            Column("as_of", "Data as of", order_by=("compliance__good_taken_at",)),
            Column("last", "Last sweep", order_by=("compliance__last_taken_at",), default=False),
            Column("why", "Why"),
        ),
        default_sort="customer",
        tiebreak=("name", "pk"),
        unsortable="“Why” is a sentence, so it does not sort.",
    )
)


def table_for(request: HttpRequest, table: Table, filters: Mapping[str, str]) -> TableView:
    """The table as this user sees it: the sort in the URL, the columns they chose."""
    return table_view(table, request.GET, columns_of(request.user, table.name), filters)
