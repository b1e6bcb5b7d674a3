"""Impact reports on grant-funded support, their QA review, PDFs and spend.

A report belongs to one ``brokerage.ReportingDeadline``. Its figures are computed from the
records (``reporting.figures``) and frozen into ``snapshot`` when it is submitted; every
state change goes through ``reporting.services`` and is kept as a ``ReportEvent``.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from simple_history.models import HistoricalRecords

from brokerage.models import (
    MONEY,
    Commission,
    CommissionLeader,
    FundingAllocation,
    ReportingDeadline,
)
from trust.models import HUB_ROLES, Role

# A report may hold this much text per narrative section, so a PDF stays a sensible size.
NARRATIVE_MAX = 20_000


def commissions_reported_by(user):
    """Commissions whose reports the user may read: the hub's, the lead trust's, and the
    ones the user leads as Lead System Leader."""
    if not user.is_authenticated or not user.is_active:
        return Commission.objects.none()
    if user.is_superuser:
        return Commission.objects.all()
    return Commission.objects.filter(
        Q(request__hub_id__in=user.organisation_ids_for(*HUB_ROLES))
        | Q(lead_organisation_id__in=user.organisation_ids_for(Role.TRUST_LEAD))
        | Q(
            pk__in=CommissionLeader.objects.filter(
                leader__user=user, role=CommissionLeader.Role.LEAD
            ).values("commission")
        )
    )


def commissions_downloadable_by(user):
    """Commissions whose report PDFs the user may download: the hub's and the lead trust's."""
    if not user.is_authenticated or not user.is_active:
        return Commission.objects.none()
    if user.is_superuser:
        return Commission.objects.all()
    return Commission.objects.filter(
        Q(request__hub_id__in=user.organisation_ids_for(*HUB_ROLES))
        | Q(lead_organisation_id__in=user.organisation_ids_for(Role.TRUST_LEAD))
    )


# -------------------------------------------------------------------------- spend


class SpendLineQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(allocation__commission__in=commissions_reported_by(user))


class SpendLine(models.Model):
    """Money spent from one of a commission's funding allocations."""

    allocation = models.ForeignKey(
        FundingAllocation, on_delete=models.PROTECT, related_name="spend_lines"
    )
    date = models.DateField()
    amount = models.DecimalField(
        "amount (£)",
        **MONEY,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("10000000"))],
    )
    description = models.CharField(
        max_length=300, help_text="What it paid for, e.g. “Supply cover for 3 days”."
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    objects = SpendLineQuerySet.as_manager()

    class Meta:
        ordering = ["date", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="spend_positive"),
        ]

    def __str__(self):
        return f"£{self.amount} on {self.date:%-d %b %Y}: {self.description}"


# ------------------------------------------------------------------------- reports


class Judgement(models.TextChoices):
    STRONG = "strong", "Strong"
    SOME = "some", "Some"
    LIMITED = "limited", "Limited"


class ValueForMoney(models.TextChoices):
    GOOD = "good", "Good value for money"
    ADEQUATE = "adequate", "Adequate value for money"
    POOR = "poor", "Poor value for money"


class ImpactReportQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(deadline__commission__in=commissions_reported_by(user))


