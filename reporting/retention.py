"""Retention: the notes about a commission are removed once it has been over for
``settings.CLOSED_COMMISSION_NOTES_RETENTION_DAYS`` (six years by default; see settings).

What is a note, and goes: free text people wrote while the work went on, which is where
names, opinions about staff and (despite the warnings) pupils end up:

* visits: what happened (summary), next steps, people met, the school's response comment;
* per-objective progress notes on visits;
* the request's description of the school's situation (context), offer messages and
  replies, the reasons written on the request's timeline and on shortlisting overrides;
* reports never approved (drafts, returned or stuck in QA): their narrative, QA comments,
  the visit text inside their frozen snapshot, their PDFs and the PDF jobs' copies.

What is the programme's record, and stays: every figure (dates, hours, days, money,
RAG ratings and their history), the objectives as agreed (title, success criteria,
baseline, target), the request's title, needs and state, who did what and when, and
each **approved** report with its snapshot and PDFs: that is what the hub sent the funder
and is accountable for, and what later evaluation of the programme reads. Keeping it
is the hub's decision as the record's owner; this task never deletes it.

The history tables (django-simple-history) hold every earlier version of a visit or
report, so the purge blanks the same fields in those rows too; otherwise the notes
would outlive their retention period there. Visits and reports are saved with
``bulk_update_with_history``, so the purge itself is in their history.

Safe to run again: a row whose notes are already gone is not touched or counted.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from brokerage.models import Candidate, Commission, Offer, RequestEvent, SupportRequest
from deployments.models import Visit, VisitObjective

from .models import ImpactReport, PdfJob, ReportEvent, ReportFile

REMOVED = "[Removed after the retention period]"
REASON = "Retention period over: notes removed"
NARRATIVE_FIELDS = [*ImpactReport.SECTIONS, "review_comments"]


def retention_cutoff(today: datetime.date) -> datetime.date:
    """Commissions that ended before this day are past their retention period."""
    return today - datetime.timedelta(days=settings.CLOSED_COMMISSION_NOTES_RETENTION_DAYS)


@dataclass(frozen=True)
class Target:
    label: str
    model: type
    blanks: dict  # field: what it becomes

    def rows(self, commissions: QuerySet, requests: QuerySet) -> QuerySet:
        m = self.model
        if m is Visit:
            qs = m.objects.filter(deployment__commission__in=commissions)
        elif m is VisitObjective:
            qs = m.objects.filter(visit__deployment__commission__in=commissions)
        elif m is SupportRequest:
            qs = m.objects.filter(pk__in=requests)
        elif m in (Offer, RequestEvent, Candidate):
            qs = m.objects.filter(request__in=requests)
        elif m is ImpactReport:
            qs = m.objects.filter(deadline__commission__in=commissions).exclude(
                status=ImpactReport.Status.APPROVED
            )
        elif m is ReportEvent:
            qs = m.objects.filter(report__deadline__commission__in=commissions).exclude(
                report__status=ImpactReport.Status.APPROVED
            )
        else:  # pragma: no cover - a target added without saying where its rows are
            raise ValueError(m)
        # Only rows with something left to remove.
        return qs.exclude(Q(**self.blanks))


TARGETS = [
    Target(
        "visit notes",
        Visit,
        {"summary": REMOVED, "next_steps": REMOVED, "people_met": "", "response_comment": ""},
    ),
    Target("visit progress notes", VisitObjective, {"note": ""}),
    Target("request descriptions", SupportRequest, {"context": REMOVED}),
    Target("offer messages", Offer, {"message": "", "response": ""}),
    Target("request timeline reasons", RequestEvent, {"reason": ""}),
    Target("shortlisting reasons", Candidate, {"override_reason": ""}),
    Target("unapproved report narratives", ImpactReport, dict.fromkeys(NARRATIVE_FIELDS, "")),
    Target("unapproved report comments", ReportEvent, {"comment": ""}),
]


def expired(today: datetime.date) -> tuple[QuerySet, QuerySet]:
    """The commissions past retention, and the requests whose notes go: theirs, and
    requests that ended without a commission (declined, withdrawn) as long ago."""
    cutoff = retention_cutoff(today)
    commissions = Commission.objects.filter(end__lt=cutoff)
    cutoff_moment = timezone.make_aware(datetime.datetime.combine(cutoff, datetime.time.min))
    requests = SupportRequest.objects.filter(
        Q(commission__in=commissions)
        | Q(
            status__in=[SupportRequest.Status.DECLINED, SupportRequest.Status.WITHDRAWN],
            status_changed_at__lt=cutoff_moment,
        )
    )
    return commissions, requests.values("pk")


def _history_fields(model) -> list[str]:
    return [f.name for f in model.history.model._meta.get_fields()]


def _scrub_snapshot(snapshot: dict | None) -> dict | None:
    """A report snapshot with the visit text taken out and the figures left."""
    if not snapshot:
        return snapshot
    snapshot = {**snapshot}
    snapshot["visits"] = [
        {**v, "summary": "", "next_steps": ""} for v in snapshot.get("visits", [])
    ]
    snapshot["objectives"] = [
        {**o, "visits": [{**v, "note": ""} for v in o.get("visits", [])]}
        for o in snapshot.get("objectives", [])
    ]
    return snapshot


def _earlier_versions(target: Target, rows: list) -> QuerySet | None:
    """The history rows of ``rows`` that still hold the target's notes."""
    if not hasattr(target.model, "history"):
        return None
    kept = _history_fields(target.model)
    blanks = {k: v for k, v in target.blanks.items() if k in kept}
    return target.model.history.filter(id__in=[r.pk for r in rows]).exclude(Q(**blanks))


