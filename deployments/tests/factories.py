"""Helpers for deployment tests. Everything goes through the real services, so a test starts
from what users would have produced: a plan kept by the Lead System Leader, visits recorded
with fresh idempotency keys.
"""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

from django.utils import timezone

from brokerage.models import Commission, CommissionLeader
from brokerage.tests.factories import offer_via_services
from deployments import services
from deployments.models import Deployment, Objective, Visit
from trust.models import Organisation, User
from trust.tests.factories import SchoolFactory, system_leader

# The support began a term ago, so visits can be dated across the weeks since.
STARTED_DAYS_AGO = 90


def today() -> datetime.date:
    return timezone.localdate()


def days_ago(n: int) -> datetime.date:
    return today() - datetime.timedelta(days=n)


def started_offer(*, coordinator, request, trust, leader):
    """An offer for support that started ``STARTED_DAYS_AGO`` days ago and runs a term more."""
    return offer_via_services(
        coordinator=coordinator,
        request=request,
        trust=trust,
        leader=leader,
        start=days_ago(STARTED_DAYS_AGO),
        end=today() + datetime.timedelta(days=90),
    )


def lead_deployment(commission: Commission) -> Deployment:
    return Deployment.objects.get(commission=commission, role=CommissionLeader.Role.LEAD)


def add_supporting_leader(commission: Commission, trust: Organisation) -> Deployment:
    """A second leader from the lead trust, deployed to help the Lead System Leader."""
    profile = system_leader(
        SchoolFactory(hub=trust.hub, parent_trust=trust, name="Fieldhead Primary")
    )
    profile.user.full_name = "Priya Supporting"
    profile.user.save(update_fields=["full_name"])
    row = CommissionLeader.objects.create(
        commission=commission,
        leader=profile,
        role=CommissionLeader.Role.SUPPORTING,
        days=Decimal("2"),
        release_agreed=True,
    )
    return Deployment.objects.get(pk=row.pk)


def objective_fields(**overrides) -> dict:
    fields = {
        "title": "Raise Year 6 reading fluency",
        "success_criteria": "85% of pupils read at age-related fluency by the summer.",
        "baseline": "62% in September",
        "target": "85%",
        "owner": "English lead",
        "due": today() + datetime.timedelta(days=60),
        "rag": "",
    }
    fields.update(overrides)
    return fields


def add_objective(commission: Commission, actor: User, **overrides) -> Objective:
    return services.objective_save(
        commission=commission, actor=actor, objective=None, **objective_fields(**overrides)
    )


def visit_input(**overrides) -> services.VisitInput:
    fields = {
        "date": today(),
        "mode": Visit.Mode.IN_PERSON,
        "duration_hours": Decimal("3"),
        "objective_ids": (),
        "summary": "Observed three reading lessons and met the English lead.",
        "next_steps": "English lead to run a fluency check with Year 6.",
        "people_met": "Head, English lead",
        "safeguarding_concern": False,
        "progress": (),
    }
    fields.update(overrides)
    return services.VisitInput(**fields)


def record_visit(deployment: Deployment, actor: User | None = None, **overrides) -> Visit:
    """A visit recorded by the deployed leader (or ``actor``) with a fresh key."""
    visit, created = services.visit_record(
        deployment=deployment,
        actor=actor or deployment.leader.user,
        key=uuid.uuid4(),
        data=visit_input(**overrides),
    )
    assert created
    return visit


def visit_post(**overrides) -> dict:
    """The Record of Visit form as a phone would post it."""
    data = {
        "key": str(uuid.uuid4()),
        "date": today().isoformat(),
        "mode": "in_person",
        "duration": "3",
        "duration_other": "",
        "summary": "Observed three reading lessons and met the English lead.",
        "next_steps": "English lead to run a fluency check with Year 6.",
        "people_met": "Head, English lead",
    }
    data.update(overrides)
    return {name: value for name, value in data.items() if value is not None}
