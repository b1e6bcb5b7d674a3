"""The shared fixtures build what their names say (the other brokerage tests rely on it)."""

from brokerage.models import Offer, SupportRequest


def test_commission_fixture_walks_the_whole_flow(commission, supported_school, lead_trust):
    request = commission.request
    assert request.status == SupportRequest.Status.COMMISSIONED
    assert request.school == supported_school
    assert commission.lead_organisation == lead_trust
    assert commission.offer.status == Offer.Status.ACCEPTED
    assert [e.to_status for e in request.events.exclude(to_status="")] == [
        "draft",
        "submitted",
        "triage",
        "brokering",
        "offered",
        "commissioned",
    ]
    assert commission.deadlines.filter(kind="final").exists()
