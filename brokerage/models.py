"""Support requests, matching, offers, commissions and the money behind them.

Every state change goes through a service in ``brokerage.services`` that records who, when
and why; views never set ``status`` themselves.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q, Sum
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from trust.models import (
    HUB_ROLES,
    Membership,
    Organisation,
    Role,
    Specialism,
    SystemLeaderProfile,
)

MONEY = {"max_digits": 12, "decimal_places": 2}
ACADEMIC_YEAR_RE = re.compile(r"^(\d{4})-(\d{2})$")


def validate_academic_year(value: str) -> None:
    match = ACADEMIC_YEAR_RE.match(value or "")
    if not match or (int(match[1]) + 1) % 100 != int(match[2]):
        raise ValidationError(
            "Write the academic year as 2020-21: the year it starts, a dash, and the last "
            "two digits of the next year."
        )


def academic_year_of(day: datetime.date) -> str:
    """The English school year (1 September to 31 August) a day falls in, e.g. 2020-21."""
    start = day.year if day.month >= 9 else day.year - 1
    return f"{start}-{(start + 1) % 100:02d}"


# ---------------------------------------------------------------------- funding


class FundingStreamQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Hub staff see their hub's streams; funder viewers the streams their funder gives."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self.all()
        return self.filter(
            Q(hub_id__in=user.organisation_ids_for(*HUB_ROLES))
            | Q(funder_id__in=user.organisation_ids_for(Role.FUNDER_VIEWER))
        )

    def with_allocated(self):
        return self.annotate(
            allocated_total=models.functions.Coalesce(
                Sum("allocations__amount"), Decimal("0"), output_field=models.DecimalField(**MONEY)
            )
        )


class FundingStream(models.Model):
    """A pot of grant money for one academic year, e.g. a funder's 2020-21 programme."""

    hub = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="funding_streams",
        limit_choices_to={"kind": Organisation.Kind.HUB},
    )
    funder = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="funded_streams",
        limit_choices_to={"kind": Organisation.Kind.FUNDER},
    )
    name = models.CharField(max_length=150)
    academic_year = models.CharField(
        max_length=7, validators=[validate_academic_year], help_text="For example 2020-21."
    )
    total_budget = models.DecimalField(
        "total budget (£)", **MONEY, validators=[MinValueValidator(Decimal("0"))]
    )
    notes = models.TextField(blank=True, help_text="Conditions of the grant, contacts.")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = FundingStreamQuerySet.as_manager()

    class Meta:
        ordering = ["-academic_year", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["hub", "name", "academic_year"], name="funding_stream_unique_per_year"
            ),
            models.CheckConstraint(
                condition=Q(total_budget__gte=0), name="funding_stream_budget_not_negative"
            ),
        ]

    def __str__(self):
        return f"{self.name} {self.academic_year}"

    def get_absolute_url(self):
        return reverse("brokerage:stream_detail", args=[self.pk])

    def allocated(self) -> Decimal:
        if hasattr(self, "allocated_total"):
            return self.allocated_total
        return self.allocations.aggregate(total=Sum("amount"))["total"] or Decimal("0")

    def remaining(self) -> Decimal:
        return self.total_budget - self.allocated()


# --------------------------------------------------------------------- requests


class NeedArea(models.TextChoices):
    LEADERSHIP = "leadership", "Leadership"
    SUBJECT = "subject", "A subject"
    SEND = "send", "SEND"
    EARLY_YEARS = "early_years", "Early years"
    BEHAVIOUR_ATTENDANCE = "behaviour_attendance", "Behaviour and attendance"
    SAFEGUARDING = "safeguarding", "Safeguarding"
    GOVERNANCE = "governance", "Governance"
    CURRICULUM = "curriculum", "Curriculum"
    OTHER = "other", "Other"


# The system leader specialism that answers each need area ("subject" uses the request's
# own subject; "other" matches nothing).
NEED_SPECIALISMS = {
    NeedArea.LEADERSHIP: "leadership",
    NeedArea.SEND: "send",
    NeedArea.EARLY_YEARS: "early-years",
    NeedArea.BEHAVIOUR_ATTENDANCE: "behaviour-attendance",
    NeedArea.SAFEGUARDING: "safeguarding",
    NeedArea.GOVERNANCE: "governance",
    NeedArea.CURRICULUM: "curriculum",
}


class SupportRequestQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Hub staff see their hub's requests (but not a school's unsubmitted draft); a
        school contact their school's; a trust lead those offered to their trust; a system
        leader those they are commissioned on."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self.all()
        hubs = user.organisation_ids_for(*HUB_ROLES)
        # A school's draft is its own until submitted; the hub sees only its own drafts.
        hub_staff = Membership.objects.filter(organisation_id__in=hubs, role__in=HUB_ROLES)
        q = (
            Q(hub_id__in=hubs)
            & (~Q(status=SupportRequest.Status.DRAFT) | Q(raised_by__in=hub_staff.values("user")))
        ) | Q(school_id__in=user.organisation_ids_for(Role.SCHOOL_CONTACT))
        trusts = user.organisation_ids_for(Role.TRUST_LEAD)
        if trusts:
            # A trust that declined, or whose offer was retracted, no longer follows the request.
            offered = Offer.objects.filter(
                lead_organisation_id__in=trusts,
                status__in=[Offer.Status.OPEN, Offer.Status.ACCEPTED],
            )
            q |= Q(pk__in=offered.values("request"))
        if Role.SYSTEM_LEADER in user.roles:
            deployed = CommissionLeader.objects.filter(leader__user=user)
            q |= Q(pk__in=deployed.values("commission__request"))
        return self.filter(q)

    def open(self):
        return self.exclude(status__in=SupportRequest.CLOSED_STATES)


class SupportRequest(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Submitted"
        TRIAGE = "triage", "In triage"
        BROKERING = "brokering", "Brokering"
        OFFERED = "offered", "Offered"
        COMMISSIONED = "commissioned", "Commissioned"
        DECLINED = "declined", "Declined"
        WITHDRAWN = "withdrawn", "Withdrawn"

    class Priority(models.TextChoices):
        HIGH = "high", "High"
        MEDIUM = "medium", "Medium"
        LOW = "low", "Low"

    CLOSED_STATES = (Status.COMMISSIONED, Status.DECLINED, Status.WITHDRAWN)

    hub = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="hub_support_requests"
    )
    school = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="support_requests",
        limit_choices_to={"kind": Organisation.Kind.SCHOOL},
    )
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="support_requests"
    )
    title = models.CharField(
        max_length=150, help_text="A few words, e.g. “Year 6 maths after a poor SATs year”."
    )
    need_areas = models.JSONField(default=list)
    subject = models.ForeignKey(
        Specialism,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="When the need is a subject: which one.",
    )
    context = models.TextField(
        max_length=5000, help_text="What is happening, what has been tried, what would help."
    )
    priority = models.CharField(
        max_length=10, choices=Priority.choices, default=Priority.MEDIUM, db_index=True
    )
    days_sought = models.DecimalField(
        max_digits=5,
        decimal_places=1,
        validators=[MinValueValidator(Decimal("0.5")), MaxValueValidator(Decimal("200"))],
    )
    funding_sought = models.DecimalField(
        "funding sought (£)",
        **MONEY,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1000000"))],
    )
    desired_start = models.DateField()
    status = models.CharField(
        max_length=15, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    status_changed_at = models.DateTimeField(auto_now_add=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    objects = SupportRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["hub", "status"])]

    def __str__(self):
        return f"{self.school}: {self.title}"

    def get_absolute_url(self):
        return reverse("brokerage:request_detail", args=[self.pk])

    def clean(self):
        super().clean()
        valid = set(NeedArea.values)
        if not isinstance(self.need_areas, list) or not self.need_areas:
            raise ValidationError({"need_areas": "Choose at least one area of need."})
        if not set(self.need_areas) <= valid:
            raise ValidationError({"need_areas": "Choose areas of need from the list."})
        if NeedArea.SUBJECT in self.need_areas and not self.subject_id:
            raise ValidationError({"subject": "Say which subject the support is for."})

    def get_need_areas_display(self) -> str:
        names = []
        for code in self.need_areas:
            if code == NeedArea.SUBJECT and self.subject_id:
                names.append(self.subject.name)
            else:
                names.append(NeedArea(code).label)
        return ", ".join(names)

    def needed_specialisms(self) -> set[str]:
        codes = {NEED_SPECIALISMS[n] for n in self.need_areas if n in NEED_SPECIALISMS}
        if NeedArea.SUBJECT in self.need_areas and self.subject_id:
            codes.add(self.subject.code)
        return codes

    @property
    def is_closed(self) -> bool:
        return self.status in self.CLOSED_STATES


class RequestEventQuerySet(models.QuerySet):
    def for_viewer(self, *, is_hub: bool):
        """Hub staff see every step; others do not see the hub's deliberation (who was
        shortlisted, which trusts said no and why)."""
        return self if is_hub else self.filter(hub_only=False)


