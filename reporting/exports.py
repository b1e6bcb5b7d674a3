"""Funding-stream return as CSV and Excel.

One row per commission and the stream it draws on (a commission funded from two streams has
two rows), then a totals row, then a summary per stream: budget, allocated, unallocated,
spent. Hub staff see their hub's streams, funder viewers the streams their funder gives
(``FundingStream.objects.visible_to``); ``?stream=<pk>`` narrows the return to one of them.

``funding_return(user, stream)`` builds the figures with a fixed number of queries; the two
views only lay them out. Text that a spreadsheet would read as a formula (it begins with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return) is written with a leading ``'``.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import DecimalField, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_GET
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from brokerage.models import MONEY, FundingAllocation, FundingStream, ReportingDeadline
from deployments.models import Visit
from trust.audit import record
from trust.csv_export import csv_response, neutralise
from trust.models import HUB_ROLES, AuditEvent, Role
from trust.web import require_role

from .models import ImpactReport, Judgement, SpendLine, ValueForMoney

TWO = Decimal("0.01")
ONE = Decimal("0.1")
ZERO = Decimal("0")

# Column kinds decide how a value is written: text is neutralised, money and days are numbers.
TEXT, DATE, MONEY_KIND, DAYS, COUNT = "text", "date", "money", "days", "count"

RETURN_COLUMNS = [
    ("Funding stream", "stream", TEXT),
    ("Academic year", "academic_year", TEXT),
    ("Funder", "funder", TEXT),
    ("School", "school", TEXT),
    ("URN", "urn", TEXT),
    ("Lead organisation", "lead_organisation", TEXT),
    ("Commission start", "start", DATE),
    ("Commission end", "end", DATE),
    ("Carry-forward", "carry_forward", TEXT),
    ("Allocated (£)", "allocated", MONEY_KIND),
    ("Spent (£)", "spent", MONEY_KIND),
    ("Remaining (£)", "remaining", MONEY_KIND),
    ("Days allocated", "days_allocated", DAYS),
    ("Days used", "days_used", DAYS),
    ("Interim reports", "interim_reports", TEXT),
    ("Final report", "final_report", TEXT),
    ("QA impact judgement", "impact", TEXT),
    ("Value for money", "value_for_money", TEXT),
]

STREAM_COLUMNS = [
    ("Funding stream", "stream", TEXT),
    ("Academic year", "academic_year", TEXT),
    ("Funder", "funder", TEXT),
    ("Budget (£)", "budget", MONEY_KIND),
    ("Allocated (£)", "allocated", MONEY_KIND),
    ("Unallocated (£)", "unallocated", MONEY_KIND),
    ("Spent (£)", "spent", MONEY_KIND),
    ("Allocated, not yet spent (£)", "unspent", MONEY_KIND),
    ("Commissions", "commissions", COUNT),
]

NOT_STARTED = "Not started"


@dataclass
class FundingReturn:
    rows: list[dict] = field(default_factory=list)
    total: dict = field(default_factory=dict)
    streams: list[dict] = field(default_factory=list)
    streams_total: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- figures


def _money(value) -> Decimal:
    return Decimal(value or 0).quantize(TWO)


def _report(deadline: ReportingDeadline) -> ImpactReport | None:
    # Loaded with select_related, so a deadline without a report costs no query.
    return getattr(deadline, "report", None)


def _report_status(deadline: ReportingDeadline) -> str:
    report = _report(deadline)
    return report.get_status_display() if report else NOT_STARTED


def _reports_of(deadlines: list[ReportingDeadline]) -> dict:
    """Interim and final report statuses, and the QA judgements of the latest approved
    report (the final one when it is approved)."""
    interims = [d for d in deadlines if d.kind == ReportingDeadline.Kind.INTERIM]
    final = next((d for d in deadlines if d.kind == ReportingDeadline.Kind.FINAL), None)
    approved = sorted(
        (d for d in deadlines if _report(d) and d.report.status == ImpactReport.Status.APPROVED),
        key=lambda d: (d.kind == ReportingDeadline.Kind.FINAL, d.due, d.pk),
    )
    judged = approved[-1].report if approved else None
    return {
        "interim_reports": "; ".join(
            f"{_report_status(d)} (due {d.due.isoformat()})" for d in interims
        ),
        "final_report": (
            f"{_report_status(final)} (due {final.due.isoformat()})" if final else "No deadline"
        ),
        "impact": Judgement(judged.impact).label if judged and judged.impact else "",
        "value_for_money": (
            ValueForMoney(judged.value_for_money).label
            if judged and judged.value_for_money
            else ""
        ),
    }


def funding_return(user, stream: FundingStream | None = None) -> FundingReturn:
    """The return for the streams ``user`` may see (or just ``stream``, which the caller has
    checked the user may see). The number of queries does not depend on the number of
    commissions."""
    spent_by_allocation = (
        SpendLine.objects.filter(allocation=OuterRef("pk"))
        .order_by()
        .values("allocation")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    spent_by_stream = (
        SpendLine.objects.filter(allocation__stream=OuterRef("pk"))
        .order_by()
        .values("allocation__stream")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    money = DecimalField(**MONEY)

    streams = FundingStream.objects.visible_to(user)
    if stream is not None:
        streams = streams.filter(pk=stream.pk)
    streams = list(
        streams.select_related("funder")
        .with_allocated()
        .annotate(spent_total=Coalesce(Subquery(spent_by_stream), ZERO, output_field=money))
        .order_by("-academic_year", "name", "pk")
    )
    stream_ids = [s.pk for s in streams]

    allocations = list(
        FundingAllocation.objects.filter(stream_id__in=stream_ids)
        .select_related(
            "stream__funder", "commission__request__school", "commission__lead_organisation"
        )
        .annotate(spent=Coalesce(Subquery(spent_by_allocation), ZERO, output_field=money))
        .order_by(
            "-stream__academic_year",
            "stream__name",
            "stream_id",
            "commission__request__school__name",
            "commission__start",
            "commission_id",
        )
    )
    commission_ids = {a.commission_id for a in allocations}

    hours = {
        row["deployment__commission"]: row["hours"]
        for row in Visit.objects.filter(deployment__commission_id__in=commission_ids)
        .order_by()
        .values("deployment__commission")
        .annotate(hours=Sum("duration_hours"))
    }
    deadlines = defaultdict(list)
    for deadline in (
        ReportingDeadline.objects.filter(commission_id__in=commission_ids)
        .select_related("report")
        .order_by("due", "pk")
    ):
        deadlines[deadline.commission_id].append(deadline)

    hours_per_day = Decimal(str(settings.HOURS_PER_DAY))
    result = FundingReturn()
    total = defaultdict(Decimal)
    counted = set()
    for allocation in allocations:
        commission = allocation.commission
        school = commission.request.school
        days_used = (Decimal(hours.get(commission.pk) or 0) / hours_per_day).quantize(ONE)
        allocated, spent = _money(allocation.amount), _money(allocation.spent)
        row = {
            "stream": allocation.stream.name,
            "academic_year": allocation.stream.academic_year,
            "funder": allocation.stream.funder.name,
            "school": school.name,
            "urn": school.urn or "",
            "lead_organisation": commission.lead_organisation.name,
            "start": commission.start,
            "end": commission.end,
            "carry_forward": "Yes" if allocation.carry_forward else "No",
            "allocated": allocated,
            "spent": spent,
            "remaining": allocated - spent,
            "days_allocated": commission.days_allocated.quantize(ONE),
            "days_used": days_used,
            **_reports_of(deadlines[commission.pk]),
        }
        result.rows.append(row)
        for key in ("allocated", "spent", "remaining"):
            total[key] += row[key]
        # A commission drawing on two streams has two rows but its days once.
        if commission.pk not in counted:
            counted.add(commission.pk)
            total["days_allocated"] += row["days_allocated"]
            total["days_used"] += row["days_used"]
    result.total = {
        "stream": f"Total ({len(counted)} commissions)",
        **{key: total[key] for key in ("allocated", "spent", "remaining")},
        "days_allocated": total["days_allocated"],
        "days_used": total["days_used"],
    }

    per_stream = defaultdict(int)
    for allocation in allocations:
        per_stream[allocation.stream_id] += 1
    streams_total = defaultdict(Decimal)
    for s in streams:
        allocated, spent = _money(s.allocated()), _money(s.spent_total)
        row = {
            "stream": s.name,
            "academic_year": s.academic_year,
            "funder": s.funder.name,
            "budget": _money(s.total_budget),
            "allocated": allocated,
            "unallocated": _money(s.total_budget) - allocated,
            "spent": spent,
            "unspent": allocated - spent,
            "commissions": per_stream[s.pk],
        }
        result.streams.append(row)
        for key in ("budget", "allocated", "unallocated", "spent", "unspent"):
            streams_total[key] += row[key]
    result.streams_total = {"stream": "Total", **streams_total}
    return result


# ------------------------------------------------------------------------- writing


def _name(stream: FundingStream | None) -> str:
    name = "funding-return"
    if stream is not None:
        name += f"-{slugify(stream.name)}-{stream.academic_year}"
    return name


def _filename(stream: FundingStream | None, extension: str) -> str:
    return f"{_name(stream)}-{timezone.localdate().isoformat()}.{extension}"


def _attachment(response: HttpResponse, filename: str) -> HttpResponse:
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def csv_lines(data: FundingReturn) -> Iterator[list]:
    """The return, then a blank line and the summary per stream, as rows of typed values
    for ``trust.csv_export.csv_response`` (money and days stay numbers, text is neutralised).
    """
    yield from _csv_section(RETURN_COLUMNS, data.rows, data.total)
    yield []
    yield ["Stream summary"]
    yield [header for header, _, _ in STREAM_COLUMNS]
    yield from _csv_section(STREAM_COLUMNS, data.streams, data.streams_total)


def _csv_section(columns, rows, total) -> Iterator[list]:
    for row in [*rows, total]:
        yield [_typed(row.get(key), kind) for _, key, kind in columns]


def _typed(value, kind: str):
    # Money always with its pence, as a spreadsheet user expects "0.00" rather than "0".
    return _money(value) if kind == MONEY_KIND and value is not None else value


MONEY_FORMAT = '"£"#,##0.00;-"£"#,##0.00'
DAYS_FORMAT = "0.0"
DATE_FORMAT = "dd/mm/yyyy"


def _xlsx_sheet(sheet, columns, rows, total) -> None:
    bold = Font(bold=True)
    sheet.append([header for header, _, _ in columns])
    for cell in sheet[1]:
        cell.font = bold
    sheet.freeze_panes = "A2"
    widths = [len(header) for header, _, _ in columns]
    for row in [*rows, total]:
        values = []
        for index, (_, key, kind) in enumerate(columns):
            value = row.get(key)
            if kind == TEXT and value is not None:
                value = neutralise(ILLEGAL_CHARACTERS_RE.sub("", str(value)))
            values.append(value)
            shown = f"{value:,.2f}" if kind == MONEY_KIND and value is not None else value
            widths[index] = max(widths[index], len(str(shown if shown is not None else "")) + 2)
        sheet.append(values)
        for (_, _, kind), cell in zip(columns, sheet[sheet.max_row], strict=True):
            if kind == MONEY_KIND:
                cell.number_format = MONEY_FORMAT
            elif kind == DAYS:
                cell.number_format = DAYS_FORMAT
            elif kind == COUNT:
                cell.number_format = "0"
            elif kind == DATE:
                cell.number_format = DATE_FORMAT
            elif kind == TEXT and cell.value is not None:
                cell.data_type = "s"  # never a formula, whatever the text
            if row is total:
                cell.font = bold
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = min(max(width, 10), 50)


def render_xlsx(data: FundingReturn) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "Funding return"
    _xlsx_sheet(sheet, RETURN_COLUMNS, data.rows, data.total)
    _xlsx_sheet(book.create_sheet("Streams"), STREAM_COLUMNS, data.streams, data.streams_total)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --------------------------------------------------------------------------- views


def _requested_stream(request) -> FundingStream | None:
    """The stream named by ``?stream=``, if the user may see it; 404 otherwise."""
    value = request.GET.get("stream", "")
    if not value:
        return None
    # Only a plain number that fits the key column is looked up; anything else is no stream.
    if not (value.isascii() and value.isdigit() and len(value) <= 18):
        raise Http404("No such funding stream.")
    stream = FundingStream.objects.visible_to(request.user).filter(pk=int(value)).first()
    if stream is None:
        raise Http404("No such funding stream.")
    return stream


def _return_for(request) -> tuple[FundingReturn, FundingStream | None]:
    require_role(request.user, *HUB_ROLES, Role.FUNDER_VIEWER)
    stream = _requested_stream(request)
    return funding_return(request.user, stream), stream


def _exported(request, stream, filename: str) -> None:
    record(request, AuditEvent.Action.EXPORT, stream, detail=f"funding return: {filename}")


@login_required
@require_GET
def funding_return_csv(request):
    data, stream = _return_for(request)
    header = [header for header, _, _ in RETURN_COLUMNS]
    _exported(request, stream, _filename(stream, "csv"))
    return csv_response(request, _name(stream), header, csv_lines(data))


@login_required
@require_GET
def funding_return_xlsx(request):
    data, stream = _return_for(request)
    filename = _filename(stream, "xlsx")
    response = HttpResponse(
        render_xlsx(data),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    _exported(request, stream, filename)
    return _attachment(response, filename)


# ------------------------------------------------------------------ the report list

REPORT_HEADER = [
    "School",
    "URN",
    "Local authority",
    "Lead organisation",
    "Report",
    "Due",
    "Status",
    "Overdue",
    "Submitted at",
    "Reviewed at",
    "QA impact judgement",
    "Value for money",
    "Latest PDF version",
]


def report_rows(deadlines) -> Iterator[list]:
    """The report list (``selectors.deadline_list_for``, filtered) as CSV rows: one query,
    read straight from the cursor without the reports' snapshots."""
    kinds = dict(ReportingDeadline.Kind.choices)
    statuses = dict(ImpactReport.Status.choices)
    impacts, values = dict(Judgement.choices), dict(ValueForMoney.choices)
    rows = deadlines.values_list(
        "commission__request__school__name",
        "commission__request__school__urn",
        "commission__request__school__local_authority",
        "commission__lead_organisation__name",
        "kind",
        "due",
        "report__status",
        "report__submitted_at",
        "report__reviewed_at",
        "report__impact",
        "report__value_for_money",
        "is_overdue",
        "latest_pdf",
        "may_download",
    )
    for (
        school,
        urn,
        la,
        lead,
        kind,
        due,
        status,
        submitted,
        reviewed,
        impact,
        vfm,
        overdue,
        pdf,
        may_download,
    ) in rows.iterator():
        approved = status == ImpactReport.Status.APPROVED
        yield [
            school,
            urn,
            la,
            lead,
            kinds.get(kind, kind),
            due,
            statuses.get(status, NOT_STARTED),
            bool(overdue),
            submitted,
            reviewed,
            impacts.get(impact, "") if approved else "",
            values.get(vfm, "") if approved else "",
            pdf if may_download else None,
        ]
