"""What reporting adds to the home pages: the reports each role has to act on."""

from django.db.models import Q
from django.utils import timezone

from trust import home
from trust.models import HUB_ROLES, Role

from .models import ImpactReport
from .selectors import deadline_list_for

WAITING = ("draft", "returned")


def _deadlines(user):
    return deadline_list_for(user=user, today=timezone.localdate())


def hub_panel(user):
    """Overdue reports, and (for the QA lead) what is waiting for review."""
    hubs = user.organisation_ids_for(*HUB_ROLES)
    deadlines = _deadlines(user).filter(commission__request__hub_id__in=hubs)
    return {
        "title": "Reports overdue",
        "rows": list(deadlines.filter(is_overdue=1)[:10]),
        "empty": "No report is overdue.",
    }


def qa_panel(user):
    hubs = user.organisation_ids_for(Role.QA_LEAD)
    waiting = (
        _deadlines(user)
        .filter(commission__request__hub_id__in=hubs, report__status=ImpactReport.Status.SUBMITTED)
        .order_by("report__submitted_at")
    )
    return {
        "title": "Reports waiting for your review",
        "rows": list(waiting[:10]),
        "empty": "Nothing is waiting for review.",
    }


def trust_panel(user):
    trusts = user.organisation_ids_for(Role.TRUST_LEAD)
    deadlines = _deadlines(user).filter(commission__lead_organisation_id__in=trusts)
    return {
        "title": "Your reports",
        "rows": list(deadlines.exclude(report__status="approved")[:10]),
        "empty": "No report is due.",
    }


def leader_panel(user):
    deadlines = _deadlines(user).filter(
        commission__leaders__leader__user=user, commission__leaders__role="lead"
    )
    to_write = deadlines.filter(Q(report__isnull=True) | Q(report__status__in=WAITING))
    return {"title": "Reports to write", "rows": list(to_write[:5]), "empty": "None due."}


def register():
    home.register(Role.QA_LEAD, "reporting/panels/reports.html", qa_panel, order=15)
    home.register(Role.HUB_COORDINATOR, "reporting/panels/reports.html", hub_panel, order=15)
    home.register(Role.TRUST_LEAD, "reporting/panels/reports.html", trust_panel, order=15)
    home.register(Role.SYSTEM_LEADER, "reporting/panels/reports.html", leader_panel, order=8)