class RequestEvent(models.Model):
    """One step in a request's timeline: a state change, shortlisting, offer or note."""

    request = models.ForeignKey(SupportRequest, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    from_status = models.CharField(max_length=15, blank=True)
    to_status = models.CharField(max_length=15, blank=True)
    action = models.CharField(max_length=150)
    reason = models.TextField(blank=True, max_length=2000)
    hub_only = models.BooleanField(default=False)
    at = models.DateTimeField(auto_now_add=True)

    objects = RequestEventQuerySet.as_manager()

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self):
        return f"{self.action} ({self.at:%Y-%m-%d %H:%M})"


# --------------------------------------------------------------------- shortlist


class Candidate(models.Model):
    """A system leader the coordinator has shortlisted for a request, with the score and
    reasons as they stood when shortlisted."""

    request = models.ForeignKey(
        SupportRequest, on_delete=models.CASCADE, related_name="candidates"
    )
    leader = models.ForeignKey(
        SystemLeaderProfile, on_delete=models.CASCADE, related_name="candidacies"
    )
    score = models.DecimalField(max_digits=5, decimal_places=1)
    parts = models.JSONField(default=list)
    conflicts = models.JSONField(default=list)
    override_reason = models.TextField(blank=True, max_length=2000)
    shortlisted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    shortlisted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-score", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["request", "leader"], name="candidate_once"),
        ]

    def __str__(self):
        return f"{self.leader} for {self.request}"


# ------------------------------------------------------------------------ offers


class OfferQuerySet(models.QuerySet):
    def visible_to(self, user):
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self.all()
        return self.filter(
            Q(request__hub_id__in=user.organisation_ids_for(*HUB_ROLES))
            | Q(lead_organisation_id__in=user.organisation_ids_for(Role.TRUST_LEAD))
        )

    def open(self):
        return self.filter(status=Offer.Status.OPEN)


class Offer(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Awaiting reply"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        RETRACTED = "retracted", "Retracted"

    # An offer with no reply after this many working days is flagged on the pipeline.
    REPLY_WORKING_DAYS = 10

    request = models.ForeignKey(SupportRequest, on_delete=models.CASCADE, related_name="offers")
    lead_organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="offers",
        limit_choices_to={"kind__in": Organisation.LEAD_KINDS},
    )
    proposed_lead = models.ForeignKey(
        SystemLeaderProfile,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="proposed_offers",
    )
    days = models.DecimalField(
        max_digits=5,
        decimal_places=1,
        validators=[MinValueValidator(Decimal("0.5")), MaxValueValidator(Decimal("200"))],
    )
    start = models.DateField()
    end = models.DateField()
    message = models.TextField(blank=True, max_length=5000)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    response = models.TextField(blank=True, max_length=5000)
    offered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    offered_at = models.DateTimeField(auto_now_add=True)
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    responded_at = models.DateTimeField(null=True, blank=True)

    objects = OfferQuerySet.as_manager()

    class Meta:
        ordering = ["-offered_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["request"], condition=Q(status="open"), name="one_open_offer_per_request"
            ),
            models.CheckConstraint(condition=Q(end__gte=models.F("start")), name="offer_dates"),
        ]

    def __str__(self):
        return f"Offer of {self.request} to {self.lead_organisation}"

    def get_absolute_url(self):
        return reverse("brokerage:offer_detail", args=[self.pk])

    def reply_due(self) -> datetime.date:
        # The day it was offered in the hub's time zone: offered_at is stored in UTC.
        return add_working_days(timezone.localdate(self.offered_at), self.REPLY_WORKING_DAYS)

    def is_overdue(self, today: datetime.date) -> bool:
        return self.status == self.Status.OPEN and today > self.reply_due()


def add_working_days(day: datetime.date, count: int) -> datetime.date:
    """The day ``count`` working days (Monday to Friday) after ``day``. Bank holidays are
    not counted out."""
    while count > 0:
        day += datetime.timedelta(days=1)
        if day.weekday() < 5:
            count -= 1
    return day


# -------------------------------------------------------------------- commissions


