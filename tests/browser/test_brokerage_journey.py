"""A request from triage to commission, in Chromium, as the coordinator and trust lead do it."""

import datetime

import pytest
from django.utils import timezone

from brokerage.tests.factories import request_via_services
from trust.models import Role
from trust.tests.factories import (
    HubFactory,
    SchoolFactory,
    TrustFactory,
    member,
    system_leader,
)

pytestmark = pytest.mark.browser
PASSWORD = "correct-horse-battery"


@pytest.fixture
def scene(transactional_db):
    hub = HubFactory(name="Three Rivers Hub")
    trust = TrustFactory(hub=hub, name="Aire Valley Learning Trust")
    home = SchoolFactory(hub=hub, parent_trust=trust, name="Beck Primary", phase="primary")
    school = SchoolFactory(hub=hub, name="Moorside Primary School", phase="primary")
    coordinator = member(
        Role.HUB_COORDINATOR, hub, email="coord@example.test", full_name="Helen Marsh"
    )
    trust_lead = member(
        Role.TRUST_LEAD, trust, email="lead@example.test", full_name="Sarah Whitaker"
    )
    leader = system_leader(home, capacity_days_per_term=10)
    leader.user.full_name = "Priya Patel"
    leader.user.save()
    request = request_via_services(
        actor=coordinator, school=school, status="submitted", title="Maths leadership"
    )
    return {"coordinator": coordinator, "trust_lead": trust_lead, "request": request}


def sign_in(page, base_url, email):
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def test_coordinator_brokers_and_trust_lead_accepts_in_the_browser(chromium, live_server, scene):
    base = live_server.url
    start = timezone.localdate() + datetime.timedelta(days=7)
    end = start + datetime.timedelta(days=150)

    hub_context = chromium.new_context(viewport={"width": 1280, "height": 900})
    coordinator = hub_context.new_page()
    coordinator.set_default_timeout(20_000)
    sign_in(coordinator, base, "coord@example.test")
    coordinator.get_by_role("link", name="Pipeline").first.click()
    coordinator.get_by_role("link", name="Moorside Primary School").click()
    coordinator.get_by_role("button", name="Start triage").click()
    assert "Triage started" in coordinator.locator("main").inner_text()
    coordinator.get_by_role("button", name="Start brokering").click()
    ranked = coordinator.get_by_role("table", name="System leaders ranked by how well they match")
    assert "Priya Patel" in ranked.inner_text()
    assert "km away" in ranked.inner_text()
    coordinator.get_by_role("button", name="Shortlist Priya Patel").click()
    assert "Priya Patel is on the shortlist" in coordinator.locator("main").inner_text()
    coordinator.get_by_role("link", name="Offer to a lead organisation").click()
    coordinator.get_by_label("Lead organisation").select_option(label="Aire Valley Learning Trust")
    coordinator.get_by_label("Start").fill(start.isoformat())
    coordinator.get_by_label("End").fill(end.isoformat())
    coordinator.get_by_label("Message to the trust").fill("Could Priya lead this?")
    coordinator.get_by_role("button", name="Send the offer").click()
    assert "Offered to Aire Valley Learning Trust" in coordinator.locator("main").inner_text()

    trust_context = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    trust_lead = trust_context.new_page()
    trust_lead.set_default_timeout(20_000)
    sign_in(trust_lead, base, "lead@example.test")
    trust_lead.goto(f"{base}/offers/")
    trust_lead.get_by_role("link", name="Moorside Primary School").click()
    assert "Could Priya lead this?" in trust_lead.locator("main").inner_text()
    trust_lead.get_by_label("Their home headteacher has agreed their release").check()
    trust_lead.get_by_role("button", name="Accept and commission").click()
    commission_page = trust_lead.locator("main").inner_text()
    assert "Accepted: the commission is set up." in commission_page
    assert "Priya Patel" in commission_page
    assert "Lead System Leader" in commission_page
    assert "Final report" in commission_page

    coordinator.reload()
    assert "Commissioned" in coordinator.locator("main").inner_text()
    hub_context.close()
    trust_context.close()
