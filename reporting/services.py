"""Writes for reporting: spend, the report's QA workflow, and making its PDFs.

Who may do what:
- the commission's Lead System Leader and the lead trust's trust leads draft the narrative;
- only a trust lead of the lead organisation submits;
- only a QA lead of the commission's hub returns or approves;
- the lead trust and the hub coordinator record spend.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Q, Sum
from django.template.loader import render_to_string
from django.utils import timezone

from brokerage.models import Commission, CommissionLeader, FundingAllocation, ReportingDeadline
from config.celery import enqueue
from trust.models import HUB_ROLES, Role, User

from . import figures
from .models import (
    NARRATIVE_MAX,
    ImpactReport,
    Judgement,
    PdfJob,
    ReportEvent,
    ReportFile,
    SpendLine,
    ValueForMoney,
)

logger = logging.getLogger(__name__)

# A claimed job whose worker has not finished in this time is taken over by the sweeper.
STALE_CLAIM = datetime.timedelta(minutes=10)
# The sweeper leaves a fresh job to the task its request queued.
SWEEP_AFTER = datetime.timedelta(minutes=2)
MAX_PDF_ATTEMPTS = 5

Status = ImpactReport.Status


# ----------------------------------------------------------------- who may do what


def is_lead_leader(user: User, commission: Commission) -> bool:
    return CommissionLeader.objects.filter(
        commission=commission, leader__user=user, role=CommissionLeader.Role.LEAD
    ).exists()


def is_trust_lead(user: User, commission: Commission) -> bool:
    return commission.lead_organisation_id in user.organisation_ids_for(Role.TRUST_LEAD)


def is_qa_lead(user: User, commission: Commission) -> bool:
    return commission.request.hub_id in user.organisation_ids_for(Role.QA_LEAD)


def may_draft(user: User, commission: Commission) -> bool:
    return is_trust_lead(user, commission) or is_lead_leader(user, commission)


def may_record_spend(user: User, commission: Commission) -> bool:
    hub_staff = commission.request.hub_id in user.organisation_ids_for(Role.HUB_COORDINATOR)
    return hub_staff or is_trust_lead(user, commission)


def _event(report, actor, from_status, comment="") -> None:
    ReportEvent.objects.create(
        report=report,
        actor=actor,
        from_status=from_status,
        to_status=report.status,
        comment=comment,
    )


def _locked(report: ImpactReport) -> ImpactReport:
    """The report re-read under a row lock, so two clicks cannot both move it."""
    return (
        ImpactReport.objects.select_for_update()
        .select_related("deadline__commission__request")
        .get(pk=report.pk)
    )


# ------------------------------------------------------------------------- spend


@transaction.atomic
def spend_add(
    *,
    allocation: FundingAllocation,
    actor: User,
    date: datetime.date,
    amount: Decimal,
    description: str,
    today: datetime.date | None = None,
) -> SpendLine:
    today = today or timezone.localdate()
    commission = allocation.commission
    if not may_record_spend(actor, commission):
        raise ValidationError("Only the lead trust and the hub coordinator record spend.")
    # Lock the allocation so two people adding spend at once cannot overspend it together.
    allocation = FundingAllocation.objects.select_for_update().get(pk=allocation.pk)
    errors = {}
    if date > today:
        errors["date"] = "Record spend once it has happened."
    elif date < commission.start - datetime.timedelta(days=366):
        errors["date"] = "That is more than a year before the support started."
    if not Decimal("0") < amount <= Decimal("10000000"):
        errors["amount"] = "Enter an amount between £0.01 and £10,000,000."
    if not description.strip():
        errors["description"] = "Say what the money paid for."
    if errors:
        raise ValidationError(errors)
    spent = allocation.spend_lines.aggregate(total=Sum("amount"))["total"] or Decimal("0")
    if spent + amount > allocation.amount:
        raise ValidationError(
            {
                "amount": (
                    f"That would take spend from {allocation.stream} to £{spent + amount:,.2f}, "
                    f"over its £{allocation.amount:,.2f} allocation. Ask the hub to allocate "
                    "more first."
                )
            }
        )
    line = SpendLine(
        allocation=allocation,
        date=date,
        amount=amount,
        description=description.strip(),
        recorded_by=actor,
    )
    line._history_user = actor
    line.full_clean()
    line.save()
    return line


@transaction.atomic
def spend_delete(*, line: SpendLine, actor: User) -> None:
    if not may_record_spend(actor, line.allocation.commission):
        raise ValidationError("Only the lead trust and the hub coordinator record spend.")
    line._history_user = actor
    line.delete()


# ----------------------------------------------------------------------- reports


def report_start(*, deadline: ReportingDeadline, actor: User) -> ImpactReport:
    """The deadline's report, started as a draft by someone who may write it."""
    existing = ImpactReport.objects.filter(deadline=deadline).first()
    if existing:
        return existing
    if not may_draft(actor, deadline.commission):
        raise ValidationError(
            "The Lead System Leader or the lead trust starts the report; the hub reviews it."
        )
    try:
        with transaction.atomic():
            report = ImpactReport(deadline=deadline)
            report._history_user = actor
            report.save()
            _event(report, actor, "")
    except IntegrityError:  # started by someone else a moment ago
        return ImpactReport.objects.get(deadline=deadline)
    return report


