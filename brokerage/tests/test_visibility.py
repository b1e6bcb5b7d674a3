"""Who sees which requests, offers, commissions and funding streams."""

import pytest

from brokerage.models import Commission, FundingStream, Offer, SupportRequest
from brokerage.tests.factories import request_via_services

pytestmark = pytest.mark.django_db


def test_a_schools_draft_is_private_until_submitted(school_contact, supported_school, coordinator):
    from brokerage import services

    draft = request_via_services(actor=school_contact, school=supported_school, status="draft")
    assert draft in SupportRequest.objects.visible_to(school_contact)
    assert draft not in SupportRequest.objects.visible_to(coordinator)
    services.request_transition(request=draft, actor=school_contact, action="submit")
    assert draft in SupportRequest.objects.visible_to(coordinator)


def test_the_hubs_own_drafts_are_visible_to_the_hub(coordinator, qa_lead, supported_school):
    draft = request_via_services(actor=coordinator, school=supported_school, status="draft")
    assert draft in SupportRequest.objects.visible_to(qa_lead)


def test_each_role_sees_only_its_own_requests(
    brokering_request, coordinator, school_contact, neighbour_contact, trust_lead, outsider,
    leader, funder_viewer,
):  # fmt: skip
    visible = SupportRequest.objects.visible_to
    assert brokering_request in visible(coordinator)
    assert brokering_request in visible(school_contact)
    for other in (neighbour_contact, trust_lead, outsider, leader, funder_viewer):
        assert brokering_request not in visible(other)


def test_an_offer_opens_the_request_to_the_trust_and_a_commission_to_its_leaders(
    commission, trust_lead, leader, funder_viewer, oa_stream, coordinator
):
    from decimal import Decimal

    from brokerage import services

    request = commission.request
    assert request in SupportRequest.objects.visible_to(trust_lead)
    assert request in SupportRequest.objects.visible_to(leader)
    assert commission in Commission.objects.visible_to(leader)
    assert commission not in Commission.objects.visible_to(funder_viewer)
    services.commission_set_funding(
        commission=commission, actor=coordinator, allocations=[(oa_stream, Decimal("100"))]
    )
    assert commission in Commission.objects.visible_to(funder_viewer)
    assert request not in SupportRequest.objects.visible_to(funder_viewer)


def test_offers_are_seen_by_the_hub_and_the_trust_offered_only(
    open_offer, coordinator, trust_lead, school_contact, outsider
):
    visible = Offer.objects.visible_to
    assert open_offer in visible(coordinator)
    assert open_offer in visible(trust_lead)
    assert open_offer not in visible(school_contact)
    assert open_offer not in visible(outsider)


def test_streams_are_seen_by_their_hub_and_funder(oa_stream, coordinator, funder_viewer, outsider,
                                                  trust_lead):  # fmt: skip
    visible = FundingStream.objects.visible_to
    assert oa_stream in visible(coordinator)
    assert oa_stream in visible(funder_viewer)
    assert oa_stream not in visible(outsider)
    assert oa_stream not in visible(trust_lead)


def test_funder_home_shows_their_streams_with_what_is_left(
    client, funder_viewer, oa_stream, other_hub
):
    from brokerage.tests.factories import FundingStreamFactory

    elsewhere = FundingStreamFactory(hub=other_hub, name="Elsewhere Fund")
    client.force_login(funder_viewer)
    response = client.get("/funder/")
    assert "Opportunity Area 2026-27" in response.text
    assert "£10,000.00" in response.text
    assert elsewhere.name not in response.text


def test_a_funder_sees_only_its_own_money_on_a_commission(
    client, commission, coordinator, funder_viewer, oa_stream, hub
):
    from decimal import Decimal

    from brokerage import services
    from brokerage.tests.factories import FundingStreamFactory

    other_funders = FundingStreamFactory(hub=hub, name="Other Funder Pot")
    services.commission_set_funding(
        commission=commission,
        actor=coordinator,
        allocations=[(oa_stream, Decimal("1000")), (other_funders, Decimal("2500"))],
    )
    services.commission_update(
        commission=commission, actor=coordinator, grant_conditions="Private condition"
    )
    client.force_login(funder_viewer)
    page = client.get(commission.get_absolute_url()).text
    assert "£1,000.00" in page
    assert "Other Funder Pot" not in page
    assert "£3,500.00" not in page
    assert "Private condition" not in page
    client.force_login(coordinator)
    page = client.get(commission.get_absolute_url()).text
    assert "Other Funder Pot" in page and "£3,500.00" in page and "Private condition" in page
