"""Reads for reporting. Every lookup by URL goes through the user's visible set, so another
organisation's report answers 404."""

from __future__ import annotations

import datetime

from django.db.models import Case, Exists, OuterRef, Q, Subquery, Value, When
from django.http import Http404
from django.shortcuts import get_object_or_404

from brokerage.models import ReportingDeadline
from trust.history import History, history_of

from .models import (
    ImpactReport,
    PdfJob,
    ReportFile,
    commissions_downloadable_by,
    commissions_reported_by,
)

LATE = ("draft", "returned")


def deadline_list_for(*, user, today: datetime.date):
    """Reporting deadlines the user follows, each with its report's status; overdue first,
    then by due date."""
    overdue = Q(due__lt=today) & (Q(report__isnull=True) | Q(report__status__in=LATE))
    return (
        ReportingDeadline.objects.filter(commission__in=commissions_reported_by(user))
        .select_related("commission__request__school", "commission__lead_organisation", "report")
        .annotate(
            is_overdue=Case(When(overdue, then=Value(1)), default=Value(0)),
            # A subquery, not Max(): an aggregate makes the database group every selected
            # column of every deadline before it can sort and take a page (EXPLAIN in the
            # issue 7 note: 47 ms of the report list at 2,000 deadlines).
            latest_pdf=Subquery(
                ReportFile.objects.filter(report=OuterRef("report"))
                .order_by("-version")
                .values("version")[:1]
            ),
            pdf_pending=Exists(
                PdfJob.objects.filter(report=OuterRef("report"), status=PdfJob.Status.PENDING)
            ),
            may_download=Exists(
                commissions_downloadable_by(user).filter(pk=OuterRef("commission"))
            ),
        )
        .order_by("-is_overdue", "due", "pk")
    )


def access_report(*, user, pk: int) -> ImpactReport:
    return get_object_or_404(
        ImpactReport.objects.visible_to(user).select_related(
            "deadline__commission__request__school",
            "deadline__commission__request__hub",
            "deadline__commission__lead_organisation",
            "submitted_by",
            "reviewer",
        ),
        pk=pk,
    )


def access_deadline(*, user, pk: int) -> ReportingDeadline:
    return get_object_or_404(
        ReportingDeadline.objects.filter(
            commission__in=commissions_reported_by(user)
        ).select_related("commission__request"),
        pk=pk,
    )


def downloadable_file(*, user, report_pk: int, version: int | None = None) -> ReportFile:
    """The report's newest PDF (or the version asked for); 404 for anyone but the hub and
    the lead trust, and until a PDF exists."""
    files = ReportFile.objects.filter(
        report__pk=report_pk, report__deadline__commission__in=commissions_downloadable_by(user)
    ).select_related("report__deadline__commission__request__school")
    if version is not None:
        files = files.filter(version=version)
    report_file = files.order_by("-version").first()
    if report_file is None:
        raise Http404("No PDF of this report yet.")
    return report_file


def may_download(user, report: ImpactReport) -> bool:
    return commissions_downloadable_by(user).filter(pk=report.deadline.commission_id).exists()


def report_history(report: ImpactReport) -> History:
    """Every change to the report's narrative, status and QA judgement (the frozen figures
    are not kept in its history)."""
    return history_of(report.history.all(), hide=("deadline",))