@transaction.atomic
def report_save(*, report: ImpactReport, actor: User, **narrative: str) -> ImpactReport:
    report = _locked(report)
    if not may_draft(actor, report.commission):
        raise ValidationError("Only the Lead System Leader and the lead trust write the report.")
    if not report.is_editable:
        raise ValidationError(
            f"The report is {report.get_status_display().lower()}, so it cannot be changed now."
        )
    errors = {}
    for name in ImpactReport.SECTIONS:
        value = narrative.get(name, getattr(report, name))
        if len(value) > NARRATIVE_MAX:
            errors[name] = (
                f"Keep this section to {NARRATIVE_MAX:,} characters (it has {len(value):,})."
            )
        setattr(report, name, value)
    if errors:
        raise ValidationError(errors)
    report._history_user = actor
    report.save()
    return report


@transaction.atomic
def report_submit(*, report: ImpactReport, actor: User) -> ImpactReport:
    """Freeze the figures and send the report to the hub's QA lead; queue its PDF."""
    report = _locked(report)
    if not is_trust_lead(actor, report.commission):
        raise ValidationError(
            "A trust lead of the lead organisation submits the report; "
            "ask them to check it and submit."
        )
    if not report.is_editable:
        raise ValidationError(
            f"The report is {report.get_status_display().lower()}; only a draft or a "
            "returned report can be submitted."
        )
    missing = [
        ImpactReport._meta.get_field(name).verbose_name
        for name in ("summary", "evidence", "next_steps")
        if not getattr(report, name).strip()
    ]
    if missing:
        raise ValidationError(
            "Write the " + ", ".join(missing) + " before submitting: the funder asks for them."
        )
    from_status = report.status
    report.snapshot = {
        **figures.compute(report.deadline),
        "narrative": [[str(label), text] for label, text in report.narrative()],
    }
    report.status = Status.SUBMITTED
    report.submissions += 1
    report.submitted_by = actor
    report.submitted_at = timezone.now()
    report._history_user = actor
    report.save()
    _event(report, actor, from_status)
    _queue_pdf(report)
    return report


@transaction.atomic
def report_return(*, report: ImpactReport, actor: User, comments: str) -> ImpactReport:
    """Send the report back to its authors with what to change. An approved report can be
    reopened this way; its PDF stays as it was and a re-approval makes a new version."""
    report = _locked(report)
    if not is_qa_lead(actor, report.commission):
        raise ValidationError("Only the hub's QA lead reviews reports.")
    if report.status not in (Status.SUBMITTED, Status.APPROVED):
        raise ValidationError("Only a submitted or approved report can be returned.")
    if not comments.strip():
        raise ValidationError({"comments": "Say what needs to change, so the authors can act."})
    if len(comments) > NARRATIVE_MAX:
        raise ValidationError({"comments": f"Keep comments to {NARRATIVE_MAX:,} characters."})
    from_status = report.status
    report.status = Status.RETURNED
    report.reviewer = actor
    report.reviewed_at = timezone.now()
    report.review_comments = comments.strip()
    report.impact = report.value_for_money = ""
    report._history_user = actor
    report.save()
    _event(report, actor, from_status, comments.strip())
    return report


@transaction.atomic
def report_approve(
    *, report: ImpactReport, actor: User, impact: str, value_for_money: str, comments: str = ""
) -> ImpactReport:
    report = _locked(report)
    if not is_qa_lead(actor, report.commission):
        raise ValidationError("Only the hub's QA lead reviews reports.")
    if report.status != Status.SUBMITTED:
        raise ValidationError("Only a submitted report can be approved.")
    errors = {}
    if impact not in Judgement.values:
        errors["impact"] = "Judge the impact: strong, some or limited."
    if value_for_money not in ValueForMoney.values:
        errors["value_for_money"] = "Judge the value for money."
    if len(comments) > NARRATIVE_MAX:
        errors["comments"] = f"Keep comments to {NARRATIVE_MAX:,} characters."
    if errors:
        raise ValidationError(errors)
    report.status = Status.APPROVED
    report.reviewer = actor
    report.reviewed_at = timezone.now()
    report.review_comments = comments.strip()
    report.impact = impact
    report.value_for_money = value_for_money
    report._history_user = actor
    report.save()
    _event(report, actor, Status.SUBMITTED, comments.strip())
    _queue_pdf(report)
    return report


# -------------------------------------------------------------------------- PDFs


