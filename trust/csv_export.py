"""CSV exports of the lists: one function writes every one of them.

Each list page offers "Export CSV" as the same address with ``format=csv`` added, so the
export carries the filters the page shows and answers to exactly the same people. The
file is streamed row by row (the view hands over an iterator over the database cursor), so
an export of every visit costs the server no more memory than a page of them.

Every list export is recorded in the audit log here, with who asked and the filters.
"""

from __future__ import annotations

import csv
import datetime
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.contrib import messages
from django.http import HttpResponseRedirect, StreamingHttpResponse
from django.utils import timezone

from .audit import record
from .models import AuditEvent

# Text a spreadsheet would run as a formula (or use to hide one) begins with these.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"
EXPORT_PARAM, EXPORT_VALUE = "format", "csv"


def wants_csv(request) -> bool:
    """The list was asked for as a CSV file (``?...&format=csv``)."""
    return request.GET.get(EXPORT_PARAM) == EXPORT_VALUE


def export_filtered(request, filterset, filename: str, header, rows_for):
    """The CSV of every row ``filterset`` selects when the list was asked for as a CSV file;
    None to show the page instead. Filters that do not make sense export nothing: the user
    is sent back to the list (without ``format=csv``), which marks the filters to correct,
    rather than given a file with more rows than were asked for."""
    if not wants_csv(request):
        return None
    if filterset.is_valid():
        query = request.GET.copy()
        query.pop(EXPORT_PARAM)
        # Who exported which list with which filters, in the audit log (trust.AuditEvent).
        record(request, AuditEvent.Action.EXPORT, detail=f"{filename}?{query.urlencode()}")
        return csv_response(request, filename, header, rows_for(filterset.qs))
    messages.error(request, "Nothing was exported: correct the filters marked below first.")
    query = request.GET.copy()
    query.pop(EXPORT_PARAM)
    return HttpResponseRedirect(f"{request.path}?{query.urlencode()}")


def neutralise(text: str) -> str:
    """Text a spreadsheet would read as a formula, made plain text with a leading '."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def cell(value) -> str:
    """One value as CSV text: numbers and dates as themselves, everything else neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return neutralise(str(value))


class _Echo:
    """A file-like object whose write hands the line back, for a streaming csv.writer."""

    def write(self, value: str) -> str:
        return value


def csv_response(
    request, filename: str, header: Sequence[str], rows: Iterable[Sequence]
) -> StreamingHttpResponse:
    """Stream ``rows`` under ``header`` as a UTF-8 CSV file (with a byte-order mark, so
    Excel reads the accents right) named ``filename-YYYY-MM-DD.csv``.

    ``rows`` is consumed lazily while the response is sent; give it an iterator whose
    database queries are already fixed in number (``QuerySet.iterator()`` plus lookups
    loaded beforehand)."""
    writer = csv.writer(_Echo())

    def lines():
        yield BOM + writer.writerow([cell(h) for h in header])
        for row in rows:
            yield writer.writerow([cell(value) for value in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    name = f"{filename}-{timezone.localdate().isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    return response
