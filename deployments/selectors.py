"""Reads for deployment screens, scoped, with their joins done."""

from __future__ import annotations

import datetime
from collections.abc import Callable

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404

from brokerage.models import Commission, CommissionLeader, ReportingDeadline
from trust.history import History, history_of
from trust.models import HUB_ROLES, User

from .models import ActionPlan, Deployment, Objective, PlannedVisit, Visit, VisitObjective


def deployment_list_for(*, user: User) -> QuerySet[Deployment]:
    return (
        Deployment.objects.visible_to(user)
        .select_related(
            "leader__user",
            "commission__request__school__cluster",
            "commission__lead_organisation",
        )
        .with_hours_used()
    )


def access_deployment(*, user: User, pk: int) -> Deployment:
    return get_object_or_404(deployment_list_for(user=user), pk=pk)


def leader_deployments(*, user: User, today: datetime.date):
    """A leader's active deployments with days used, last visit, next report due and
    planned visits now past without a record ("to log")."""
    upcoming = ReportingDeadline.objects.filter(due__gte=today).order_by("due")
    to_log = PlannedVisit.objects.filter(visit__isnull=True, date__lt=today)
    return (
        deployment_list_for(user=user)
        .filter(leader__user=user, commission__end__gte=today - datetime.timedelta(days=30))
        .prefetch_related(
            Prefetch("commission__deadlines", queryset=upcoming, to_attr="upcoming_deadlines"),
            Prefetch("planned_visits", queryset=to_log, to_attr="to_log"),
        )
        .order_by("commission__end", "pk")
    )


def visit_list_for(*, user: User) -> QuerySet[Visit]:
    return (
        Visit.objects.visible_to(user)
        .select_related(
            "deployment__leader__user", "deployment__commission__request__school", "recorded_by"
        )
        .prefetch_related(
            Prefetch("progress", queryset=VisitObjective.objects.select_related("objective"))
        )
    )


WITHHELD = "Withheld: this record raised a safeguarding concern and is held by the hub."


def visit_text_reader(user: User) -> Callable[[Visit], bool]:
    """Whether ``user`` may read what a visit says. A visit flagged with a safeguarding
    concern is read only by the commission's hub, its Lead System Leader and the leader who
    wrote it; anyone else who lists it (a site admin, say) sees its date and length only.
    One query, whatever the number of visits; the visits need their commission's request."""
    hubs = user.organisation_ids_for(*HUB_ROLES)
    leads = set(
        CommissionLeader.objects.filter(
            leader__user_id=user.pk, role=CommissionLeader.Role.LEAD
        ).values_list("commission_id", flat=True)
    )

    def may_read(visit: Visit) -> bool:
        commission = visit.deployment.commission
        return (
            not visit.safeguarding_concern
            or visit.recorded_by_id == user.pk
            or commission.request.hub_id in hubs
            or commission.pk in leads
        )

    return may_read


def access_visit(*, user: User, pk: int) -> Visit:
    return get_object_or_404(visit_list_for(user=user), pk=pk)


def access_plan_commission(*, user: User, pk: int) -> Commission:
    return get_object_or_404(
        Commission.objects.exclude_funder_access(user).select_related(
            "request__school", "lead_organisation"
        ),
        pk=pk,
    )


def plan_for(commission: Commission) -> ActionPlan | None:
    return ActionPlan.objects.filter(commission=commission).first()


def objectives_for(commission: Commission) -> QuerySet[Objective]:
    return Objective.objects.filter(plan__commission=commission)


def access_objective(*, user: User, pk: int) -> Objective:
    return get_object_or_404(
        Objective.objects.visible_to(user).select_related("plan__commission__request__school"),
        pk=pk,
    )


# --------------------------------------------------------------------- history

# What a leader writes about a visit: held back, with the flag itself, from anyone but the
# hub, the Lead System Leader and the author while (or from when) the visit was flagged.
VISIT_TEXT = ("summary", "next_steps", "people_met", "response_comment")


def plan_history(plan: ActionPlan) -> History:
    return history_of(plan.history.all(), hide=("commission",))


def objective_history(objective: Objective) -> History:
    return history_of(objective.history.all(), hide=("plan",))


def visit_history(visit: Visit, *, user: User) -> History:
    """The visit's changes. A reader without the right to safeguarding detail sees that
    text changed, not what it said, in any change made while the visit was flagged."""
    reader = Visit.objects.safeguarding_readable_by(user).filter(pk=visit.pk).exists()

    def flagged_text(record, previous):
        was_flagged = record.safeguarding_concern or (
            previous is not None and previous.safeguarding_concern
        )
        return VISIT_TEXT if was_flagged and not reader else ()

    return history_of(
        visit.history.all(),
        hide=("deployment", *(() if reader else ("safeguarding_concern",))),
        withhold=flagged_text,
    )
