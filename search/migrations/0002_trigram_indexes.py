"""On PostgreSQL, trigram indexes make `text LIKE '%…%'` an index scan: any substring of a
name, sign-in name, mail, device name or serial number, across every customer, in
milliseconds. Other databases (SQLite, the demo's) scan; the demo's regions are small.

pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it."""

from django.db import migrations

_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS indexeduser_text_trgm ON search_indexeduser "
    "USING gin (text gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS indexeddevice_text_trgm ON search_indexeddevice "
    "USING gin (text gin_trgm_ops)",
]
_BACKWARD = [
    "DROP INDEX IF EXISTS indexeduser_text_trgm",
    "DROP INDEX IF EXISTS indexeddevice_text_trgm",
]


def _run(statements: list[str]):
    def run(apps, schema_editor) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        for sql in statements:
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("search", "0001_index")]
    operations = [migrations.RunPython(_run(_FORWARD), _run(_BACKWARD))]