def _queue_pdf(report: ImpactReport) -> PdfJob:
    """Record the job in the caller's transaction; send it to the broker after commit. If
    the broker is down the job stays pending and the sweeper sends it later."""
    version = (report.pdf_jobs.aggregate(v=Max("version"))["v"] or 0) + 1
    job = PdfJob.objects.create(report=report, version=version, state=_pdf_state(report))
    transaction.on_commit(lambda: enqueue_pdf_job(job.pk))
    return job


def _pdf_state(report: ImpactReport) -> dict:
    def day(moment):
        return timezone.localdate(moment).isoformat() if moment else ""

    return {
        "figures": report.snapshot,
        "status": report.status,
        "status_label": report.get_status_display(),
        "submitted_by": str(report.submitted_by or ""),
        "submitted_at": day(report.submitted_at),
        "reviewer": str(report.reviewer or ""),
        "reviewed_at": day(report.reviewed_at),
        "impact": report.get_impact_display(),
        "value_for_money": report.get_value_for_money_display(),
        "review_comments": report.review_comments,
    }


def enqueue_pdf_job(job_id: int) -> bool:
    from .tasks import render_report_pdf

    return enqueue(render_report_pdf, job_id, what=f"PDF job {job_id}")


def render_html(report: ImpactReport, state: dict | None = None) -> str:
    """The PDF's HTML for the report as it stood in ``state`` (by default, now)."""
    state = state or _pdf_state(report)
    return render_to_string(
        "reporting/report_pdf.html", {"report": report, "fig": state["figures"], "state": state}
    )


def pdf_job_run(*, job_id: int) -> ReportFile | None:
    """Make the job's PDF once, however often or concurrently the task is delivered.

    The worker claims the job with a conditional update; a second delivery finds nothing
    to claim. A worker that died mid-render leaves a stale claim, which is taken over. The
    unique (report, version) constraint is the last guard: the loser deletes its file.
    """
    from .pdf import html_to_pdf

    now = timezone.now()
    claimable = Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - STALE_CLAIM)
    claimed = PdfJob.objects.filter(claimable, pk=job_id, status=PdfJob.Status.PENDING).update(
        claimed_at=now, attempts=F("attempts") + 1
    )
    if not claimed:
        logger.info("PDF job %s: nothing to claim", job_id)
        job = PdfJob.objects.filter(pk=job_id).first()
        return job and ReportFile.objects.filter(report=job.report_id, version=job.version).first()
    job = PdfJob.objects.select_related("report__deadline__commission__request").get(pk=job_id)
    report = job.report
    try:
        pdf = html_to_pdf(render_html(report, job.state))
    except Exception as exc:
        # Let the task retry; after the last attempt the job is marked failed.
        PdfJob.objects.filter(pk=job_id).update(
            claimed_at=None,
            error=f"{type(exc).__name__}: {exc}"[:2000],
            status=(
                PdfJob.Status.FAILED if job.attempts >= MAX_PDF_ATTEMPTS else PdfJob.Status.PENDING
            ),
        )
        raise
    digest = hashlib.sha256(pdf).hexdigest()
    report_file = ReportFile(
        report=report,
        version=job.version,
        sha256=digest,
        size=len(pdf),
        status_at_render=job.state["status"],
    )
    report_file.file.save(
        f"{report.kind}-{report.pk}-v{job.version}-{digest[:12]}.pdf",
        ContentFile(pdf),
        save=False,
    )
    try:
        with transaction.atomic():
            report_file.save()
            PdfJob.objects.filter(pk=job_id).update(
                status=PdfJob.Status.DONE, finished_at=timezone.now(), error=""
            )
    except IntegrityError:
        report_file.file.delete(save=False)
        PdfJob.objects.filter(pk=job_id).update(status=PdfJob.Status.DONE)
        return ReportFile.objects.get(report=report, version=job.version)
    return report_file


def pdf_jobs_sweep(now: datetime.datetime | None = None) -> int:
    """Send again every pending job that no worker has: queued while the broker was down,
    or left by a worker that died. Returns how many were sent."""
    now = now or timezone.now()
    pending = PdfJob.objects.filter(
        Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - STALE_CLAIM),
        status=PdfJob.Status.PENDING,
        created_at__lt=now - SWEEP_AFTER,
    ).values_list("pk", flat=True)
    return sum(enqueue_pdf_job(pk) for pk in list(pending))


def pdf_job_retry(*, report: ImpactReport, actor: User) -> int:
    """Send the report's failed PDF jobs again (the hub, or the lead trust, asks)."""
    commission = report.commission
    if not (
        commission.request.hub_id in actor.organisation_ids_for(*HUB_ROLES)
        or is_trust_lead(actor, commission)
    ):
        raise ValidationError("Only the hub and the lead trust can ask for the PDF again.")
    failed = list(report.pdf_jobs.filter(status=PdfJob.Status.FAILED).values_list("pk", flat=True))
    PdfJob.objects.filter(pk__in=failed).update(
        status=PdfJob.Status.PENDING, attempts=0, claimed_at=None
    )
    for pk in failed:
        transaction.on_commit(lambda pk=pk: enqueue_pdf_job(pk))
    return len(failed)