class CommissionQuerySet(models.QuerySet):
    @staticmethod
    def _working_access(user) -> Q:
        return (
            Q(request__hub_id__in=user.organisation_ids_for(*HUB_ROLES))
            | Q(lead_organisation_id__in=user.organisation_ids_for(Role.TRUST_LEAD))
            | Q(request__school_id__in=user.organisation_ids_for(Role.SCHOOL_CONTACT))
            | Q(pk__in=CommissionLeader.objects.filter(leader__user=user).values("commission"))
        )

    def exclude_funder_access(self, user):
        """Commissions the user sees through their work on them, not only as a funder."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self.all()
        return self.filter(self._working_access(user))

    def visible_to(self, user):
        """Hub staff, the lead organisation's trust leads, the leaders deployed on it, the
        supported school's contacts and the funders whose money it uses."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self.all()
        q = self._working_access(user)
        funders = user.organisation_ids_for(Role.FUNDER_VIEWER)
        if funders:
            q |= Q(
                pk__in=FundingAllocation.objects.filter(stream__funder_id__in=funders).values(
                    "commission"
                )
            )
        return self.filter(q)


class Commission(models.Model):
    """Funded support: the lead organisation, its leaders, days, money and reporting."""

    request = models.OneToOneField(
        SupportRequest, on_delete=models.PROTECT, related_name="commission"
    )
    offer = models.OneToOneField(Offer, on_delete=models.PROTECT, related_name="commission")
    lead_organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="commissions"
    )
    days_allocated = models.DecimalField(
        max_digits=5,
        decimal_places=1,
        validators=[MinValueValidator(Decimal("0.5")), MaxValueValidator(Decimal("200"))],
    )
    start = models.DateField()
    end = models.DateField()
    grant_conditions = models.TextField(blank=True, max_length=10000)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    objects = CommissionQuerySet.as_manager()

    class Meta:
        ordering = ["-start", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gte=models.F("start")), name="commission_dates"
            ),
        ]

    def __str__(self):
        return f"Commission: {self.request}"

    def get_absolute_url(self):
        return reverse("brokerage:commission_detail", args=[self.pk])

    @property
    def lead(self) -> CommissionLeader | None:
        return next(
            (cl for cl in self.leaders.all() if cl.role == CommissionLeader.Role.LEAD), None
        )

    @property
    def academic_year(self) -> str:
        return academic_year_of(self.start)


class CommissionLeader(models.Model):
    """A system leader deployed on a commission, with their days and release agreed."""

    class Role(models.TextChoices):
        LEAD = "lead", "Lead System Leader"
        SUPPORTING = "supporting", "Supporting leader"

    commission = models.ForeignKey(Commission, on_delete=models.CASCADE, related_name="leaders")
    leader = models.ForeignKey(
        SystemLeaderProfile, on_delete=models.PROTECT, related_name="commission_roles"
    )
    role = models.CharField(max_length=10, choices=Role.choices)
    days = models.DecimalField(
        max_digits=5,
        decimal_places=1,
        validators=[MinValueValidator(Decimal("0.5")), MaxValueValidator(Decimal("200"))],
    )
    release_agreed = models.BooleanField(
        "home headteacher has agreed release",
        default=False,
    )

    class Meta:
        ordering = ["role", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["commission", "leader"], name="leader_once"),
            models.UniqueConstraint(
                fields=["commission"], condition=Q(role="lead"), name="one_lead_per_commission"
            ),
        ]

    def __str__(self):
        return f"{self.leader.user} ({self.get_role_display()})"


class FundingAllocation(models.Model):
    """Money from one stream for one commission. Carry-forward (money from an earlier
    academic year's stream) is marked so reports show it apart and in the total."""

    commission = models.ForeignKey(
        Commission, on_delete=models.CASCADE, related_name="allocations"
    )
    stream = models.ForeignKey(FundingStream, on_delete=models.PROTECT, related_name="allocations")
    amount = models.DecimalField(
        "amount (£)",
        **MONEY,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("10000000"))],
    )
    carry_forward = models.BooleanField(default=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["carry_forward", "stream__academic_year", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["commission", "stream"], name="allocation_once"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="allocation_positive"),
        ]

    def __str__(self):
        return f"£{self.amount} from {self.stream}"


class ReportingDeadline(models.Model):
    """When an interim or final impact report is due; the reporting app builds on these."""

    class Kind(models.TextChoices):
        INTERIM = "interim", "Interim report"
        FINAL = "final", "Final report"

    commission = models.ForeignKey(Commission, on_delete=models.CASCADE, related_name="deadlines")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    due = models.DateField()
    history = HistoricalRecords()

    class Meta:
        ordering = ["due", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["commission"], condition=Q(kind="final"), name="one_final_report"
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} due {self.due:%-d %b %Y}"
