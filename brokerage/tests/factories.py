"""Factories for brokerage, with traits for each state a request can be in.

The ``*_via_services`` helpers walk a request through the real services, so tests of later
steps start from exactly what users would have produced.
"""

import datetime
from decimal import Decimal

import factory
from django.utils import timezone

from brokerage import services
from brokerage.models import FundingStream, SupportRequest
from trust.models import Organisation
from trust.tests.factories import FunderFactory, HubFactory, SchoolFactory, UserFactory


class FundingStreamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FundingStream

    hub = factory.SubFactory(HubFactory)
    funder = factory.SubFactory(FunderFactory, hub=factory.SelfAttribute("..hub"))
    name = factory.Sequence(lambda n: f"Stream {n}")
    academic_year = "2026-27"
    total_budget = Decimal("10000.00")


class SupportRequestFactory(factory.django.DjangoModelFactory):
    """A request saved directly in a given state (no timeline). Use the services to walk a
    request through its states when the timeline matters."""

    class Meta:
        model = SupportRequest

    school = factory.SubFactory(SchoolFactory)
    hub = factory.LazyAttribute(lambda r: r.school.hub)
    raised_by = factory.SubFactory(UserFactory)
    title = factory.Sequence(lambda n: f"Support need {n}")
    need_areas = factory.LazyFunction(lambda: ["leadership"])
    context = "Outcomes have fallen; the head wants help."
    priority = SupportRequest.Priority.MEDIUM
    days_sought = Decimal("6")
    funding_sought = Decimal("3000")
    desired_start = factory.LazyFunction(timezone.localdate)
    status = SupportRequest.Status.DRAFT

    class Params:
        submitted = factory.Trait(status=SupportRequest.Status.SUBMITTED)
        triage = factory.Trait(status=SupportRequest.Status.TRIAGE)
        brokering = factory.Trait(status=SupportRequest.Status.BROKERING)


def request_via_services(*, actor, school: Organisation, status: str = "brokering", **fields):
    """A request raised by ``actor`` (a hub coordinator) and moved on to ``status``
    (draft, submitted, triage or brokering) through the services."""
    defaults = {
        "title": "Maths leadership",
        "need_areas": ["leadership"],
        "subject": None,
        "context": "Outcomes have fallen; the head wants help.",
        "priority": "medium",
        "days_sought": Decimal("6"),
        "funding_sought": Decimal("3000"),
        "desired_start": timezone.localdate(),
    }
    defaults.update(fields)
    request = services.request_create(
        actor=actor, school=school, submit=status != "draft", **defaults
    )
    steps = {"draft": [], "submitted": [], "triage": ["triage"], "brokering": ["triage", "broker"]}
    for action in steps[status]:
        request = services.request_transition(request=request, actor=actor, action=action)
    return request


def offer_via_services(*, coordinator, request, trust, leader, days="6", start=None, end=None):
    """Shortlist ``leader`` and offer the brokering ``request`` to ``trust``."""
    start = start or timezone.localdate()
    end = end or start + datetime.timedelta(days=120)
    services.candidate_shortlist(
        request=request, actor=coordinator, leader=leader, today=timezone.localdate()
    )
    return services.offer_make(
        request=request,
        actor=coordinator,
        lead_organisation=trust,
        proposed_lead=leader,
        days=Decimal(days),
        start=start,
        end=end,
    )


def commission_via_services(*, coordinator, trust_lead, request, trust, leader, days="6", **kw):
    offer = offer_via_services(
        coordinator=coordinator, request=request, trust=trust, leader=leader, days=days, **kw
    )
    return services.offer_accept(
        offer=offer,
        actor=trust_lead,
        lead=services.LeaderDays(leader, Decimal(days), True),
        supporting=[],
        today=timezone.localdate(),
    )
