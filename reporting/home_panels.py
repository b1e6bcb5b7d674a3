"""What reporting adds to the home pages: for each role, the reports overdue and the ones
due next, so nobody has to open the report list to see what needs doing.

Each panel runs a fixed number of queries however many reports there are, fetching one row
more than it shows per section to know whether to say "and more".
"""

import datetime

from django.db.models import F, Q, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from brokerage.models import add_working_days
from trust import home
from trust.models import HUB_ROLES, Role

from .models import ImpactReport
from .reminders import QA_WORKING_DAYS
from .selectors import deadline_list_for

WAITING = ("draft", "returned")
# "Due next" looks this far ahead.
DUE_NEXT_DAYS = 30
SHOWN = 10
# A report still to write or finish: not started, in draft, or returned by QA.
TO_DO = Q(report__isnull=True) | Q(report__status__in=WAITING)


def _section(heading: str, queryset, empty: str, limit: int = SHOWN) -> dict:
    rows = list(queryset[: limit + 1])
    return {"heading": heading, "rows": rows[:limit], "more": len(rows) > limit, "empty": empty}


def _overdue_and_due_next(deadlines, today: datetime.date, limit: int = SHOWN) -> list[dict]:
    """Both sections from one query: each row is numbered within its section (overdue, or
    due in the coming days) and only the first ``limit + 1`` of each are fetched."""
    soon = today + datetime.timedelta(days=DUE_NEXT_DAYS)
    rows = list(
        deadlines.filter(Q(is_overdue=1) | (TO_DO & Q(due__gte=today, due__lte=soon)))
        .annotate(
            place=Window(RowNumber(), partition_by=[F("is_overdue")], order_by=[F("due"), F("pk")])
        )
        .filter(place__lte=limit + 1)
        .order_by("-is_overdue", "due", "pk")
    )
    overdue = [d for d in rows if d.is_overdue]
    due_next = [d for d in rows if not d.is_overdue]
    return [
        {
            "heading": "Reports overdue",
            "rows": overdue[:limit],
            "more": len(overdue) > limit,
            "empty": "No report is overdue.",
        },
        {
            "heading": f"Due in the next {DUE_NEXT_DAYS} days",
            "rows": due_next[:limit],
            "more": len(due_next) > limit,
            "empty": f"No report is due in the next {DUE_NEXT_DAYS} days.",
        },
    ]


def hub_panel(user):
    """The hub's reports overdue and due next (for the coordinator and the QA lead)."""
    today = timezone.localdate()
    hubs = user.organisation_ids_for(*HUB_ROLES)
    deadlines = deadline_list_for(user=user, today=today).filter(
        commission__request__hub_id__in=hubs
    )
    return {"title": "Hub reports", "sections": _overdue_and_due_next(deadlines, today)}


def qa_panel(user):
    """Reports waiting for the QA lead, those waiting longer than the reminder allows first.
    Nothing for hub staff who do not review."""
    hubs = user.organisation_ids_for(Role.QA_LEAD)
    if not hubs:
        return {}
    today = timezone.localdate()
    rows = list(
        deadline_list_for(user=user, today=today)
        .filter(commission__request__hub_id__in=hubs, report__status=ImpactReport.Status.SUBMITTED)
        .order_by("report__submitted_at", "pk")[: SHOWN + 1]
    )
    more, rows = len(rows) > SHOWN, rows[:SHOWN]
    late = [
        d
        for d in rows
        if today > add_working_days(timezone.localdate(d.report.submitted_at), QA_WORKING_DAYS)
    ]
    waiting = [d for d in rows if d not in late]
    return {
        "title": "Reports waiting for your review",
        "sections": [
            {
                "heading": f"Waiting more than {QA_WORKING_DAYS} working days",
                "rows": late,
                "more": more and not waiting,
                "empty": "No review is overdue.",
            },
            {
                "heading": "To review next",
                "rows": waiting,
                "more": more and bool(waiting),
                "empty": "Nothing else is waiting for review.",
            },
        ],
    }


def trust_panel(user):
    today = timezone.localdate()
    trusts = user.organisation_ids_for(Role.TRUST_LEAD)
    deadlines = deadline_list_for(user=user, today=today).filter(
        commission__lead_organisation_id__in=trusts
    )
    submitted = deadlines.filter(report__status=ImpactReport.Status.SUBMITTED).order_by(
        "report__submitted_at", "pk"
    )
    return {
        "title": "Your reports",
        "sections": [
            *_overdue_and_due_next(deadlines, today),
            _section("With the hub for review", submitted, "None with the hub."),
        ],
    }


def leader_panel(user):
    today = timezone.localdate()
    deadlines = deadline_list_for(user=user, today=today).filter(
        commission__leaders__leader__user=user, commission__leaders__role="lead"
    )
    return {"title": "Reports to write", "sections": _overdue_and_due_next(deadlines, today, 5)}


def register():
    home.register(Role.QA_LEAD, "reporting/panels/reports.html", qa_panel, order=15)
    # The same panel for both hub roles: a QA lead's home shows it once.
    home.register(Role.HUB_COORDINATOR, "reporting/panels/reports.html", hub_panel, order=16)
    home.register(Role.QA_LEAD, "reporting/panels/reports.html", hub_panel, order=16)
    home.register(Role.TRUST_LEAD, "reporting/panels/reports.html", trust_panel, order=15)
    home.register(Role.SYSTEM_LEADER, "reporting/panels/reports.html", leader_panel, order=8)
