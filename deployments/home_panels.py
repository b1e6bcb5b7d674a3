"""What deployments add to the system leader's home page."""

from django.utils import timezone

from trust import home
from trust.models import Role

from .selectors import leader_deployments


def leader_panel(user):
    today = timezone.localdate()
    return {"deployments": leader_deployments(user=user, today=today), "today": today}


def register():
    home.register(Role.SYSTEM_LEADER, "deployments/panels/leader.html", leader_panel, order=5)