class ImpactReport(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Submitted for QA"
        RETURNED = "returned", "Returned for changes"
        APPROVED = "approved", "Approved"

    EDITABLE = (Status.DRAFT, Status.RETURNED)
    # The narrative sections, in the order the report shows them.
    SECTIONS = ("summary", "evidence", "barriers", "next_steps", "sustainability")

    deadline = models.OneToOneField(
        ReportingDeadline, on_delete=models.PROTECT, related_name="report"
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    summary = models.TextField(
        "summary of impact",
        max_length=NARRATIVE_MAX,
        blank=True,
        help_text="What has changed for pupils and staff because of the support.",
    )
    evidence = models.TextField(
        max_length=NARRATIVE_MAX,
        blank=True,
        help_text="How you know: data, observations, work scrutiny, voice.",
    )
    barriers = models.TextField(
        max_length=NARRATIVE_MAX, blank=True, help_text="What got in the way, and what was done."
    )
    next_steps = models.TextField(max_length=NARRATIVE_MAX, blank=True)
    sustainability = models.TextField(
        max_length=NARRATIVE_MAX,
        blank=True,
        help_text="How the school will keep the improvement going after the support ends.",
    )
    snapshot = models.JSONField(null=True, blank=True, editable=False)
    # Counts submissions; each approval's PDF is a new ReportFile version.
    submissions = models.PositiveIntegerField(default=0, editable=False)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_comments = models.TextField(max_length=NARRATIVE_MAX, blank=True)
    impact = models.CharField(
        "judgement of impact", max_length=10, choices=Judgement.choices, blank=True
    )
    value_for_money = models.CharField(max_length=10, choices=ValueForMoney.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["snapshot"])

    objects = ImpactReportQuerySet.as_manager()

    class Meta:
        ordering = ["deadline__due", "pk"]

    def __str__(self):
        return f"{self.deadline.get_kind_display()}: {self.deadline.commission.request.school}"

    def get_absolute_url(self):
        return reverse("reporting:report_detail", args=[self.pk])

    @property
    def commission(self) -> Commission:
        return self.deadline.commission

    @property
    def kind(self) -> str:
        return self.deadline.kind

    @property
    def is_editable(self) -> bool:
        return self.status in self.EDITABLE

    def narrative(self) -> list[tuple[str, str]]:
        return [(self._meta.get_field(s).verbose_name, getattr(self, s)) for s in self.SECTIONS]


class ReportEvent(models.Model):
    """One step in a report's life: started, submitted, returned (with comments), approved."""

    report = models.ForeignKey(ImpactReport, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    from_status = models.CharField(max_length=10, blank=True)
    to_status = models.CharField(max_length=10)
    comment = models.TextField(max_length=NARRATIVE_MAX, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self):
        return f"{self.from_status or 'new'} → {self.to_status} ({self.at:%Y-%m-%d %H:%M})"

    def get_to_status_display(self) -> str:
        return ImpactReport.Status(self.to_status).label

    def get_from_status_display(self) -> str:
        return ImpactReport.Status(self.from_status).label if self.from_status else ""


class PdfJob(models.Model):
    """A PDF to be made. The request that asks for it writes this row in its own
    transaction; the task, and the sweeper when the broker was down, work from it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Being prepared"
        DONE = "done", "Ready"
        FAILED = "failed", "Failed"

    report = models.ForeignKey(ImpactReport, on_delete=models.CASCADE, related_name="pdf_jobs")
    version = models.PositiveIntegerField()
    # The report as it stood when the PDF was asked for (figures, narrative, QA decision),
    # so a job the broker delivers late still renders that moment, not a later one.
    state = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["report", "version"], name="pdf_job_once"),
        ]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self):
        return f"PDF v{self.version} of report {self.report_id} ({self.status})"


def report_file_path(instance: ReportFile, filename: str) -> str:
    return f"reports/{instance.report_id}/{filename}"


class ReportFile(models.Model):
    """A rendered PDF. Never changed once written: a new approval makes a new version."""

    report = models.ForeignKey(ImpactReport, on_delete=models.CASCADE, related_name="files")
    version = models.PositiveIntegerField()
    file = models.FileField(upload_to=report_file_path, max_length=200)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    status_at_render = models.CharField(max_length=10, choices=ImpactReport.Status.choices)
    generated_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["report", "version"], name="report_file_version_once"),
        ]

    def __str__(self):
        return f"{self.report} v{self.version}"

    def download_name(self) -> str:
        commission = self.report.commission
        school = "".join(c if c.isalnum() else "-" for c in str(commission.request.school.name))
        return f"{self.report.kind}-report-{school.strip('-')}-v{self.version}.pdf".lower()


# ---------------------------------------------------------------- reminders


class ReminderKind(models.TextChoices):
    UPCOMING_14 = "upcoming_14", "Report due in 14 days"
    UPCOMING_3 = "upcoming_3", "Report due in 3 days"
    DUE = "due", "Report due today"
    OVERDUE_1 = "overdue_1", "Report 1 day overdue"
    OVERDUE_7 = "overdue_7", "Report 7 days overdue"
    ESCALATION = "escalation", "Report 14 days overdue (to the hub)"
    VISIT_TO_LOG = "visit_to_log", "Planned visit not yet logged"
    NO_VISIT = "no_visit", "No visit logged for 21 days"
    QA_WAITING = "qa_waiting", "Report waiting for QA"


class Reminder(models.Model):
    """One reminder to one person, claimed before it is sent.

    The row is inserted first; the unique (subject, kind, recipient) means a second run,
    beat firing twice or two workers, finds it there and sends nothing. The sender moves it
    pending → sending with a conditional update, sends, then marks it sent; a failed send
    goes back to pending for a retry. A row left in ``sending`` (the worker died mid-send)
    is never sent again: the mail may have gone, and twice is worse than a missing nudge.
    """

    class State(models.TextChoices):
        PENDING = "pending", "To send"
        SENDING = "sending", "Being sent"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Not emailed (preference)"

    subject = models.CharField(max_length=100, help_text="What it is about, e.g. deadline:12")
    kind = models.CharField(max_length=20, choices=ReminderKind.choices)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reminders"
    )
    deadline = models.ForeignKey(
        ReportingDeadline,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="reminders",
    )
    about = models.DateField(help_text="The day the reminder is about (a due date, a visit).")
    title = models.CharField(max_length=200)
    body = models.TextField()
    url = models.CharField(max_length=300)
    state = models.CharField(
        max_length=10, choices=State.choices, default=State.PENDING, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["subject", "kind", "recipient"], name="reminder_once_per_person"
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} to {self.recipient}: {self.title}"


class Notification(models.Model):
    """What the header's bell lists for one person."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    reminder = models.OneToOneField(
        Reminder, on_delete=models.CASCADE, null=True, blank=True, related_name="notification"
    )
    kind = models.CharField(max_length=20, choices=ReminderKind.choices)
    title = models.CharField(max_length=200)
    url = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self):
        return self.title


class NotificationPreference(models.Model):
    """A kind of email someone has switched off (no row: emails on)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_prefs"
    )
    kind = models.CharField(max_length=20, choices=ReminderKind.choices)
    email = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="one_preference_per_kind"),
        ]

    def __str__(self):
        return f"{self.user}: {self.kind} {'on' if self.email else 'off'}"


class CalendarFeed(models.Model):
    """A private iCalendar address for one person; a new token revokes the old one."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed"
    )
    token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"Calendar of {self.user}"
