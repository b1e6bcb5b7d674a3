"""Home-page panels that later apps contribute, so that ``trust`` (which owns the home
pages) never imports them: dependencies point one way, trust ← brokerage ← deployments.

An app registers a panel in its ``AppConfig.ready``::

    home.register(Role.SCHOOL_CONTACT, "brokerage/panels/school.html", school_requests)

and the role's home page renders the template with ``panel`` set to what the function
returns for the signed-in user.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .models import User


@dataclass(frozen=True)
class Panel:
    template: str
    context: Callable[[User], dict]
    order: int


_PANELS: dict[str, list[Panel]] = {}


def register(role: str, template: str, context: Callable[[User], dict], order: int = 50):
    _PANELS.setdefault(role, []).append(Panel(template, context, order))


def panels_for(user: User, *roles: str) -> list[tuple[str, dict]]:
    panels = sorted(
        {p for role in roles for p in _PANELS.get(role, [])}, key=lambda p: (p.order, p.template)
    )
    return [(p.template, p.context(user)) for p in panels]
