"""Deployments, action plans and Records of Visit.

A deployment is a system leader's place on a commission. Brokerage creates those rows when a
trust accepts an offer (``brokerage.CommissionLeader``); ``Deployment`` here is the same row
seen from the field, with its visits and days used, so brokerage never needs to know about
this app.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q, Sum
from django.urls import reverse
from simple_history.models import HistoricalRecords

from brokerage.models import Commission, CommissionLeader
from trust.models import HUB_ROLES


class RAG(models.TextChoices):
    RED = "red", "Red: off track"
    AMBER = "amber", "Amber: some progress"
    GREEN = "green", "Green: on track"


# ------------------------------------------------------------------- deployments


class DeploymentQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Everyone who works on or with the commission (funders see money, not visits)."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self.all()
        return self.filter(commission__in=Commission.objects.exclude_funder_access(user))

    def active_on(self, day):
        return self.filter(commission__start__lte=day, commission__end__gte=day)

    def with_hours_used(self):
        # Correlated subqueries, not a join and an aggregate: an aggregate made the database
        # group every selected column of every deployment before it could sort and take a
        # page (180 ms of the deployment list at 20,000 visits; now only the page's rows).
        visits = Visit.objects.filter(deployment=models.OuterRef("pk")).order_by()
        return self.annotate(
            hours_used=models.functions.Coalesce(
                models.Subquery(
                    visits.values("deployment")
                    .annotate(total=Sum("duration_hours"))
                    .values("total")[:1]
                ),
                Decimal("0"),
                output_field=models.DecimalField(max_digits=8, decimal_places=2),
            ),
            last_visit=models.Subquery(visits.order_by("-date").values("date")[:1]),
        )


class Deployment(CommissionLeader):
    objects = DeploymentQuerySet.as_manager()

    class Meta:
        proxy = True

    def get_absolute_url(self):
        return reverse("deployments:deployment_detail", args=[self.pk])

    def days_used(self) -> Decimal:
        hours = getattr(self, "hours_used", None)
        if hours is None:
            hours = self.visits.aggregate(total=Sum("duration_hours"))["total"] or Decimal("0")
        return (Decimal(hours) / Decimal(str(settings.HOURS_PER_DAY))).quantize(Decimal("0.1"))

    @property
    def is_lead(self) -> bool:
        return self.role == CommissionLeader.Role.LEAD


# ------------------------------------------------------------------ action plans


class ActionPlan(models.Model):
    class Scope(models.TextChoices):
        SCHOOL = "school", "Whole school"
        SUBJECT = "subject", "Subject"
        FACULTY = "faculty", "Faculty"

    commission = models.OneToOneField(
        Commission, on_delete=models.CASCADE, related_name="action_plan"
    )
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.SCHOOL)
    scope_name = models.CharField(
        "subject or faculty",
        max_length=100,
        blank=True,
        help_text="Which subject or faculty, when the plan is not for the whole school.",
    )
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    def __str__(self):
        return f"Action plan: {self.commission.request.school}"

    def get_absolute_url(self):
        return reverse("deployments:plan_detail", args=[self.commission_id])


class ObjectiveQuerySet(models.QuerySet):
    def visible_to(self, user):
        if not user.is_authenticated or not user.is_active:
            return self.none()
        return self.filter(plan__commission__in=Commission.objects.exclude_funder_access(user))


class Objective(models.Model):
    plan = models.ForeignKey(ActionPlan, on_delete=models.CASCADE, related_name="objectives")
    title = models.CharField(max_length=200)
    success_criteria = models.TextField(max_length=5000)
    baseline = models.TextField(max_length=2000, blank=True)
    target = models.TextField(max_length=2000, blank=True)
    owner = models.CharField(max_length=150, blank=True, help_text="Who in the school owns it.")
    due = models.DateField(null=True, blank=True)
    rag = models.CharField("RAG", max_length=5, choices=RAG.choices, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    objects = ObjectiveQuerySet.as_manager()

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("deployments:objective_detail", args=[self.pk])


# ------------------------------------------------------------------------ visits


class VisitQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Who may see a visit: everyone who may see its commission, except that a visit
        flagged with a safeguarding concern is seen only by the hub, the commission's
        Lead System Leader and the leader who wrote it."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self.all()
        visible = self.filter(
            deployment__commission__in=Commission.objects.exclude_funder_access(user)
        )
        return visible.filter(Q(safeguarding_concern=False) | self._safeguarding_readers(user))

    @staticmethod
    def _safeguarding_readers(user) -> Q:
        hubs = user.organisation_ids_for(*HUB_ROLES)
        lead_of = CommissionLeader.objects.filter(
            leader__user=user, role=CommissionLeader.Role.LEAD
        ).values("commission")
        return (
            Q(deployment__commission__request__hub_id__in=hubs)
            | Q(deployment__commission__in=lead_of)
            | Q(recorded_by=user)
        )

    def safeguarding_readable_by(self, user):
        """Visits whose safeguarding detail the user may read, flagged or not: the hub's,
        those of commissions they lead as Lead System Leader, and their own records."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self.all()
        return self.filter(self._safeguarding_readers(user))


