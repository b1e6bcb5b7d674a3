"""Two complete, identical worlds for the security tests: ours and another hub's.

Each world is one hub with everything a page can name: a supported school's request,
shortlisted, offered to a trust, accepted and funded; the Lead System Leader deployed with an
objective, a visit and a planned visit; the interim report submitted (its PDF made) and the
final one in draft; a spend line; a school import; and for every person a notification and a
calendar feed. Everything is reached through the real services, as users would produce it.
"""

from __future__ import annotations

import datetime
import types
from decimal import Decimal

from django.utils import timezone

from brokerage import services as brokerage
from brokerage.models import ReportingDeadline
from brokerage.tests.factories import FundingStreamFactory, request_via_services
from deployments import services as deployments
from deployments.tests.factories import (
    add_objective,
    lead_deployment,
    record_visit,
    started_offer,
)
from reporting import calendar
from reporting import services as reporting
from reporting.models import Notification
from reporting.tests.factories import drafted_report, submitted_report
from trust.models import Role
from trust.services import school_import_start
from trust.tests.factories import (
    ClusterFactory,
    FunderFactory,
    HubFactory,
    SchoolFactory,
    TrustFactory,
    member,
    system_leader,
)

# The demo roles, as the permission matrix lists them (anonymous is nobody).
ROLES = (
    "anonymous",
    "coordinator",
    "qa_lead",
    "trust_lead",
    "leader",
    "school_contact",
    "funder_viewer",
)


def build_world(label: str, capture_on_commit) -> types.SimpleNamespace:
    """One hub's world. ``capture_on_commit`` is pytest-django's
    ``django_capture_on_commit_callbacks``: the report's PDF is made as a worker would."""
    w = types.SimpleNamespace(label=label)
    w.hub = HubFactory(name=f"{label} Hub")
    cluster = ClusterFactory(hub=w.hub, name=f"{label} Cluster")
    w.trust = TrustFactory(hub=w.hub, name=f"{label} Learning Trust")
    trust_school = SchoolFactory(
        hub=w.hub, parent_trust=w.trust, cluster=cluster, name=f"{label} Beck Primary"
    )
    w.school = SchoolFactory(hub=w.hub, cluster=cluster, name=f"{label} Moorside Primary")
    w.funder = FunderFactory(hub=w.hub, name=f"{label} Opportunity Area")

    w.coordinator = member(Role.HUB_COORDINATOR, w.hub, full_name=f"{label} Coordinator")
    w.qa_lead = member(Role.QA_LEAD, w.hub, full_name=f"{label} QA Lead")
    w.trust_lead = member(Role.TRUST_LEAD, w.trust, full_name=f"{label} Trust Lead")
    w.leader_profile = system_leader(trust_school)
    w.leader = w.leader_profile.user
    w.school_contact = member(Role.SCHOOL_CONTACT, w.school, full_name=f"{label} School")
    w.funder_viewer = member(Role.FUNDER_VIEWER, w.funder, full_name=f"{label} Funder")

    w.stream = FundingStreamFactory(
        hub=w.hub, funder=w.funder, name=f"{label} Stream", academic_year="2026-27"
    )
    w.request = request_via_services(actor=w.coordinator, school=w.school, status="brokering")
    w.offer = started_offer(
        coordinator=w.coordinator, request=w.request, trust=w.trust, leader=w.leader_profile
    )
    w.candidate = w.request.candidates.get()
    w.commission = brokerage.offer_accept(
        offer=w.offer,
        actor=w.trust_lead,
        lead=brokerage.LeaderDays(w.leader_profile, Decimal("6"), True),
        supporting=[],
        today=timezone.localdate(),
    )
    brokerage.commission_set_funding(
        commission=w.commission, actor=w.coordinator, allocations=[(w.stream, Decimal("2000"))]
    )
    w.allocation = w.commission.allocations.get()
    w.deployment = lead_deployment(w.commission)
    w.objective = add_objective(w.commission, w.leader, title=f"{label} reading fluency")
    w.visit = record_visit(w.deployment, objective_ids=(w.objective.pk,))
    deployments.visit_plan(
        deployment=w.deployment,
        actor=w.leader,
        date=datetime.date(2026, 12, 7),
        mode="in_person",
    )
    with capture_on_commit(execute=True):
        w.submitted = submitted_report(w.commission, w.leader, w.trust_lead)
    w.draft = drafted_report(w.commission, w.leader, kind="final")
    w.interim_deadline = w.submitted.deadline
    # A second interim report that nobody has started yet.
    w.open_deadline = ReportingDeadline.objects.create(
        commission=w.commission, kind=ReportingDeadline.Kind.INTERIM, due=datetime.date(2027, 1, 8)
    )
    # A second request, still being brokered, with another leader shortlisted.
    w.open_request = request_via_services(
        actor=w.coordinator, school=w.school, status="brokering", title=f"{label} Year 2 phonics"
    )
    w.spare_profile = system_leader(
        SchoolFactory(hub=w.hub, parent_trust=w.trust, name=f"{label} Fieldhead Primary")
    )
    brokerage.candidate_shortlist(
        request=w.open_request,
        actor=w.coordinator,
        leader=w.spare_profile,
        today=timezone.localdate(),
    )
    w.open_candidate = w.open_request.candidates.get()
    w.spend = reporting.spend_add(
        allocation=w.allocation,
        actor=w.trust_lead,
        date=datetime.date(2026, 11, 2),
        amount=Decimal("120"),
        description=f"{label} supply cover",
    )
    w.school_import = school_import_start(
        hub=w.hub, user=w.coordinator, file_name="edubase.csv", data=b"URN\n"
    )
    w.notifications, w.feeds = {}, {}
    for role in ROLES[1:]:
        person = getattr(w, role)
        w.notifications[role] = Notification.objects.create(
            user=person, kind="due", title="Interim report due today", url="/reports/"
        )
        w.feeds[role] = calendar.feed_for(person)
    w.revoked_token = w.feeds["coordinator"].token
    w.feeds["coordinator"] = calendar.feed_revoke(w.coordinator)
    return w
