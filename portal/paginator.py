"""A Paginator for deep pages of big tables: page 1,000 of 50,000 customers in one index walk.

OFFSET makes the database build and throw away every row before the page; with the full rows
(and their select_related joins) that is most of a deep page's time. This one reads the page's
primary keys first (narrow rows, the same filter and order), then only those rows, in that
order. Same pages, same count, same position ("x to y of N") as Django's Paginator.
"""

from __future__ import annotations

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet


class DeferredJoinPaginator(Paginator):
    """Django's Paginator over a QuerySet whose page rows are fetched by primary key."""

    def page(self, number: int | str) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        queryset: QuerySet = self.object_list
        keys = list(queryset.values_list("pk", flat=True)[bottom:top])
        rows = {row.pk: row for row in queryset.filter(pk__in=keys)}
        return self._get_page([rows[k] for k in keys if k in rows], number, self)
