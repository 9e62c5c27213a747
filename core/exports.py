"""CSV export shared by every list: streamed, so a long drill-down never sits in memory whole,
safe to open in a spreadsheet whatever upstream systems put in the text, and with its times in
the zone of the person exporting."""

import csv
import re
from datetime import datetime

from django.http import StreamingHttpResponse
from django.utils import timezone

#: A cell starting with one of these is read as a formula by Excel, LibreOffice and Google Sheets
#: (OWASP, "CSV Injection"): a customer named ``=HYPERLINK(...)`` would become a live link.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: A plain number ("-12.50", "+3") is data, not a formula, and keeps its sign.
_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def safe_cell(value):
    """``value`` as a spreadsheet shows it without running it: text that a spreadsheet would take
    for a formula gets a leading apostrophe, which spreadsheets read as "this is text"."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


class _Echo:
    """A file-like object whose write returns the line, for csv.writer into a stream."""

    def write(self, value):
        return value


def zoned(label: str) -> str:
    """A time column's header naming the zone its times are in: "received (Europe/Berlin)"."""
    return f"{label} ({timezone.get_current_timezone_name()})"


def csv_response(filename: str, header: list[str], rows) -> StreamingHttpResponse:
    """``rows`` streamed as CSV. An aware datetime cell is written in the zone of the person
    exporting, with its offset ("2026-01-15 10:30:00-05:00"); name it in the header with
    ``zoned``."""
    writer = csv.writer(_Echo())
    # Taken now: the rows are written while the response streams, after the request (and the
    # zone it activated) is over.
    zone = timezone.get_current_timezone()

    def cell(value):
        if isinstance(value, datetime) and timezone.is_aware(value):
            return value.astimezone(zone).isoformat(sep=" ", timespec="seconds")
        return safe_cell(value)

    def lines():
        yield writer.writerow([safe_cell(cell) for cell in header])
        for row in rows:
            yield writer.writerow([cell(value) for value in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
