from .models import BROKER_ROLES
from .selectors import role_homes


def roles(request):
    """The home pages the signed-in user can switch between, for the header."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "role_homes": role_homes(user),
        "can_broker": bool(user.roles & BROKER_ROLES),
    }