class Visit(models.Model):
    """A Record of Visit, filed by the system leader after a visit or call."""

    class Mode(models.TextChoices):
        IN_PERSON = "in_person", "In person"
        VIRTUAL = "virtual", "Video call"
        TELEPHONE = "telephone", "Telephone"

    class Response(models.TextChoices):
        AGREED = "agreed", "Agreed it is accurate"
        DISAGREED = "disagreed", "Disagreed"

    deployment = models.ForeignKey(Deployment, on_delete=models.PROTECT, related_name="visits")
    date = models.DateField()
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.IN_PERSON)
    duration_hours = models.DecimalField(
        "duration (hours)",
        max_digits=4,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.25")), MaxValueValidator(Decimal("12"))],
    )
    objectives = models.ManyToManyField(
        Objective, through="VisitObjective", related_name="visits", blank=True
    )
    summary = models.TextField(max_length=20000)
    next_steps = models.TextField(max_length=5000)
    people_met = models.CharField(max_length=500, blank=True)
    safeguarding_concern = models.BooleanField(default=False)
    safeguarding_alerted_at = models.DateTimeField(null=True, blank=True, editable=False)
    idempotency_key = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    payload_digest = models.CharField(max_length=64, editable=False)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)
    response = models.CharField(max_length=10, choices=Response.choices, blank=True)
    response_comment = models.TextField(max_length=5000, blank=True)
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    responded_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords(excluded_fields=["payload_digest"])

    objects = VisitQuerySet.as_manager()

    class Meta:
        ordering = ["-date", "-pk"]
        indexes = [
            models.Index(fields=["deployment", "-date"]),
            # The visit list reads newest first and stops at a page: with this index the
            # database walks visits in that order instead of sorting all of a hub's (on
            # PostgreSQL at 20,000 visits: 89 ms -> 2.5 ms for the page's query).
            models.Index(fields=["-date", "-id"], name="visit_newest_first"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(duration_hours__gt=0) & Q(duration_hours__lte=12),
                name="visit_duration_range",
            ),
        ]

    def __str__(self):
        return f"{self.get_mode_display()} visit on {self.date:%-d %b %Y}"

    def get_absolute_url(self):
        return reverse("deployments:visit_detail", args=[self.pk])

    @property
    def is_responded(self) -> bool:
        return bool(self.response)


class VisitObjective(models.Model):
    """An objective a visit addressed, with optional progress note and RAG."""

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="progress")
    objective = models.ForeignKey(Objective, on_delete=models.CASCADE, related_name="progress")
    note = models.TextField(max_length=2000, blank=True)
    rag = models.CharField("RAG", max_length=5, choices=RAG.choices, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["visit", "objective"], name="visit_objective_once"),
        ]

    def __str__(self):
        return f"{self.objective} on {self.visit}"


class PlannedVisit(models.Model):
    deployment = models.ForeignKey(
        Deployment, on_delete=models.CASCADE, related_name="planned_visits"
    )
    date = models.DateField()
    mode = models.CharField(
        max_length=10, choices=Visit.Mode.choices, default=Visit.Mode.IN_PERSON
    )
    visit = models.OneToOneField(
        Visit, on_delete=models.SET_NULL, null=True, blank=True, related_name="planned"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["date", "pk"]

    def __str__(self):
        return f"{self.get_mode_display()} visit planned for {self.date:%-d %b %Y}"
