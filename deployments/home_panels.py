"""What deployments add to the system leader's home page."""

import datetime

from django.utils import timezone

from trust import home
from trust.models import HUB_ROLES, Role

from .models import Visit
from .selectors import leader_deployments, visit_list_for


def leader_panel(user):
    today = timezone.localdate()
    return {"deployments": leader_deployments(user=user, today=today), "today": today}


def hub_panel(user):
    """What the hub must follow up: records a school disputed, and safeguarding flags."""
    since = timezone.localdate() - datetime.timedelta(days=60)
    visits = visit_list_for(user=user).filter(
        deployment__commission__request__hub_id__in=user.organisation_ids_for(*HUB_ROLES),
        date__gte=since,
    )
    return {
        "disputed": visits.filter(response=Visit.Response.DISAGREED)[:10],
        "safeguarding": visits.filter(safeguarding_concern=True)[:10],
    }


def register():
    home.register(Role.SYSTEM_LEADER, "deployments/panels/leader.html", leader_panel, order=5)
    home.register(Role.HUB_COORDINATOR, "deployments/panels/hub.html", hub_panel, order=20)
    home.register(Role.QA_LEAD, "deployments/panels/hub.html", hub_panel, order=20)
