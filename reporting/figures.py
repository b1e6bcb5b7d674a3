"""The figures of an impact report, computed from the records, never typed.

``compute(deadline)`` returns plain JSON (dates as ISO strings, money and days as decimal
strings) so the same structure is shown live on a draft, frozen into ``snapshot`` when the
report is submitted, and rendered into the PDF. Its query count does not depend on how many
objectives, visits or spend lines there are.

The period of an interim report runs from the day after the previous deadline (or the start
of the commission) to its due date; a final report covers the whole commission. Days and
money are counted up to the end of the period, both within it and to date.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from decimal import Decimal

from django.conf import settings
from django.db.models import Prefetch
from django.utils import timezone

from brokerage.models import CommissionLeader, FundingAllocation, ReportingDeadline
from deployments.models import RAG, Objective, Visit, VisitObjective

from .models import SpendLine

WITHHELD = "Withheld: this record raised a safeguarding concern and is held by the hub."
TWO = Decimal("0.01")
ONE = Decimal("0.1")


def _money(value: Decimal) -> str:
    return str(Decimal(value).quantize(TWO))


def _days(value: Decimal) -> str:
    return str(Decimal(value).quantize(ONE))


def period_of(deadline: ReportingDeadline) -> tuple[datetime.date, datetime.date]:
    commission = deadline.commission
    if deadline.kind == ReportingDeadline.Kind.FINAL:
        return commission.start, max(deadline.due, commission.start)
    earlier = (
        ReportingDeadline.objects.filter(commission=commission, due__lt=deadline.due)
        .order_by("-due")
        .values_list("due", flat=True)
        .first()
    )
    start = earlier + datetime.timedelta(days=1) if earlier else commission.start
    return start, max(deadline.due, start)


def _rag_as_of(history: list, moment: datetime.datetime) -> str:
    """The RAG an objective had at ``moment``; for one added later, the first RAG it had."""
    before = [row for row in history if row.history_date <= moment]
    if before:
        return before[-1].rag
    return history[0].rag if history else ""


def compute(deadline: ReportingDeadline, now: datetime.datetime | None = None) -> dict:
    now = now or timezone.now()
    commission = deadline.commission
    request = commission.request
    start, end = period_of(deadline)
    hours_per_day = Decimal(str(settings.HOURS_PER_DAY))

    leaders = list(
        CommissionLeader.objects.filter(commission=commission).select_related("leader__user")
    )
    lead = next((cl for cl in leaders if cl.role == CommissionLeader.Role.LEAD), None)

    # Visits up to the end of the period; the log shows those within it.
    visits = list(
        Visit.objects.filter(deployment__commission=commission, date__lte=end)
        .select_related("deployment__leader__user")
        .prefetch_related(
            Prefetch(
                "progress",
                queryset=VisitObjective.objects.order_by("objective__position", "objective_id"),
            )
        )
        .order_by("date", "pk")
    )
    in_period = [v for v in visits if v.date >= start]

    objectives = list(
        Objective.objects.filter(plan__commission=commission).order_by("position", "pk")
    )
    history = defaultdict(list)
    for row in Objective.history.filter(id__in=[o.pk for o in objectives]).order_by(
        "history_date", "history_id"
    ):
        history[row.id].append(row)
    period_start = timezone.make_aware(datetime.datetime.combine(start, datetime.time.min))

    addressed = defaultdict(list)
    for visit in in_period:
        for progress in visit.progress.all():
            addressed[progress.objective_id].append(
                {
                    "date": visit.date.isoformat(),
                    "mode": visit.get_mode_display(),
                    "note": "" if visit.safeguarding_concern else progress.note,
                    "rag": progress.rag,
                }
            )

    rag_labels = dict(RAG.choices)
    objective_rows = []
    for objective in objectives:
        rag_start = _rag_as_of(history[objective.pk], period_start)
        objective_rows.append(
            {
                "title": objective.title,
                "success_criteria": objective.success_criteria,
                "baseline": objective.baseline,
                "target": objective.target,
                "owner": objective.owner,
                "due": objective.due.isoformat() if objective.due else "",
                "rag_start": rag_start,
                "rag_start_label": rag_labels.get(rag_start, "Not rated"),
                "rag_now": objective.rag,
                "rag_now_label": rag_labels.get(objective.rag, "Not rated"),
                "visits": addressed[objective.pk],
            }
        )

    titles = {o.pk: o.title for o in objectives}
    visit_rows = []
    for visit in in_period:
        confidential = visit.safeguarding_concern
        visit_rows.append(
            {
                "date": visit.date.isoformat(),
                "mode": visit.get_mode_display(),
                "hours": str(visit.duration_hours.normalize()),
                "leader": str(visit.deployment.leader.user),
                "summary": WITHHELD if confidential else visit.summary,
                "next_steps": "" if confidential else visit.next_steps,
                "objectives": [titles[p.objective_id] for p in visit.progress.all()],
                "confidential": confidential,
            }
        )

    hours_period = sum((v.duration_hours for v in in_period), Decimal("0"))
    hours_to_date = sum((v.duration_hours for v in visits), Decimal("0"))
    days_used = hours_to_date / hours_per_day
    days = {
        "allocated": _days(commission.days_allocated),
        "used_in_period": _days(hours_period / hours_per_day),
        "used_to_date": _days(days_used),
        "remaining": _days(commission.days_allocated - days_used),
        "leaders": [
            {
                "name": str(cl.leader.user),
                "role": cl.get_role_display(),
                "allocated": _days(cl.days),
                "used_to_date": _days(
                    sum((v.duration_hours for v in visits if v.deployment_id == cl.pk), 0)
                    / hours_per_day
                ),
            }
            for cl in leaders
        ],
    }

    return {
        "kind": deadline.kind,
        "kind_label": deadline.get_kind_display(),
        "due": deadline.due.isoformat(),
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "computed_at": now.isoformat(),
        "commission": {
            "school": request.school.name,
            "urn": request.school.urn or "",
            "title": request.title,
            "lead_organisation": commission.lead_organisation.name,
            "lead_leader": str(lead.leader.user) if lead else "",
            "start": commission.start.isoformat(),
            "end": commission.end.isoformat(),
            "hub": request.hub.name,
        },
        "objectives": objective_rows,
        "visits": visit_rows,
        "days": days,
        "funding": funding_of(commission, start, end),
    }


def funding_of(commission, start: datetime.date, end: datetime.date) -> dict:
    """Allocated and spent per stream, carry-forward apart, and one combined total."""
    allocations = list(
        FundingAllocation.objects.filter(commission=commission)
        .select_related("stream__funder")
        .order_by("carry_forward", "stream__academic_year", "pk")
    )
    spent_to_date = defaultdict(Decimal)
    spent_in_period = defaultdict(Decimal)
    for line in SpendLine.objects.filter(allocation__commission=commission, date__lte=end):
        spent_to_date[line.allocation_id] += line.amount
        if line.date >= start:
            spent_in_period[line.allocation_id] += line.amount

    rows = []
    groups = {"carry_forward": defaultdict(Decimal), "new": defaultdict(Decimal)}
    for allocation in allocations:
        spent = spent_to_date[allocation.pk]
        row = {
            "stream": allocation.stream.name,
            "academic_year": allocation.stream.academic_year,
            "funder": allocation.stream.funder.name,
            "carry_forward": allocation.carry_forward,
            "allocated": allocation.amount,
            "spent_in_period": spent_in_period[allocation.pk],
            "spent": spent,
            "remaining": allocation.amount - spent,
        }
        group = groups["carry_forward" if allocation.carry_forward else "new"]
        for key in ("allocated", "spent_in_period", "spent", "remaining"):
            group[key] += row[key]
        rows.append(row)

    def money(values):
        keys = ("allocated", "spent_in_period", "spent", "remaining")
        return {key: _money(values[key]) for key in keys}

    total = defaultdict(Decimal)
    for group in groups.values():
        for key, value in group.items():
            total[key] += value
    return {
        "streams": [
            {**row, **money(row)}
            for row in rows  # money() turns the four amounts into strings
        ],
        "carry_forward": money(groups["carry_forward"]),
        "new": money(groups["new"]),
        "total": money(total),
        "has_carry_forward": any(a.carry_forward for a in allocations),
    }
