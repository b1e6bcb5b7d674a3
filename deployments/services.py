"""Writes for deployments: action plans, objectives, Records of Visit and responses."""

from __future__ import annotations

import datetime
import hashlib
import json
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from brokerage.models import Commission, CommissionLeader
from config.celery import enqueue
from trust.models import Role, User

from .models import RAG, ActionPlan, Objective, PlannedVisit, Visit, VisitObjective


class IdempotencyConflict(Exception):
    """The same idempotency key was sent with a different visit: refuse, never merge."""


# ------------------------------------------------------------------ who may do what


def is_deployed_leader(user: User, deployment: CommissionLeader) -> bool:
    return deployment.leader.user_id == user.pk


def may_edit_plan(user: User, commission: Commission) -> bool:
    """The Lead System Leader and the lead organisation's trust lead keep the plan."""
    if commission.lead_organisation_id in user.organisation_ids_for(Role.TRUST_LEAD):
        return True
    return CommissionLeader.objects.filter(
        commission=commission, leader__user=user, role=CommissionLeader.Role.LEAD
    ).exists()


def _require_plan_editor(user: User, commission: Commission) -> None:
    if not may_edit_plan(user, commission):
        raise ValidationError(
            "Only the Lead System Leader and the lead trust can change the action plan."
        )


# ----------------------------------------------------------------- action plans


@transaction.atomic
def plan_save(*, commission: Commission, actor: User, scope: str, scope_name: str) -> ActionPlan:
    _require_plan_editor(actor, commission)
    plan = ActionPlan.objects.filter(commission=commission).first()
    plan = plan or ActionPlan(commission=commission)
    if scope != ActionPlan.Scope.SCHOOL and not scope_name.strip():
        raise ValidationError({"scope_name": "Name the subject or faculty the plan is for."})
    plan.scope = scope
    plan.scope_name = scope_name.strip() if scope != ActionPlan.Scope.SCHOOL else ""
    plan._history_user = actor
    plan.full_clean()
    plan.save()
    return plan


OBJECTIVE_FIELDS = ["title", "success_criteria", "baseline", "target", "owner", "due", "rag"]


@transaction.atomic
def objective_save(
    *, commission: Commission, actor: User, objective: Objective | None = None, **fields
) -> Objective:
    """Add an objective to the commission's plan, or change one; history keeps every
    version with who changed it."""
    _require_plan_editor(actor, commission)
    plan = ActionPlan.objects.filter(commission=commission).first()
    if plan is None:
        # Created here with its author, so the plan's history says who started it.
        plan = ActionPlan(commission=commission)
        plan._history_user = actor
        plan.save()
    if objective is None:
        objective = Objective(plan=plan, position=plan.objectives.count())
    elif objective.plan_id != plan.pk:
        raise ValidationError("That objective belongs to another plan.")
    for name in OBJECTIVE_FIELDS:
        setattr(objective, name, fields[name])
    objective._history_user = actor
    objective.full_clean()
    objective.save()
    return objective


# ------------------------------------------------------------------------ visits


