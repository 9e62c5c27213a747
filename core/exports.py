"""CSV export shared by every list: streamed, so a long drill-down never sits in memory whole, and
safe to open in a spreadsheet, whatever upstream systems put in the text."""

import csv
import re

from django.http import StreamingHttpResponse

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


def csv_response(filename: str, header: list[str], rows) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow([safe_cell(cell) for cell in header])
        for row in rows:
            yield writer.writerow([safe_cell(cell) for cell in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
