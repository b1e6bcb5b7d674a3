"""Demo spend and impact reports in every state, through the real services. Idempotent: a
commission with spend keeps it, and a deadline with a report keeps that report.

The two 2020-21 commissions have their reports approved (PDFs to download); the current
ones have one each of submitted, returned, draft and not started.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.utils import timezone

from brokerage.models import Commission, ReportingDeadline
from trust.models import Role, User

from . import services
from .models import ImpactReport, SpendLine
from .reminders import reminders_run

NARRATIVE = {
    "summary": (
        "Leaders now check the quality of teaching against shared expectations, and pupils' "
        "work shows the change: retrieval practice is routine in most lessons."
    ),
    "evidence": (
        "Joint learning walks each half-term; work scrutiny of 30 books; the school's own "
        "assessment data at the end of each term; pupil voice with year 5 and 6."
    ),
    "barriers": "Staff absence in the spring term delayed the second coaching cycle.",
    "next_steps": "Subject leaders lead the learning walks; the hub checks in once a term.",
    "sustainability": (
        "The deputy headteacher now coaches two middle leaders, and the expectations are "
        "written into the school's monitoring calendar."
    ),
}
RETURN_COMMENT = (
    "Please add the end-of-term assessment figures to the evidence, and say how the "
    "carry-forward money was used."
)


def _trust_lead(commission: Commission) -> User:
    return (
        User.objects.filter(
            memberships__organisation=commission.lead_organisation,
            memberships__role=Role.TRUST_LEAD,
        )
        .order_by("pk")
        .first()
    )


def _spend(commission: Commission, coordinator: User, today: datetime.date) -> int:
    made = 0
    if SpendLine.objects.filter(allocation__commission=commission).exists():
        return 0
    last = min(today, commission.end)
    for allocation in commission.allocations.order_by("pk"):
        for share, what, fraction in ((1, "Supply cover for release", "0.35"),
                                      (2, "Training materials and venue", "0.15")):  # fmt: skip
            span = max((last - commission.start).days, 0)
            day = commission.start + datetime.timedelta(days=span * share // 3)
            services.spend_add(
                allocation=allocation,
                actor=coordinator,
                date=min(day, today),
                amount=(allocation.amount * Decimal(fraction)).quantize(Decimal("0.01")),
                description=what,
                today=today,
            )
            made += 1
    return made


def _report(deadline, state, author, trust_lead, qa) -> bool:
    if ImpactReport.objects.filter(deadline=deadline).exists() or state == "not_started":
        return False
    report = services.report_start(deadline=deadline, actor=author)
    report = services.report_save(report=report, actor=author, **NARRATIVE)
    if state == "draft":
        return True
    report = services.report_submit(report=report, actor=trust_lead)
    if state == "submitted":
        return True
    if state == "returned":
        services.report_return(report=report, actor=qa, comments=RETURN_COMMENT)
        return True
    services.report_approve(
        report=report,
        actor=qa,
        impact="strong" if deadline.kind == ReportingDeadline.Kind.FINAL else "some",
        value_for_money="good",
        comments="Clear evidence of impact; spending matches the plan.",
    )
    return True


def seed() -> list[str]:
    today = timezone.localdate()
    coordinator = User.objects.get(email="coordinator@demo.test")
    qa = User.objects.get(email="qa@demo.test")
    # What each demo commission's reports show, newest commission first in creation order.
    plans = {
        "Maths leadership across KS2": {"interim": "returned"},
        "SEND provision and EHCP quality": {"interim": "submitted"},
        "Science curriculum in KS3": {"interim": "draft"},
        "Governing board review": {},
        "Behaviour and attendance recovery": {"interim": "approved", "final": "submitted"},
        "New headteacher induction": {"interim": "approved", "final": "approved"},
    }
    spent = reports = 0
    commissions = Commission.objects.select_related("request", "lead_organisation")
    for commission in commissions.order_by("pk"):
        spent += _spend(commission, coordinator, today)
        plan = plans.get(commission.request.title, {})
        lead = commission.leaders.filter(role="lead").select_related("leader__user").first()
        trust_lead = _trust_lead(commission)
        if not (lead and trust_lead):
            continue
        for deadline in commission.deadlines.order_by("due"):
            state = plan.get(deadline.kind, "not_started")
            reports += _report(deadline, state, lead.leader.user, trust_lead, qa)
    # Today's reminders, so the demo accounts have notifications (emails go to the console).
    sent = reminders_run(today)
    return [
        f"Reporting: {spent} spend lines, {reports} new impact reports, "
        f"{sent.claimed} new reminders."
    ]
