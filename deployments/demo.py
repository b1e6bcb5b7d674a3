"""Demo action plans and visits for brokerage's demo commissions. Idempotent: a commission
that already has a plan is left as it is."""

from __future__ import annotations

import datetime
import random
import uuid
from decimal import Decimal

from django.utils import timezone

from brokerage.models import Commission

from . import services
from .models import RAG, ActionPlan, Visit

OBJECTIVES = [
    (
        "Leaders check the quality of teaching against agreed expectations",
        "Every subject leader completes two learning walks a half-term with written feedback.",
    ),
    (
        "Pupils read fluently by the end of year 2",
        "80% of pupils reach the expected standard in the phonics check.",
    ),
    (
        "Maths lessons build on what pupils already know",
        "Lesson visits show retrieval practice in nine of ten lessons.",
    ),
    (
        "Governors hold leaders to account",
        "Minutes show governors asking about the impact of spending.",
    ),
    (
        "Attendance of disadvantaged pupils improves",
        "Persistent absence falls from 24% to below 15%.",
    ),
    (
        "The SEND register is accurate and plans are reviewed",
        "Every pupil on the register has a plan reviewed this term.",
    ),
]
SUMMARIES = [
    "Walked lessons in KS2 with the deputy head; agreed three priorities for feedback.",
    "Met the English lead to review the phonics tracker; gaps in year 1 groupings.",
    "Video call with the head to plan the governors' session on outcomes.",
    "Observed two maths lessons; retrieval starters now routine, questioning less so.",
    "Phone call to agree the agenda for the next visit and the data we need.",
]


def seed() -> list[str]:
    today = timezone.localdate()
    rng = random.Random(7)  # nosec B311  # repeatable made-up demo data
    made_plans = made_visits = 0
    for commission in Commission.objects.select_related("request").order_by("pk"):
        if ActionPlan.objects.filter(commission=commission).exists():
            continue
        lead = commission.leaders.get(role="lead")
        lead_user = lead.leader.user
        services.plan_save(commission=commission, actor=lead_user, scope="school", scope_name="")
        count = rng.randint(3, 6)
        objectives = []
        for title, criteria in rng.sample(OBJECTIVES, count):
            objectives.append(
                services.objective_save(
                    commission=commission,
                    actor=lead_user,
                    title=title,
                    success_criteria=criteria,
                    baseline="Set at the first visit.",
                    target=criteria,
                    owner="Deputy headteacher",
                    due=commission.end,
                    rag=RAG.AMBER,
                )
            )
        made_plans += 1
        last = min(today, commission.end)
        span = max((last - commission.start).days, 1)
        for deployment in commission.leaders.all():
            for n in range(rng.randint(6, 12) if deployment.role == "lead" else rng.randint(4, 6)):
                day = commission.start + datetime.timedelta(days=rng.randint(0, span))
                if day > today:
                    continue
                covered = rng.sample(objectives, rng.randint(1, min(3, len(objectives))))
                visit, _ = services.visit_record(
                    deployment=deployment,
                    actor=deployment.leader.user,
                    key=uuid.uuid5(uuid.NAMESPACE_URL, f"demo-{deployment.pk}-{n}"),
                    data=services.VisitInput(
                        date=day,
                        mode=rng.choice(Visit.Mode.values),
                        duration_hours=Decimal(rng.choice(["1", "2", "3", "3.25", "6.5"])),
                        objective_ids=tuple(o.pk for o in covered),
                        summary=rng.choice(SUMMARIES),
                        next_steps="Follow up at the next visit.",
                        people_met="Headteacher, deputy headteacher",
                        progress=tuple((o.pk, "", rng.choice(RAG.values)) for o in covered[:1]),
                    ),
                    today=today,
                )
                made_visits += 1
                if n % 3 == 0:
                    contact = commission.request.school.memberships.filter(
                        role="school_contact"
                    ).first()
                    if contact and not visit.is_responded:
                        services.visit_respond(
                            visit=visit, actor=contact.user, agreed=n % 2 == 0,
                            comment="" if n % 2 == 0 else "The date of the follow-up is wrong.",
                        )  # fmt: skip
    return [f"Deployments: {made_plans} new action plans, {made_visits} visits."]
