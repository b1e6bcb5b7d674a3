from .models import BROKER_ROLES, HUB_ROLES, Role
from .selectors import role_homes


def roles(request):
    """The home pages the signed-in user can switch between, for the header."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    roles = user.roles
    return {
        "role_homes": role_homes(user),
        "can_broker": bool(roles & BROKER_ROLES),
        "is_hub_staff": bool(roles & HUB_ROLES),
        "is_trust_lead": Role.TRUST_LEAD in roles,
        "is_funder": Role.FUNDER_VIEWER in roles,
        # Who works on commissions, so has deployments and visits to look through.
        "works_on_commissions": bool(
            roles & (HUB_ROLES | {Role.TRUST_LEAD, Role.SYSTEM_LEADER, Role.SCHOOL_CONTACT})
        ),
        # Who writes, submits or reviews impact reports.
        "follows_reports": bool(roles & (HUB_ROLES | {Role.TRUST_LEAD, Role.SYSTEM_LEADER})),
    }
