"""The people tests are about, as in healthchecks' alice/bob/charlie.

``hub`` is the hub everyone below works with; ``other_hub`` is somebody else's, with its
own coordinator (the outsider) and schools. Each person is created on demand.
"""

import os
import shutil

import pytest

from trust.models import Role
from trust.tests.factories import (
    ClusterFactory,
    FunderFactory,
    HubFactory,
    SchoolFactory,
    TrustFactory,
    member,
    system_leader,
)


def pytest_collection_modifyitems(config, items):
    """Tests that need Redis run when REDIS_URL names one (CI's broker run). Browser tests
    run when Debian's Chromium is installed, and must run when REQUIRE_BROWSER is set."""
    has_chromium = shutil.which("chromium") or os.path.exists("/usr/bin/chromium")
    for item in items:
        needs_redis = "redis" in item.keywords or "worker" in item.keywords
        if needs_redis and not os.environ.get("REDIS_URL"):
            item.add_marker(pytest.mark.skip(reason="set REDIS_URL to run against Redis"))
        if "browser" in item.keywords and not has_chromium:
            if os.environ.get("REQUIRE_BROWSER"):
                raise pytest.UsageError("REQUIRE_BROWSER is set but /usr/bin/chromium is missing")
            item.add_marker(pytest.mark.skip(reason="apt-get install chromium to run"))


@pytest.fixture
def hub(db):
    return HubFactory(name="Three Rivers Hub")


@pytest.fixture
def cluster(hub):
    return ClusterFactory(hub=hub, name="Leeds East")


@pytest.fixture
def lead_trust(hub):
    return TrustFactory(hub=hub, name="Aire Valley Learning Trust")


@pytest.fixture
def trust_school(hub, lead_trust, cluster):
    return SchoolFactory(hub=hub, parent_trust=lead_trust, cluster=cluster, name="Beck Primary")


@pytest.fixture
def supported_school(hub, cluster):
    return SchoolFactory(hub=hub, cluster=cluster, name="Moorside Primary School")


@pytest.fixture
def neighbour_school(hub, cluster):
    """Another school in the same hub: its contact must not see the supported school."""
    return SchoolFactory(hub=hub, cluster=cluster, name="Heaton Primary School")


@pytest.fixture
def funder(hub):
    return FunderFactory(hub=hub, name="Bradford Opportunity Area")


@pytest.fixture
def coordinator(hub):
    return member(Role.HUB_COORDINATOR, hub, full_name="Helen Marsh")


@pytest.fixture
def qa_lead(hub):
    return member(Role.QA_LEAD, hub, full_name="Tom Okafor")


@pytest.fixture
def trust_lead(lead_trust):
    return member(Role.TRUST_LEAD, lead_trust, full_name="Sarah Whitaker")


@pytest.fixture
def leader_profile(trust_school):
    return system_leader(trust_school)


@pytest.fixture
def leader(leader_profile):
    return leader_profile.user


@pytest.fixture
def school_contact(supported_school):
    return member(Role.SCHOOL_CONTACT, supported_school, full_name="Gareth Hughes")


@pytest.fixture
def neighbour_contact(neighbour_school):
    return member(Role.SCHOOL_CONTACT, neighbour_school, full_name="Nadia Ali")


@pytest.fixture
def funder_viewer(funder):
    return member(Role.FUNDER_VIEWER, funder, full_name="Aisha Rahman")


@pytest.fixture
def other_hub(db):
    return HubFactory(name="Elsewhere Hub")


@pytest.fixture
def other_school(other_hub):
    return SchoolFactory(hub=other_hub, name="Faraway Primary")


@pytest.fixture
def other_trust(other_hub):
    return TrustFactory(hub=other_hub, name="Faraway Trust")


@pytest.fixture
def outsider(other_hub):
    """A coordinator at another hub: sees none of ``hub``'s organisations."""
    return member(Role.HUB_COORDINATOR, other_hub, full_name="Olly Outsider")


@pytest.fixture
def other_leader_profile(other_school):
    return system_leader(other_school)


# ------------------------------------------------------------------- brokerage


@pytest.fixture
def oa_stream(hub, funder):
    from brokerage.tests.factories import FundingStreamFactory

    return FundingStreamFactory(
        hub=hub, funder=funder, name="Opportunity Area", academic_year="2026-27"
    )


@pytest.fixture
def other_trust_leader(hub):
    """A system leader based in a school of a second trust in the same hub: free of
    conflicts with ``supported_school`` (which is in no trust)."""
    trust = TrustFactory(hub=hub, name="Pennine Crest Academies")
    school = SchoolFactory(hub=hub, parent_trust=trust, name="Pennine Primary")
    return system_leader(school, phases=["primary"])


@pytest.fixture
def brokering_request(coordinator, supported_school):
    from brokerage.tests.factories import request_via_services

    return request_via_services(actor=coordinator, school=supported_school, status="brokering")


@pytest.fixture
def open_offer(coordinator, brokering_request, lead_trust, leader_profile):
    """``brokering_request`` offered to ``lead_trust`` with ``leader_profile`` proposed."""
    from brokerage.tests.factories import offer_via_services

    return offer_via_services(
        coordinator=coordinator,
        request=brokering_request,
        trust=lead_trust,
        leader=leader_profile,
    )


@pytest.fixture
def commission(open_offer, trust_lead, leader_profile):
    from decimal import Decimal

    from django.utils import timezone

    from brokerage import services

    return services.offer_accept(
        offer=open_offer,
        actor=trust_lead,
        lead=services.LeaderDays(leader_profile, Decimal("6"), True),
        supporting=[],
        today=timezone.localdate(),
    )
