"""CSV for spreadsheets: streamed row by row, UTF-8 with a byte order mark (Excel opens
accented names right only with it), formula injection defused, one header row.

Times go in as ISO 8601 in UTC without microseconds and percentages as the tables show them
(portal/labels.py iso and percent).
# Reference: https://owasp.org/www-community/attacks/CSV_Injection
# Reference: https://learn.microsoft.com/office/troubleshoot/excel/use-csv-utf8 (a BOM)
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse
from django.utils import timezone

BOM = "\ufeff"
# A cell starting with one of these is run as a formula by Excel, LibreOffice and Sheets.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """The value, with text that a spreadsheet would evaluate prefixed by a quote."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(*, header: Iterable[str], rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """Encoded CSV lines, the byte order mark and the header first; nothing is held in
    memory but one row."""
    writer = csv.writer(_Echo())
    yield BOM + writer.writerow([csv_cell(h) for h in header])
    for row in rows:
        yield writer.writerow([csv_cell(v) for v in row])


def csv_response(lines: Iterable[str], *, name: str) -> StreamingHttpResponse:
    """A download of `lines` as `<name>-<UTC stamp>.csv`."""
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    return response
