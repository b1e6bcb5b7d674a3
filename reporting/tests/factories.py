"""Helpers for reporting tests: reports reached through the real services."""

from __future__ import annotations

import datetime
from decimal import Decimal

from brokerage.models import ReportingDeadline
from reporting import services
from reporting.models import ImpactReport

NARRATIVE = {
    "summary": "Year 6 reading fluency rose from 62% to 78%.",
    "evidence": "Termly fluency checks; lesson observations with the English lead.",
    "barriers": "Staff absence in November delayed the second cycle.",
    "next_steps": "Embed daily fluency practice in Year 5.",
    "sustainability": "The English lead now coaches two colleagues.",
}


def deadline_of(commission, kind=ReportingDeadline.Kind.INTERIM) -> ReportingDeadline:
    deadline = commission.deadlines.filter(kind=kind).order_by("due").first()
    if deadline is None:
        deadline = ReportingDeadline.objects.create(
            commission=commission, kind=kind, due=commission.end + datetime.timedelta(days=28)
        )
    return deadline


def drafted_report(commission, author, kind=ReportingDeadline.Kind.INTERIM, **narrative):
    report = services.report_start(deadline=deadline_of(commission, kind), actor=author)
    return services.report_save(report=report, actor=author, **{**NARRATIVE, **narrative})


def submitted_report(commission, author, trust_lead, **kw) -> ImpactReport:
    report = drafted_report(commission, author, **kw)
    return services.report_submit(report=report, actor=trust_lead)


def approved_report(commission, author, trust_lead, qa_lead, **kw) -> ImpactReport:
    report = submitted_report(commission, author, trust_lead, **kw)
    return services.report_approve(
        report=report, actor=qa_lead, impact="strong", value_for_money="good", comments="Clear."
    )


def money(value: str) -> Decimal:
    return Decimal(value)