@dataclass(frozen=True)
class VisitInput:
    date: datetime.date
    mode: str
    duration_hours: Decimal
    objective_ids: tuple[int, ...]
    summary: str
    next_steps: str
    people_met: str = ""
    safeguarding_concern: bool = False
    progress: tuple[tuple[int, str, str], ...] = ()  # (objective id, note, rag)

    def digest(self) -> str:
        """A fingerprint of what was sent, to tell a retry from a different visit."""
        payload = {
            "date": self.date.isoformat(),
            "mode": self.mode,
            "duration_hours": f"{Decimal(self.duration_hours).normalize():f}",
            "objective_ids": sorted(self.objective_ids),
            "summary": self.summary,
            "next_steps": self.next_steps,
            "people_met": self.people_met,
            "safeguarding_concern": self.safeguarding_concern,
            "progress": sorted([list(p) for p in self.progress if p[1] or p[2]]),
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _check_visit(deployment: CommissionLeader, data: VisitInput, today: datetime.date):
    commission = deployment.commission
    errors = {}
    if data.date > today:
        errors["date"] = "A visit is recorded once it has happened; plan future visits instead."
    elif data.date < commission.start:
        errors["date"] = f"The support started on {commission.start:%-d %B %Y}."
    if not Decimal("0") < Decimal(data.duration_hours) <= Decimal("12"):
        errors["duration_hours"] = "A visit lasts more than 0 and at most 12 hours."
    if data.mode not in Visit.Mode.values:
        errors["mode"] = "Choose in person, video call or telephone."
    plan_objectives = set(
        Objective.objects.filter(plan__commission=commission).values_list("pk", flat=True)
    )
    if not set(data.objective_ids) <= plan_objectives:
        errors["objectives"] = "Choose objectives from this commission's action plan."
    for objective_id, _, rag in data.progress:
        if objective_id not in plan_objectives or (rag and rag not in RAG.values):
            errors["objectives"] = "Progress can be given only for this plan's objectives."
    if errors:
        raise ValidationError(errors)


def _apply_progress(visit: Visit, data: VisitInput, actor: User) -> None:
    visit.progress.all().delete()
    notes = {objective_id: (note, rag) for objective_id, note, rag in data.progress}
    rows = []
    for objective_id in sorted(set(data.objective_ids) | set(notes)):
        note, rag = notes.get(objective_id, ("", ""))
        rows.append(VisitObjective(visit=visit, objective_id=objective_id, note=note, rag=rag))
    VisitObjective.objects.bulk_create(rows)
    # The latest-dated visit's RAG is the objective's current RAG (a back-dated record does
    # not overwrite a newer judgement); history records the change.
    rated = [r.objective_id for r in rows if r.rag]
    newer = set(
        VisitObjective.objects.filter(objective_id__in=rated, visit__date__gt=visit.date)
        .exclude(rag="")
        .values_list("objective_id", flat=True)
    )
    for objective in Objective.objects.filter(pk__in=set(rated) - newer):
        rag = notes[objective.pk][1]
        if objective.rag != rag:
            objective.rag = rag
            objective._history_user = actor
            objective.save(update_fields=["rag"])


def visit_record(
    *,
    deployment: CommissionLeader,
    actor: User,
    key: uuid.UUID,
    data: VisitInput,
    today: datetime.date | None = None,
) -> tuple[Visit, bool]:
    """Save a Record of Visit once. The same key sent again returns the visit already saved
    (``created`` False); the same key with a different visit raises IdempotencyConflict."""
    today = today or timezone.localdate()
    if not is_deployed_leader(actor, deployment):
        raise ValidationError("Only the leader on this deployment can record its visits.")
    digest = data.digest()
    existing = Visit.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return _replayed(existing, deployment, digest), False
    _check_visit(deployment, data, today)
    try:
        with transaction.atomic():
            visit = Visit(
                deployment_id=deployment.pk,
                date=data.date,
                mode=data.mode,
                duration_hours=data.duration_hours,
                summary=data.summary,
                next_steps=data.next_steps,
                people_met=data.people_met,
                safeguarding_concern=data.safeguarding_concern,
                idempotency_key=key,
                payload_digest=digest,
                recorded_by=actor,
            )
            visit._history_user = actor
            visit.full_clean(exclude=["idempotency_key"])
            visit.save()
            _apply_progress(visit, data, actor)
            planned = (
                PlannedVisit.objects.select_for_update()
                .filter(deployment_id=deployment.pk, visit__isnull=True, date__lte=data.date)
                .order_by("date")
                .first()
            )
            if planned:
                planned.visit = visit
                planned.save(update_fields=["visit"])
            if visit.safeguarding_concern:
                from .tasks import safeguarding_alert_task

                transaction.on_commit(lambda: enqueue(safeguarding_alert_task, visit.pk))
    except IntegrityError:
        # Another request with the same key got there first (a double tap, a retry).
        existing = Visit.objects.filter(idempotency_key=key).first()
        if existing is None:
            raise
        return _replayed(existing, deployment, digest), False
    return visit, True


def _replayed(existing: Visit, deployment: CommissionLeader, digest: str) -> Visit:
    if existing.deployment_id != deployment.pk or existing.payload_digest != digest:
        raise IdempotencyConflict(
            "This visit was already sent with different details. Reload the page to start a "
            "new record."
        )
    return existing


@transaction.atomic
def visit_update(*, visit: Visit, actor: User, data: VisitInput, today=None) -> Visit:
    """The leader corrects their record until the school has responded to it."""
    visit = Visit.objects.select_for_update().select_related("deployment").get(pk=visit.pk)
    if visit.recorded_by_id != actor.pk:
        raise ValidationError("Only the leader who recorded this visit can change it.")
    if visit.is_responded:
        raise ValidationError(
            "The school has responded to this record, so it can no longer be changed."
        )
    _check_visit(visit.deployment, data, today or timezone.localdate())
    alert = data.safeguarding_concern and not visit.safeguarding_concern
    for name in [
        "date",
        "mode",
        "duration_hours",
        "summary",
        "next_steps",
        "people_met",
        "safeguarding_concern",
    ]:
        setattr(visit, name, getattr(data, name))
    visit.payload_digest = data.digest()
    visit._history_user = actor
    visit.full_clean(exclude=["idempotency_key"])
    visit.save()
    _apply_progress(visit, data, actor)
    if alert:
        from .tasks import safeguarding_alert_task

        transaction.on_commit(lambda: enqueue(safeguarding_alert_task, visit.pk))
    return visit


@transaction.atomic
def visit_respond(*, visit: Visit, actor: User, agreed: bool, comment: str = "") -> Visit:
    """The supported school says whether the record is accurate, once."""
    visit = (
        Visit.objects.select_for_update()
        .select_related("deployment__commission__request")
        .get(pk=visit.pk)
    )
    school_id = visit.deployment.commission.request.school_id
    if school_id not in actor.organisation_ids_for(Role.SCHOOL_CONTACT):
        raise ValidationError("Only the supported school can respond to this record.")
    if visit.is_responded:
        raise ValidationError("The school has already responded to this record.")
    comment = comment.strip()
    if not agreed and not comment:
        raise ValidationError({"comment": "Say what is not accurate, so the hub can follow up."})
    visit.response = Visit.Response.AGREED if agreed else Visit.Response.DISAGREED
    visit.response_comment = comment
    visit.responded_by = actor
    visit.responded_at = timezone.now()
    visit._history_user = actor
    visit.save(update_fields=["response", "response_comment", "responded_by", "responded_at"])
    return visit


@transaction.atomic
def visit_plan(
    *, deployment: CommissionLeader, actor: User, date: datetime.date, mode: str, today=None
) -> PlannedVisit:
    today = today or timezone.localdate()
    if not is_deployed_leader(actor, deployment):
        raise ValidationError("Only the leader on this deployment can plan its visits.")
    if date < today:
        raise ValidationError({"date": "Plan a visit for today or later."})
    if date > deployment.commission.end + datetime.timedelta(days=30):
        raise ValidationError({"date": "That is after the support ends."})
    planned = PlannedVisit(deployment_id=deployment.pk, date=date, mode=mode)
    planned.full_clean(exclude=["visit"])
    planned.save()
    return planned


def safeguarding_alert_send(*, visit_id: int) -> int:
    """Email the hub coordinators that a visit flagged a safeguarding concern. The email
    names the school and links to the record; it does not carry the record itself."""
    from django.conf import settings
    from django.urls import reverse

    from trust.models import Membership

    # Claim the alert before sending, so overlapping deliveries of the task send it once.
    # The claim is a locked read and a save(), not a conditional UPDATE, so the visit's
    # history records when the hub was alerted (and a released claim).
    with transaction.atomic():
        visit = (
            Visit.objects.select_for_update(of=("self",))
            .select_related("deployment__commission__request__school", "recorded_by")
            .filter(pk=visit_id, safeguarding_alerted_at__isnull=True)
            .first()
        )
        if visit is None:
            return 0
        visit.safeguarding_alerted_at = timezone.now()
        visit.save(update_fields=["safeguarding_alerted_at"])
    request = visit.deployment.commission.request
    recipients = list(
        Membership.objects.filter(
            organisation_id=request.hub_id, role=Role.HUB_COORDINATOR, user__is_active=True
        ).values_list("user__email", flat=True)
    )
    if not recipients:
        return 0
    link = settings.SITE_URL.rstrip("/") + reverse("deployments:visit_detail", args=[visit.pk])
    try:
        return _send_alert(visit, request, recipients, link)
    except Exception:
        # Not sent: release the claim so the task's retry can send it.
        visit.safeguarding_alerted_at = None
        visit.save(update_fields=["safeguarding_alerted_at"])
        raise


def _send_alert(visit, request, recipients, link) -> int:
    from django.core.mail import send_mail

    return send_mail(
        subject=f"Safeguarding concern flagged: {request.school.name}",
        message=(
            f"{visit.recorded_by.full_name} flagged a safeguarding concern on the record of "
            f"their visit to {request.school.name} on {visit.date:%-d %B %Y}.\n\n"
            f"Read the record: {link}\n\n"
            "Follow your safeguarding procedures; this email does not contain the details."
        ),
        from_email=None,
        recipient_list=recipients,
    )
