"""Trigram indexes for the customers list's search (name or domain contains `q`, any case).

Django's icontains is UPPER(col) LIKE UPPER('%q%') on PostgreSQL, which no b-tree serves: over
50,000 customers the search and its count were two sequential scans. A GIN trigram index on
UPPER(col) serves both. PostgreSQL only: SQLite (the demo default) keeps scanning, which is
fine at its scale.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

INDEXES = {
    "customer_name_trgm": "name",
    "customer_domain_trgm": "default_domain",
}


def _create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, column in INDEXES.items():
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "customers_customer" '
            f'USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
        )


def _drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [("customers", "0009_list_name_index")]

    operations = [TrigramExtension(), migrations.RunPython(_create, _drop)]