def _purge(target: Target, rows: list) -> int:
    """Blank the target's fields in ``rows`` and in their earlier versions. Returns how
    many history rows were blanked."""
    past = _earlier_versions(target, rows)
    fields = list(target.blanks)
    for row in rows:
        for name, value in target.blanks.items():
            setattr(row, name, value)
        if target.model is ImpactReport:
            row.snapshot = _scrub_snapshot(row.snapshot)
    if target.model is ImpactReport:
        fields.append("snapshot")
    if past is None:
        target.model.objects.bulk_update(rows, fields, batch_size=500)
        return 0
    ids = list(past.values_list("history_id", flat=True))
    bulk_update_with_history(
        rows, target.model, fields, batch_size=500, default_change_reason=REASON
    )
    blanks = {k: v for k, v in target.blanks.items() if k in _history_fields(target.model)}
    return target.model.history.filter(history_id__in=ids).update(**blanks)


def notes_purge(*, today: datetime.date | None = None, dry_run: bool = False) -> dict[str, int]:
    """Remove the notes of commissions past retention. Returns the number of rows per kind
    that were (or, with ``dry_run``, would be) purged."""
    today = today or timezone.localdate()
    commissions, requests = expired(today)
    counts: dict[str, int] = {}
    with transaction.atomic():
        history_rows = 0
        for target in TARGETS:
            rows = list(target.rows(commissions, requests))
            counts[target.label] = len(rows)
            if rows and dry_run:
                past = _earlier_versions(target, rows)
                history_rows += past.count() if past is not None else 0
            elif rows:
                history_rows += _purge(target, rows)

        # PDFs of reports never approved are drafts; the approved ones stay.
        files = ReportFile.objects.filter(report__deadline__commission__in=commissions).exclude(
            status_at_render=ImpactReport.Status.APPROVED
        )
        jobs = (
            PdfJob.objects.filter(report__deadline__commission__in=commissions)
            .exclude(state={})
            .exclude(status=PdfJob.Status.PENDING)
            .exclude(state__status=ImpactReport.Status.APPROVED)
        )
        counts["unapproved report PDFs"] = files.count()
        counts["PDF job copies"] = jobs.count()
        if not dry_run:
            names = list(files.values_list("file", flat=True))
            files.delete()
            jobs.update(state={})
            storage = ReportFile._meta.get_field("file").storage
            transaction.on_commit(lambda: [storage.delete(name) for name in names])
        counts["earlier versions in history"] = history_rows
    return counts
