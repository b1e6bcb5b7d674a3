"""The brokerage services: what users notice when they move a request, shortlist, offer,
accept, fund and schedule reports, and what they are told when the rules say no.

The clock is fixed on Monday 5 October 2026 (autumn term, academic year 2026-27) so that
terms, capacity and academic years do not depend on the day the suite runs.
"""

import datetime
import threading
import time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from brokerage import services
from brokerage.models import (
    Candidate,
    Commission,
    CommissionLeader,
    FundingAllocation,
    FundingStream,
    Offer,
    RequestEvent,
    SupportRequest,
)
from brokerage.tests.factories import (
    FundingStreamFactory,
    commission_via_services,
    offer_via_services,
    request_via_services,
)
from trust.models import Role, SystemLeaderProfile, User
from trust.tests.factories import SchoolFactory, TrustFactory, member, system_leader

S = SupportRequest.Status
LONDON = ZoneInfo("Europe/London")
TODAY = datetime.date(2026, 10, 5)  # a Monday in the autumn term of 2026-27
AUTUMN_START, AUTUMN_END = datetime.date(2026, 10, 5), datetime.date(2026, 12, 18)
SPRING_START, SPRING_END = datetime.date(2027, 1, 4), datetime.date(2027, 3, 26)


@pytest.fixture(autouse=True)
def fixed_today(time_machine):
    time_machine.move_to(datetime.datetime(2026, 10, 5, 10, 0, tzinfo=LONDON), tick=False)


def said(refusal) -> str:
    """Everything a refused user is told, as one string (from the error or pytest.raises)."""
    error = getattr(refusal, "value", refusal)
    return " ".join(error.messages)


def state_changes(request: SupportRequest) -> list[tuple]:
    return [
        (e.actor, e.from_status, e.to_status, e.reason)
        for e in request.events.exclude(to_status="")
    ]


def editable_fields(request: SupportRequest, **changes) -> dict:
    fields = {name: getattr(request, name) for name in services.REQUEST_FIELDS}
    fields["subject"] = request.subject
    return fields | changes


def make_commission(
    *, coordinator, trust_lead, school, trust, leader, days="6", start=None, end=None
) -> Commission:
    request = request_via_services(actor=coordinator, school=school, status="brokering")
    return commission_via_services(
        coordinator=coordinator,
        trust_lead=trust_lead,
        request=request,
        trust=trust,
        leader=leader,
        days=days,
        start=start or AUTUMN_START,
        end=end or datetime.date(2027, 1, 29),
    )


def accept(offer, actor, *leaders, today=TODAY) -> Commission:
    """Accept ``offer`` naming ``(profile, days)`` pairs, the first as Lead System Leader,
    each with release agreed."""
    entries = [services.LeaderDays(profile, Decimal(days), True) for profile, days in leaders]
    return services.offer_accept(
        offer=offer, actor=actor, lead=entries[0], supporting=entries[1:], today=today
    )


# ------------------------------------------------------------------ raising requests


def test_school_contact_raises_a_draft_for_their_own_school(school_contact, supported_school):
    request = request_via_services(actor=school_contact, school=supported_school, status="draft")

    assert request.status == S.DRAFT
    assert request.hub == supported_school.hub
    assert request.raised_by == school_contact
    assert state_changes(request) == [(school_contact, "", "draft", "")]


def test_raising_and_submitting_at_once_records_both_steps(school_contact, supported_school):
    request = request_via_services(
        actor=school_contact, school=supported_school, status="submitted"
    )

    assert request.status == S.SUBMITTED
    assert state_changes(request) == [
        (school_contact, "", "draft", ""),
        (school_contact, "draft", "submitted", ""),
    ]


def test_school_contact_cannot_raise_a_request_for_another_school(
    school_contact, neighbour_school
):
    with pytest.raises(ValidationError) as refused:
        request_via_services(actor=school_contact, school=neighbour_school, status="draft")

    assert "only for your own school" in said(refused)
    assert not SupportRequest.objects.exists()


def test_coordinator_raises_a_request_for_any_school_in_the_hub(coordinator, neighbour_school):
    request = request_via_services(actor=coordinator, school=neighbour_school, status="draft")

    assert request.school == neighbour_school
    assert request.raised_by == coordinator


def test_coordinator_of_another_hub_cannot_raise_a_request_for_our_school(
    outsider, supported_school
):
    with pytest.raises(ValidationError) as refused:
        request_via_services(actor=outsider, school=supported_school, status="draft")

    assert "only for your own school" in said(refused)
    assert not SupportRequest.objects.exists()


# ------------------------------------------------------------------ transitions


def test_each_step_from_draft_to_brokering_is_on_the_timeline(
    school_contact, coordinator, supported_school
):
    request = request_via_services(actor=school_contact, school=supported_school, status="draft")

    services.request_transition(request=request, actor=school_contact, action="submit")
    services.request_transition(request=request, actor=coordinator, action="triage")
    request = services.request_transition(request=request, actor=coordinator, action="broker")

    assert request.status == S.BROKERING
    assert state_changes(request) == [
        (school_contact, "", "draft", ""),
        (school_contact, "draft", "submitted", ""),
        (coordinator, "submitted", "triage", ""),
        (coordinator, "triage", "brokering", ""),
    ]
    assert [e.action for e in request.events.all()][-3:] == [
        "Request submitted to the hub",
        "Triage started",
        "Brokering started",
    ]


@pytest.mark.parametrize("status", ["submitted", "triage", "brokering"])
def test_coordinator_declines_a_request_and_the_reason_is_on_the_timeline(
    coordinator, supported_school, status
):
    request = request_via_services(actor=coordinator, school=supported_school, status=status)

    request = services.request_transition(
        request=request, actor=coordinator, action="decline", reason="  Better met by the LA.  "
    )

    assert request.status == S.DECLINED
    assert request.is_closed
    last = request.events.last()
    assert (last.actor, last.from_status, last.to_status, last.reason) == (
        coordinator,
        status,
        "declined",
        "Better met by the LA.",
    )
    assert last.action == "Request declined by the hub"


def test_school_contact_withdraws_their_draft_with_a_reason(school_contact, supported_school):
    request = request_via_services(actor=school_contact, school=supported_school, status="draft")

    request = services.request_transition(
        request=request, actor=school_contact, action="withdraw", reason="New head starts."
    )

    assert request.status == S.WITHDRAWN
    assert state_changes(request)[-1] == (school_contact, "draft", "withdrawn", "New head starts.")


def test_withdrawing_an_offered_request_retracts_the_open_offer(
    open_offer, school_contact, trust_lead
):
    request = services.request_transition(
        request=open_offer.request,
        actor=school_contact,
        action="withdraw",
        reason="Support found elsewhere.",
    )

    open_offer.refresh_from_db()
    assert request.status == S.WITHDRAWN
    assert open_offer.status == Offer.Status.RETRACTED
    assert open_offer.response == "The request was withdrawn."
    assert open_offer.responded_by == school_contact
    assert open_offer.responded_at is not None
    assert state_changes(request)[-1] == (
        school_contact,
        "offered",
        "withdrawn",
        "Support found elsewhere.",
    )
    with pytest.raises(ValidationError) as refused:
        accept(open_offer, trust_lead, (open_offer.proposed_lead, "6"))
    assert "already been retracted" in said(refused)


def test_triaging_a_draft_is_refused_and_says_what_state_it_is_in(coordinator, supported_school):
    request = request_via_services(actor=coordinator, school=supported_school, status="draft")

    with pytest.raises(ValidationError) as refused:
        services.request_transition(request=request, actor=coordinator, action="triage")

    assert "This request is draft, so it cannot be moved to “in triage”" in said(refused)
    request.refresh_from_db()
    assert request.status == S.DRAFT
    assert request.events.count() == 1


def test_a_commissioned_request_cannot_be_withdrawn(commission, coordinator):
    with pytest.raises(ValidationError) as refused:
        services.request_transition(
            request=commission.request, actor=coordinator, action="withdraw", reason="Oops"
        )

    assert "This request is commissioned" in said(refused)


@pytest.mark.parametrize("who", ["school_contact", "qa_lead", "trust_lead", "outsider"])
def test_only_the_hub_coordinator_can_start_triage(request, coordinator, supported_school, who):
    actor = request.getfixturevalue(who)
    support = request_via_services(actor=coordinator, school=supported_school, status="submitted")

    with pytest.raises(ValidationError) as refused:
        services.request_transition(request=support, actor=actor, action="triage")

    assert said(refused) == "Your role does not allow that step."
    support.refresh_from_db()
    assert support.status == S.SUBMITTED


def test_school_contact_cannot_decline_their_own_request(school_contact, supported_school):
    request = request_via_services(
        actor=school_contact, school=supported_school, status="submitted"
    )

    with pytest.raises(ValidationError) as refused:
        services.request_transition(
            request=request, actor=school_contact, action="decline", reason="Changed our mind"
        )

    assert said(refused) == "Your role does not allow that step."


@pytest.mark.parametrize("action", ["decline", "withdraw"])
@pytest.mark.parametrize("reason", ["", "   "])
def test_declining_or_withdrawing_without_a_reason_is_refused(
    coordinator, supported_school, action, reason
):
    request = request_via_services(actor=coordinator, school=supported_school, status="triage")

    with pytest.raises(ValidationError) as refused:
        services.request_transition(
            request=request, actor=coordinator, action=action, reason=reason
        )

    assert refused.value.message_dict == {
        "reason": ["Give a reason: the school and the hub will see it."]
    }
    request.refresh_from_db()
    assert request.status == S.TRIAGE


def test_an_unknown_action_is_refused(coordinator, supported_school):
    request = request_via_services(actor=coordinator, school=supported_school, status="triage")

    with pytest.raises(ValidationError) as refused:
        services.request_transition(request=request, actor=coordinator, action="commission")

    assert said(refused) == "That is not something that can be done to a request."


def test_allowed_transitions_offer_each_person_only_their_own_steps(
    coordinator, school_contact, qa_lead, supported_school
):
    request = request_via_services(
        actor=school_contact, school=supported_school, status="submitted"
    )

    def names(user):
        return [name for name, _ in services.allowed_transitions(request=request, user=user)]

    assert names(coordinator) == ["triage", "decline", "withdraw"]
    assert names(school_contact) == ["withdraw"]
    assert names(qa_lead) == []


# --------------------------------------------------------------- editing requests


def test_school_contact_edits_their_draft_and_the_change_is_noted(
    school_contact, supported_school
):
    request = request_via_services(actor=school_contact, school=supported_school, status="draft")

    request = services.request_update(
        request=request,
        actor=school_contact,
        **editable_fields(request, title="Reading in Key Stage 1", days_sought=Decimal("8")),
    )

    request.refresh_from_db()
    assert request.title == "Reading in Key Stage 1"
    assert request.days_sought == Decimal("8")
    edit = request.events.last()
    assert (edit.action, edit.actor, edit.reason) == (
        "Request edited",
        school_contact,
        "Changed: title, days_sought",
    )


def test_saving_a_request_unchanged_adds_nothing_to_the_timeline(school_contact, supported_school):
    request = request_via_services(actor=school_contact, school=supported_school, status="draft")

    services.request_update(request=request, actor=school_contact, **editable_fields(request))

    assert request.events.count() == 1


def test_school_contact_cannot_edit_once_submitted(school_contact, supported_school):
    request = request_via_services(
        actor=school_contact, school=supported_school, status="submitted"
    )

    with pytest.raises(ValidationError) as refused:
        services.request_update(
            request=request, actor=school_contact, **editable_fields(request, title="Changed")
        )

    assert "This request is submitted and can no longer be edited by you" in said(refused)
    request.refresh_from_db()
    assert request.title == "Maths leadership"


def test_coordinator_edits_a_request_while_it_is_brokered(brokering_request, coordinator):
    services.request_update(
        request=brokering_request,
        actor=coordinator,
        **editable_fields(brokering_request, priority="high"),
    )

    brokering_request.refresh_from_db()
    assert brokering_request.priority == "high"


def test_coordinator_cannot_edit_a_request_once_offered(open_offer, coordinator):
    request = open_offer.request

    with pytest.raises(ValidationError) as refused:
        services.request_update(
            request=request, actor=coordinator, **editable_fields(request, priority="high")
        )

    assert "This request is offered and can no longer be edited" in said(refused)


@pytest.mark.parametrize("who", ["qa_lead", "outsider", "neighbour_contact"])
def test_nobody_else_can_edit_a_draft(request, coordinator, supported_school, who):
    actor = request.getfixturevalue(who)
    support = request_via_services(actor=coordinator, school=supported_school, status="draft")

    with pytest.raises(ValidationError):
        services.request_update(
            request=support, actor=actor, **editable_fields(support, title="Hijacked")
        )


def test_an_edit_that_breaks_a_rule_is_refused_with_the_field(coordinator, supported_school):
    request = request_via_services(actor=coordinator, school=supported_school, status="triage")

    with pytest.raises(ValidationError) as refused:
        services.request_update(
            request=request, actor=coordinator, **editable_fields(request, need_areas=[])
        )

    assert "Choose at least one area of need." in refused.value.message_dict["need_areas"]


# -------------------------------------------------------------------- shortlisting


def test_coordinator_shortlists_a_leader_with_their_score_and_reasons(
    brokering_request, coordinator, other_trust_leader
):
    candidate = services.candidate_shortlist(
        request=brokering_request, actor=coordinator, leader=other_trust_leader, today=TODAY
    )

    assert candidate.leader == other_trust_leader
    assert candidate.shortlisted_by == coordinator
    assert candidate.conflicts == []
    assert candidate.override_reason == ""
    assert [p["name"] for p in candidate.parts] == [
        "Specialism",
        "Phase",
        "Capacity",
        "Distance",
        "Prior work",
    ]
    assert candidate.score == Decimal(str(sum(p["points"] for p in candidate.parts)))
    event = brokering_request.events.last()
    assert event.action.startswith(f"Shortlisted {other_trust_leader.user.full_name} (score ")
    assert event.hub_only


@pytest.mark.parametrize("status", ["draft", "submitted"])
def test_shortlisting_before_triage_is_refused(
    coordinator, supported_school, leader_profile, status
):
    request = request_via_services(actor=coordinator, school=supported_school, status=status)

    with pytest.raises(ValidationError) as refused:
        services.candidate_shortlist(
            request=request, actor=coordinator, leader=leader_profile, today=TODAY
        )

    assert said(refused) == "Shortlist while the request is in triage or brokering."


def test_shortlisting_once_offered_is_refused(open_offer, coordinator, other_trust_leader):
    with pytest.raises(ValidationError) as refused:
        services.candidate_shortlist(
            request=open_offer.request, actor=coordinator, leader=other_trust_leader, today=TODAY
        )

    assert said(refused) == "Shortlist while the request is in triage or brokering."


def test_shortlisting_in_triage_is_allowed(coordinator, supported_school, leader_profile):
    request = request_via_services(actor=coordinator, school=supported_school, status="triage")

    services.candidate_shortlist(
        request=request, actor=coordinator, leader=leader_profile, today=TODAY
    )

    assert request.candidates.get().leader == leader_profile


def test_qa_lead_cannot_shortlist(brokering_request, qa_lead, leader_profile):
    with pytest.raises(ValidationError) as refused:
        services.candidate_shortlist(
            request=brokering_request, actor=qa_lead, leader=leader_profile, today=TODAY
        )

    assert said(refused) == "Only the hub coordinator can shortlist."


def test_a_conflicted_leader_is_refused_without_a_reason_and_told_why(
    brokering_request, coordinator, supported_school
):
    insider = system_leader(supported_school)

    with pytest.raises(ValidationError) as refused:
        services.candidate_shortlist(
            request=brokering_request, actor=coordinator, leader=insider, today=TODAY
        )

    assert refused.value.message_dict == {
        "override_reason": [
            f"{insider.user.full_name} is excluded: Works at this school. "
            "Give a reason to shortlist them anyway."
        ]
    }
    assert not Candidate.objects.exists()


def test_a_leader_with_expired_accreditation_is_refused_and_the_date_is_given(
    brokering_request, coordinator, other_trust_leader
):
    other_trust_leader.accreditation_expires = datetime.date(2026, 9, 30)
    other_trust_leader.save()

    with pytest.raises(ValidationError) as refused:
        services.candidate_shortlist(
            request=brokering_request, actor=coordinator, leader=other_trust_leader, today=TODAY
        )

    assert "Accreditation expired on 30 Sep 2026." in said(refused)


def test_a_conflicted_leader_goes_on_with_the_coordinators_reason_recorded(
    brokering_request, coordinator, supported_school
):
    insider = system_leader(supported_school)

    candidate = services.candidate_shortlist(
        request=brokering_request,
        actor=coordinator,
        leader=insider,
        today=TODAY,
        override_reason="  Only SEND specialist within 40 km.  ",
    )

    assert candidate.conflicts == ["Works at this school."]
    assert candidate.override_reason == "Only SEND specialist within 40 km."
    event = brokering_request.events.last()
    assert event.action.endswith("overriding: Works at this school.")
    assert event.reason == "Only SEND specialist within 40 km."
    assert event.hub_only


def test_an_override_reason_is_not_kept_for_a_leader_with_no_conflict(
    brokering_request, coordinator, other_trust_leader
):
    candidate = services.candidate_shortlist(
        request=brokering_request,
        actor=coordinator,
        leader=other_trust_leader,
        today=TODAY,
        override_reason="Just in case",
    )

    assert candidate.override_reason == ""


def test_shortlisting_the_same_leader_twice_is_refused(
    brokering_request, coordinator, other_trust_leader
):
    services.candidate_shortlist(
        request=brokering_request, actor=coordinator, leader=other_trust_leader, today=TODAY
    )

    with pytest.raises(ValidationError) as refused:
        services.candidate_shortlist(
            request=brokering_request, actor=coordinator, leader=other_trust_leader, today=TODAY
        )

    assert said(refused) == f"{other_trust_leader.user.full_name} is already on the shortlist."
    assert brokering_request.candidates.count() == 1


def test_a_leader_from_another_hub_cannot_be_shortlisted(
    brokering_request, coordinator, other_leader_profile
):
    with pytest.raises(ValidationError) as refused:
        services.candidate_shortlist(
            request=brokering_request,
            actor=coordinator,
            leader=other_leader_profile,
            today=TODAY,
            override_reason="Please",
        )

    assert said(refused) == "That system leader is not in your hub's area."


def test_the_school_does_not_see_who_was_shortlisted_but_the_hub_does(
    brokering_request, coordinator, other_trust_leader
):
    services.candidate_shortlist(
        request=brokering_request, actor=coordinator, leader=other_trust_leader, today=TODAY
    )
    shortlisted = brokering_request.events.get(action__startswith="Shortlisted")

    hub_view = RequestEvent.objects.filter(request=brokering_request).for_viewer(is_hub=True)
    school_view = RequestEvent.objects.filter(request=brokering_request).for_viewer(is_hub=False)

    assert shortlisted in hub_view
    assert shortlisted not in school_view
    assert [e.to_status for e in school_view] == ["draft", "submitted", "triage", "brokering"]


def test_removing_a_candidate_is_recorded_for_the_hub_only(
    brokering_request, coordinator, other_trust_leader
):
    candidate = services.candidate_shortlist(
        request=brokering_request, actor=coordinator, leader=other_trust_leader, today=TODAY
    )

    services.candidate_remove(candidate=candidate, actor=coordinator)

    assert not brokering_request.candidates.exists()
    removed = brokering_request.events.last()
    assert removed.action == f"Removed {other_trust_leader.user.full_name} from the shortlist"
    assert removed.hub_only


# ------------------------------------------------------------------------ offers


def make_offer(request, coordinator, trust, leader, **overrides):
    kwargs = {
        "request": request,
        "actor": coordinator,
        "lead_organisation": trust,
        "proposed_lead": leader,
        "days": Decimal("6"),
        "start": AUTUMN_START,
        "end": datetime.date(2027, 1, 29),
        "message": "Six days across the year.",
    } | overrides
    return services.offer_make(**kwargs)


@pytest.fixture
def shortlisted(brokering_request, coordinator, leader_profile):
    services.candidate_shortlist(
        request=brokering_request, actor=coordinator, leader=leader_profile, today=TODAY
    )
    return brokering_request


def test_coordinator_offers_a_brokered_request_to_a_trust(
    shortlisted, coordinator, lead_trust, leader_profile
):
    offer = make_offer(shortlisted, coordinator, lead_trust, leader_profile)

    shortlisted.refresh_from_db()
    assert shortlisted.status == S.OFFERED
    assert offer.status == Offer.Status.OPEN
    assert (offer.lead_organisation, offer.proposed_lead, offer.offered_by) == (
        lead_trust,
        leader_profile,
        coordinator,
    )
    # The message goes to the trust on the offer, not onto the timeline others can read.
    assert state_changes(shortlisted)[-1] == (coordinator, "brokering", "offered", "")
    assert offer.message == "Six days across the year."
    assert shortlisted.events.last().action == f"Offered to {lead_trust.name}"


def test_an_offer_is_refused_before_brokering(
    coordinator, supported_school, lead_trust, leader_profile
):
    request = request_via_services(actor=coordinator, school=supported_school, status="triage")
    services.candidate_shortlist(
        request=request, actor=coordinator, leader=leader_profile, today=TODAY
    )

    with pytest.raises(ValidationError) as refused:
        make_offer(request, coordinator, lead_trust, leader_profile)

    assert said(refused) == "Offer the request while it is being brokered."
    assert not Offer.objects.exists()


def test_an_offer_needs_the_proposed_lead_on_the_shortlist(
    brokering_request, coordinator, lead_trust, leader_profile
):
    with pytest.raises(ValidationError) as refused:
        make_offer(brokering_request, coordinator, lead_trust, leader_profile)

    assert refused.value.message_dict == {
        "proposed_lead": ["Shortlist the proposed Lead System Leader first."]
    }


def test_an_offer_to_a_trust_in_another_hub_is_refused(
    shortlisted, coordinator, other_trust, leader_profile
):
    with pytest.raises(ValidationError) as refused:
        make_offer(shortlisted, coordinator, other_trust, leader_profile)

    assert refused.value.message_dict == {
        "lead_organisation": ["Choose a trust or teaching school in your hub."]
    }


def test_an_offer_to_a_school_rather_than_a_trust_is_refused(
    shortlisted, coordinator, neighbour_school, leader_profile
):
    with pytest.raises(ValidationError) as refused:
        make_offer(shortlisted, coordinator, neighbour_school, leader_profile)

    assert "Choose a trust or teaching school in your hub." in said(refused)


def test_an_offer_to_the_schools_own_trust_is_refused(
    coordinator, trust_school, lead_trust, other_trust_leader
):
    request = request_via_services(actor=coordinator, school=trust_school, status="brokering")
    services.candidate_shortlist(
        request=request, actor=coordinator, leader=other_trust_leader, today=TODAY
    )

    with pytest.raises(ValidationError) as refused:
        make_offer(request, coordinator, lead_trust, other_trust_leader)

    assert refused.value.message_dict == {
        "lead_organisation": ["The school's own trust cannot be its lead organisation."]
    }


def test_an_offer_ending_before_it_starts_is_refused(
    shortlisted, coordinator, lead_trust, leader_profile
):
    with pytest.raises(ValidationError) as refused:
        make_offer(
            shortlisted,
            coordinator,
            lead_trust,
            leader_profile,
            start=datetime.date(2026, 11, 2),
            end=datetime.date(2026, 11, 1),
        )

    assert refused.value.message_dict == {"end": ["The end date is before the start date."]}


def test_an_offer_may_start_and_end_on_the_same_day(
    shortlisted, coordinator, lead_trust, leader_profile
):
    day = datetime.date(2026, 11, 2)
    offer = make_offer(shortlisted, coordinator, lead_trust, leader_profile, start=day, end=day)

    assert offer.start == offer.end == day


@pytest.mark.parametrize("who", ["qa_lead", "trust_lead", "school_contact"])
def test_only_the_coordinator_can_make_an_offer(
    request, shortlisted, lead_trust, leader_profile, who
):
    with pytest.raises(ValidationError) as refused:
        make_offer(shortlisted, request.getfixturevalue(who), lead_trust, leader_profile)

    assert said(refused) == "Only the hub coordinator can make offers."


def test_trust_lead_declines_and_the_request_goes_back_to_brokering(open_offer, trust_lead):
    offer = services.offer_decline(
        offer=open_offer, actor=trust_lead, reason="  No maths capacity this year.  "
    )

    request = SupportRequest.objects.get(pk=open_offer.request_id)
    assert request.status == S.BROKERING
    assert (offer.status, offer.response, offer.responded_by) == (
        Offer.Status.DECLINED,
        "No maths capacity this year.",
        trust_lead,
    )
    assert state_changes(request)[-1] == (
        trust_lead,
        "offered",
        "brokering",
        "No maths capacity this year.",
    )
    assert (
        request.events.last().action == f"{open_offer.lead_organisation.name} declined the offer"
    )


def test_declining_an_offer_needs_a_reason(open_offer, trust_lead):
    with pytest.raises(ValidationError) as refused:
        services.offer_decline(offer=open_offer, actor=trust_lead, reason=" ")

    assert "Say why" in said(refused)
    open_offer.refresh_from_db()
    assert open_offer.status == Offer.Status.OPEN


def test_after_a_decline_the_hub_can_offer_to_another_trust(
    open_offer, trust_lead, coordinator, other_trust_leader
):
    services.offer_decline(offer=open_offer, actor=trust_lead, reason="No capacity.")
    request = SupportRequest.objects.get(pk=open_offer.request_id)
    services.candidate_shortlist(
        request=request, actor=coordinator, leader=other_trust_leader, today=TODAY
    )
    pennine = other_trust_leader.home_organisations[0].parent_trust

    second = make_offer(request, coordinator, pennine, other_trust_leader)

    assert second.status == Offer.Status.OPEN
    assert request.offers.count() == 2


def test_coordinator_retracts_an_offer_and_brokering_resumes(open_offer, coordinator):
    offer = services.offer_retract(offer=open_offer, actor=coordinator, reason="Head has left.")

    request = SupportRequest.objects.get(pk=open_offer.request_id)
    assert offer.status == Offer.Status.RETRACTED
    assert offer.responded_by == coordinator
    assert request.status == S.BROKERING
    assert state_changes(request)[-1] == (coordinator, "offered", "brokering", "Head has left.")


def test_a_trust_lead_cannot_retract_an_offer(open_offer, trust_lead):
    with pytest.raises(ValidationError) as refused:
        services.offer_retract(offer=open_offer, actor=trust_lead, reason="Changed our mind.")

    assert said(refused) == "Only the hub coordinator can retract an offer."


def test_retracting_needs_a_reason(open_offer, coordinator):
    with pytest.raises(ValidationError) as refused:
        services.offer_retract(offer=open_offer, actor=coordinator, reason="")

    assert "Say why the offer is withdrawn." in said(refused)


def test_replying_twice_to_an_offer_is_refused(open_offer, trust_lead, leader_profile):
    services.offer_decline(offer=open_offer, actor=trust_lead, reason="No capacity.")

    with pytest.raises(ValidationError) as refused:
        accept(open_offer, trust_lead, (leader_profile, "6"))

    assert said(refused) == "This offer has already been declined."
    assert not Commission.objects.exists()


@pytest.mark.parametrize("who", ["coordinator", "school_contact", "another_trust_lead"])
def test_only_the_offers_trust_lead_may_reply(request, open_offer, leader_profile, hub, who):
    if who == "another_trust_lead":
        actor = member(Role.TRUST_LEAD, TrustFactory(hub=hub))
    else:
        actor = request.getfixturevalue(who)

    with pytest.raises(ValidationError) as refused_decline:
        services.offer_decline(offer=open_offer, actor=actor, reason="No.")
    with pytest.raises(ValidationError) as refused_accept:
        accept(open_offer, actor, (leader_profile, "6"))

    assert said(refused_decline) == "Only the lead organisation's trust lead can reply."
    assert said(refused_accept) == "Only the lead organisation's trust lead can reply."
    open_offer.refresh_from_db()
    assert open_offer.status == Offer.Status.OPEN


# ------------------------------------------------------------------ accepting


def test_accepting_creates_the_commission_with_its_leaders_and_deadlines(
    open_offer, trust_lead, leader_profile, trust_school
):
    from trust.tests.factories import system_leader

    colleague = system_leader(trust_school)
    # open_offer runs from today (5 Oct 2026) for 120 days, to 2 Feb 2027.
    commission = services.offer_accept(
        offer=open_offer,
        actor=trust_lead,
        lead=services.LeaderDays(leader_profile, Decimal("4"), True),
        supporting=[services.LeaderDays(colleague, Decimal("2"), True)],
        today=TODAY,
    )

    assert commission.request_id == open_offer.request_id
    assert commission.lead_organisation == open_offer.lead_organisation
    assert commission.days_allocated == Decimal("6")
    assert (commission.start, commission.end) == (TODAY, datetime.date(2027, 2, 2))
    assert [
        (cl.leader, cl.role, cl.days, cl.release_agreed) for cl in commission.leaders.all()
    ] == [
        (leader_profile, CommissionLeader.Role.LEAD, Decimal("4"), True),
        (colleague, CommissionLeader.Role.SUPPORTING, Decimal("2"), True),
    ]
    assert commission.lead.leader == leader_profile
    assert [(d.kind, d.due) for d in commission.deadlines.all()] == [
        ("interim", datetime.date(2026, 12, 4)),
        ("final", datetime.date(2027, 3, 2)),
    ]
    open_offer.refresh_from_db()
    assert (open_offer.status, open_offer.responded_by) == (Offer.Status.ACCEPTED, trust_lead)
    request = commission.request
    request.refresh_from_db()
    assert request.status == S.COMMISSIONED
    assert state_changes(request)[-1] == (trust_lead, "offered", "commissioned", "")
    assert request.events.last().action == (
        f"{open_offer.lead_organisation.name} accepted; commissioned with "
        f"{leader_profile.user.full_name}, {colleague.user.full_name}"
    )


def test_support_of_eight_weeks_or_less_has_only_a_final_report(
    shortlisted, coordinator, lead_trust, leader_profile, trust_lead
):
    start, end = datetime.date(2026, 10, 5), datetime.date(2026, 11, 30)  # 56 days
    offer = make_offer(shortlisted, coordinator, lead_trust, leader_profile, start=start, end=end)

    commission = accept(offer, trust_lead, (leader_profile, "6"))

    assert [(d.kind, d.due) for d in commission.deadlines.all()] == [
        ("final", datetime.date(2026, 12, 28))
    ]


def test_accepting_without_the_home_heads_release_is_refused_and_names_the_leader(
    open_offer, trust_lead, leader_profile, other_trust_leader
):
    with pytest.raises(ValidationError) as refused:
        services.offer_accept(
            offer=open_offer,
            actor=trust_lead,
            lead=services.LeaderDays(leader_profile, Decimal("4"), True),
            supporting=[services.LeaderDays(other_trust_leader, Decimal("2"), False)],
            today=TODAY,
        )

    assert said(refused) == (
        "Record that the home headteacher has agreed the release of "
        f"{other_trust_leader.user.full_name}."
    )
    assert not Commission.objects.exists()
    open_offer.refresh_from_db()
    assert open_offer.status == Offer.Status.OPEN


def test_accepting_with_more_days_than_offered_is_refused(
    open_offer, trust_lead, leader_profile, other_trust_leader
):
    with pytest.raises(ValidationError) as refused:
        accept(open_offer, trust_lead, (leader_profile, "4"), (other_trust_leader, "2.5"))

    assert said(refused) == "The leaders' days add up to 6.5, more than the 6 days offered."
    assert not Commission.objects.exists()


def test_naming_the_same_leader_twice_is_refused(open_offer, trust_lead, leader_profile):
    with pytest.raises(ValidationError) as refused:
        accept(open_offer, trust_lead, (leader_profile, "3"), (leader_profile, "3"))

    assert said(refused) == "Name each leader once."


def test_accepting_beyond_a_leaders_capacity_is_refused_naming_leader_and_term(
    open_offer, trust_lead, leader_profile
):
    # 6 days over autumn 2026 and spring 2027 is 3 a term; this leader has 2 a term.
    leader_profile.capacity_days_per_term = Decimal("2")
    leader_profile.save()

    with pytest.raises(ValidationError) as refused:
        accept(open_offer, trust_lead, (leader_profile, "6"))

    name = leader_profile.user.full_name
    assert refused.value.messages == [
        f"{name} has 2 days free in Autumn 2026 but this needs 3.",
        f"{name} has 2 days free in Spring 2027 but this needs 3.",
    ]
    assert not Commission.objects.exists()


def test_accepting_counts_days_the_leader_already_gives_another_commission_that_term(
    coordinator, trust_lead, lead_trust, leader_profile, neighbour_school, open_offer
):
    # Their other commission takes 8 of their 10 autumn days; this offer is autumn-only.
    make_commission(
        coordinator=coordinator,
        trust_lead=trust_lead,
        school=neighbour_school,
        trust=lead_trust,
        leader=leader_profile,
        days="8",
        start=AUTUMN_START,
        end=AUTUMN_END,
    )
    Offer.objects.filter(pk=open_offer.pk).update(end=AUTUMN_END)

    with pytest.raises(ValidationError) as refused:
        accept(open_offer, trust_lead, (leader_profile, "6"))

    assert refused.value.messages == [
        f"{leader_profile.user.full_name} has 2 days free in Autumn 2026 but this needs 6."
    ]


def test_a_commission_in_another_term_does_not_use_up_this_terms_capacity(
    coordinator, trust_lead, lead_trust, leader_profile, neighbour_school, open_offer
):
    make_commission(
        coordinator=coordinator,
        trust_lead=trust_lead,
        school=neighbour_school,
        trust=lead_trust,
        leader=leader_profile,
        days="8",
        start=SPRING_START,
        end=SPRING_END,
    )
    Offer.objects.filter(pk=open_offer.pk).update(end=AUTUMN_END)

    commission = accept(open_offer, trust_lead, (leader_profile, "6"))

    assert commission.leaders.get().days == Decimal("6")


def test_a_leader_whose_accreditation_has_expired_cannot_be_named(
    open_offer, trust_lead, leader_profile
):
    leader_profile.accreditation_expires = datetime.date(2026, 10, 1)
    leader_profile.save()

    with pytest.raises(ValidationError) as refused:
        accept(open_offer, trust_lead, (leader_profile, "6"))

    assert said(refused) == (
        f"{leader_profile.user.full_name} cannot lead here: Accreditation expired on 1 Oct 2026."
    )
    assert not Commission.objects.exists()


def test_a_leader_from_the_supported_schools_own_trust_cannot_be_named(
    hub, coordinator, lead_trust, leader_profile, trust_lead
):
    school_trust = TrustFactory(hub=hub, name="Calder Schools Trust")
    school = SchoolFactory(hub=hub, parent_trust=school_trust, name="Calder Primary")
    colleague = system_leader(SchoolFactory(hub=hub, parent_trust=school_trust))
    request = request_via_services(actor=coordinator, school=school, status="brokering")
    offer = offer_via_services(
        coordinator=coordinator, request=request, trust=lead_trust, leader=leader_profile
    )

    with pytest.raises(ValidationError) as refused:
        accept(offer, trust_lead, (leader_profile, "4"), (colleague, "2"))

    assert said(refused) == (
        f"{colleague.user.full_name} cannot lead here: Based in the same trust as the school."
    )
    assert not Commission.objects.exists()


# ------------------------------------------------------------------------ funding


@pytest.fixture
def november_commission(coordinator, trust_lead, supported_school, lead_trust, leader_profile):
    """A commission in the 2026-27 academic year (1 November 2026 to 31 March 2027)."""
    return make_commission(
        coordinator=coordinator,
        trust_lead=trust_lead,
        school=supported_school,
        trust=lead_trust,
        leader=leader_profile,
        start=datetime.date(2026, 11, 1),
        end=datetime.date(2027, 3, 31),
    )


@pytest.fixture
def second_commission(coordinator, trust_lead, neighbour_school, lead_trust, other_trust_leader):
    return make_commission(
        coordinator=coordinator,
        trust_lead=trust_lead,
        school=neighbour_school,
        trust=lead_trust,
        leader=other_trust_leader,
        start=datetime.date(2026, 11, 1),
        end=datetime.date(2027, 3, 31),
    )


@pytest.fixture
def last_years_stream(hub, funder):
    return FundingStreamFactory(
        hub=hub, funder=funder, name="Catch-up", academic_year="2025-26", total_budget=5000
    )


def fund(commission, actor, *pairs):
    return services.commission_set_funding(
        commission=commission,
        actor=actor,
        allocations=[(stream, Decimal(amount)) for stream, amount in pairs],
    )


def test_coordinator_funds_a_commission_from_one_stream(
    november_commission, coordinator, oa_stream
):
    fund(november_commission, coordinator, (oa_stream, "3000"))

    row = november_commission.allocations.get()
    assert (row.stream, row.amount, row.carry_forward) == (oa_stream, Decimal("3000"), False)
    event = november_commission.request.events.last()
    assert event.action == "Funding set to £3,000.00 from Opportunity Area 2026-27"
    assert event.actor == coordinator


def test_money_from_last_years_stream_is_marked_as_carry_forward(
    november_commission, coordinator, oa_stream, last_years_stream
):
    assert november_commission.academic_year == "2026-27"

    fund(november_commission, coordinator, (oa_stream, "3000"), (last_years_stream, "1500"))

    flags = {
        a.stream.academic_year: (a.amount, a.carry_forward)
        for a in november_commission.allocations.all()
    }
    assert flags == {
        "2026-27": (Decimal("3000"), False),
        "2025-26": (Decimal("1500"), True),
    }


def test_a_commission_starting_in_august_belongs_to_the_earlier_academic_year(
    coordinator,
    trust_lead,
    supported_school,
    lead_trust,
    leader_profile,
    oa_stream,
    last_years_stream,
):
    commission = make_commission(
        coordinator=coordinator,
        trust_lead=trust_lead,
        school=supported_school,
        trust=lead_trust,
        leader=leader_profile,
        start=datetime.date(2027, 8, 31),
        end=datetime.date(2027, 12, 1),
    )

    assert commission.academic_year == "2026-27"
    fund(commission, coordinator, (oa_stream, "1000"), (last_years_stream, "1000"))
    assert sorted(commission.allocations.values_list("carry_forward", flat=True)) == [
        False,
        True,
    ]


def test_funding_more_than_a_stream_has_left_is_refused_with_the_amount_left(
    november_commission, second_commission, coordinator, oa_stream
):
    fund(second_commission, coordinator, (oa_stream, "7000"))

    with pytest.raises(ValidationError) as refused:
        fund(november_commission, coordinator, (oa_stream, "4000"))

    assert said(refused) == (
        "Opportunity Area 2026-27 has £3,000.00 left; £4,000.00 is more than that."
    )
    assert not november_commission.allocations.exists()


def test_saving_the_same_funding_again_does_not_count_it_twice(
    november_commission, coordinator, oa_stream
):
    fund(november_commission, coordinator, (oa_stream, "6000"))

    fund(november_commission, coordinator, (oa_stream, "6000"))
    fund(november_commission, coordinator, (oa_stream, "10000"))

    assert november_commission.allocations.get().amount == Decimal("10000")
    assert oa_stream.remaining() == Decimal("0")


def test_a_refused_change_leaves_the_earlier_funding_in_place(
    november_commission, coordinator, oa_stream, last_years_stream
):
    fund(november_commission, coordinator, (oa_stream, "3000"))

    with pytest.raises(ValidationError):
        fund(november_commission, coordinator, (oa_stream, "2000"), (last_years_stream, "9000"))

    row = november_commission.allocations.get()
    assert (row.stream, row.amount) == (oa_stream, Decimal("3000"))


def test_funding_from_a_later_years_stream_is_refused(
    november_commission, coordinator, hub, funder
):
    next_year = FundingStreamFactory(hub=hub, funder=funder, name="Next", academic_year="2027-28")

    with pytest.raises(ValidationError) as refused:
        fund(november_commission, coordinator, (next_year, "100"))

    assert said(refused) == "Next 2027-28 is for a later year than this commission (2026-27)."


def test_funding_from_another_hubs_stream_is_refused(november_commission, coordinator, other_hub):
    theirs = FundingStreamFactory(hub=other_hub)

    with pytest.raises(ValidationError) as refused:
        fund(november_commission, coordinator, (theirs, "100"))

    assert said(refused) == "That funding stream belongs to another hub."


def test_naming_a_stream_twice_is_refused(november_commission, coordinator, oa_stream):
    with pytest.raises(ValidationError) as refused:
        fund(november_commission, coordinator, (oa_stream, "100"), (oa_stream, "200"))

    assert said(refused) == "Use each funding stream once; add the amounts together."


@pytest.mark.parametrize("amount", ["0", "-50"])
def test_a_zero_or_negative_amount_is_refused(november_commission, coordinator, oa_stream, amount):
    with pytest.raises(ValidationError) as refused:
        fund(november_commission, coordinator, (oa_stream, amount))

    assert said(refused) == "The amount from Opportunity Area 2026-27 must be more than £0."


@pytest.mark.parametrize("who", ["qa_lead", "trust_lead", "outsider"])
def test_only_the_hub_coordinator_sets_funding(request, november_commission, oa_stream, who):
    with pytest.raises(ValidationError) as refused:
        fund(november_commission, request.getfixturevalue(who), (oa_stream, "100"))

    assert said(refused) == "Only the hub coordinator can change the commission."


def test_a_stream_shows_what_is_allocated_and_what_remains(
    november_commission, second_commission, coordinator, oa_stream, last_years_stream
):
    fund(november_commission, coordinator, (oa_stream, "2500.50"))
    fund(second_commission, coordinator, (oa_stream, "1000"))

    oa_stream.refresh_from_db()
    assert oa_stream.allocated() == Decimal("3500.50")
    assert oa_stream.remaining() == Decimal("6499.50")
    annotated = {s.pk: s for s in FundingStream.objects.with_allocated()}
    assert annotated[oa_stream.pk].allocated_total == Decimal("3500.50")
    assert annotated[oa_stream.pk].remaining() == Decimal("6499.50")
    assert annotated[last_years_stream.pk].allocated() == Decimal("0")
    assert annotated[last_years_stream.pk].remaining() == Decimal("5000")


def test_a_streams_budget_cannot_be_cut_below_what_is_allocated(
    november_commission, coordinator, oa_stream
):
    fund(november_commission, coordinator, (oa_stream, "4000"))

    oa_stream.total_budget = Decimal("3999.99")
    with pytest.raises(ValidationError) as refused:
        services.stream_save(actor=coordinator, stream=oa_stream)

    assert refused.value.message_dict == {
        "total_budget": [
            "£4,000.00 is already allocated from this stream; the budget cannot be less than that."
        ]
    }
    oa_stream.refresh_from_db()
    assert oa_stream.total_budget == Decimal("10000")

    oa_stream.total_budget = Decimal("4000")
    services.stream_save(actor=coordinator, stream=oa_stream)
    oa_stream.refresh_from_db()
    assert oa_stream.total_budget == Decimal("4000")


def test_only_the_hub_coordinator_manages_streams(qa_lead, oa_stream):
    oa_stream.total_budget = Decimal("20000")

    with pytest.raises(ValidationError) as refused:
        services.stream_save(actor=qa_lead, stream=oa_stream)

    assert said(refused) == "Only the hub coordinator can manage funding streams."


# ---------------------------------------------------------------------- deadlines


def schedule(commission, actor, *deadlines):
    services.commission_set_deadlines(
        commission=commission, actor=actor, deadlines=list(deadlines)
    )


def test_coordinator_replaces_the_default_reporting_schedule(commission, coordinator):
    # The commission fixture runs 5 Oct 2026 to 2 Feb 2027.
    schedule(
        commission,
        coordinator,
        ("final", datetime.date(2027, 2, 26)),
        ("interim", datetime.date(2026, 11, 20)),
        ("interim", datetime.date(2027, 1, 8)),
    )

    assert [(d.kind, d.due) for d in commission.deadlines.all()] == [
        ("interim", datetime.date(2026, 11, 20)),
        ("interim", datetime.date(2027, 1, 8)),
        ("final", datetime.date(2027, 2, 26)),
    ]
    assert commission.request.events.last().action == (
        "Reporting schedule set: interim report 20 Nov 2026; interim report 8 Jan 2027; "
        "final report 26 Feb 2027"
    )


def test_a_long_schedule_is_kept_whole_on_the_timeline(commission, coordinator):
    """Twenty monthly-ish interims make a line longer than the timeline's action column:
    the action is shortened, the reason keeps every date (PostgreSQL refused it before)."""
    interims = [("interim", datetime.date(2026, 10, 6) + datetime.timedelta(days=5 * i))
                for i in range(20)]  # fmt: skip
    schedule(commission, coordinator, ("final", datetime.date(2027, 2, 26)), *interims)

    event = commission.request.events.last()
    assert len(event.action) == 150 and event.action.endswith("…")
    assert event.reason.startswith("Reporting schedule set: interim report 6 Oct 2026;")
    assert event.reason.endswith("final report 26 Feb 2027")


@pytest.mark.parametrize(
    "deadlines",
    [
        [],
        [("interim", datetime.date(2026, 12, 1))],
        [("final", datetime.date(2027, 2, 26)), ("final", datetime.date(2027, 3, 5))],
    ],
    ids=["none", "interim only", "two finals"],
)
def test_a_schedule_needs_exactly_one_final_report(commission, coordinator, deadlines):
    with pytest.raises(ValidationError) as refused:
        schedule(commission, coordinator, *deadlines)

    assert said(refused) == "Set exactly one final report deadline."
    assert commission.deadlines.filter(kind="final").count() == 1


@pytest.mark.parametrize("interim_due", [datetime.date(2027, 2, 26), datetime.date(2027, 3, 1)])
def test_an_interim_report_must_be_due_before_the_final(commission, coordinator, interim_due):
    with pytest.raises(ValidationError) as refused:
        schedule(
            commission,
            coordinator,
            ("interim", interim_due),
            ("final", datetime.date(2027, 2, 26)),
        )

    assert said(refused) == "Interim reports must be due before the final report."


def test_no_report_can_be_due_before_the_support_starts(commission, coordinator):
    before = [(d.kind, d.due) for d in commission.deadlines.all()]

    with pytest.raises(ValidationError) as refused:
        schedule(
            commission,
            coordinator,
            ("interim", datetime.date(2026, 10, 4)),
            ("final", datetime.date(2027, 2, 26)),
        )

    assert said(refused) == "A report cannot be due (4 Oct 2026) before the support starts."
    assert [(d.kind, d.due) for d in commission.deadlines.all()] == before


def test_only_the_hub_coordinator_sets_the_reporting_schedule(commission, qa_lead):
    with pytest.raises(ValidationError) as refused:
        schedule(commission, qa_lead, ("final", datetime.date(2027, 2, 26)))

    assert said(refused) == "Only the hub coordinator can change the commission."


# -------------------------------------------------------------- overdue replies


def offered_at(offer, moment: datetime.datetime) -> Offer:
    Offer.objects.filter(pk=offer.pk).update(offered_at=moment)
    offer.refresh_from_db()
    return offer


def test_an_offer_made_on_a_friday_is_due_ten_working_days_later(open_offer):
    offer = offered_at(open_offer, datetime.datetime(2026, 6, 5, 15, 0, tzinfo=LONDON))

    assert offer.reply_due() == datetime.date(2026, 6, 19)
    assert not offer.is_overdue(datetime.date(2026, 6, 19))
    assert offer.is_overdue(datetime.date(2026, 6, 20))


def test_an_offer_made_just_after_midnight_counts_from_that_day_in_london(open_offer):
    # 00:30 on Tuesday 9 June (BST) is still Monday in UTC.
    offer = offered_at(open_offer, datetime.datetime(2026, 6, 9, 0, 30, tzinfo=LONDON))

    assert offer.reply_due() == datetime.date(2026, 6, 23)
    assert not offer.is_overdue(datetime.date(2026, 6, 23))


def test_an_answered_offer_is_never_overdue(open_offer, trust_lead):
    offer = offered_at(open_offer, datetime.datetime(2026, 6, 5, 15, 0, tzinfo=LONDON))
    services.offer_decline(offer=offer, actor=trust_lead, reason="No capacity.")
    offer.refresh_from_db()

    assert not offer.is_overdue(datetime.date(2026, 9, 1))


# --------------------------------------------------- two people saving at once


@pytest.fixture
def on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks: set DATABASE_URL to a PostgreSQL database")


def race(*jobs):
    """Run each job in its own thread with its own database connection, released together;
    return what each returned or raised."""
    barrier = threading.Barrier(len(jobs))
    outcomes: list = [None] * len(jobs)

    def run(index, job):
        try:
            barrier.wait(timeout=10)
            outcomes[index] = job()
        except Exception as exc:  # whatever it was, the test reports it
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a saver never finished"
    return outcomes


def pause_before(monkeypatch, manager, method: str, seconds: float = 0.3) -> None:
    """Hold each saver for a moment after its checks and before it writes, so that the two
    savers overlap: without row locks both would pass their checks."""
    original = getattr(manager, method)

    def slowed(*args, **kwargs):
        time.sleep(seconds)
        return original(*args, **kwargs)

    monkeypatch.setattr(manager, method, slowed)


@pytest.mark.django_db(transaction=True)
def test_two_coordinators_funding_from_one_stream_at_once_cannot_overspend_it(
    on_postgresql,
    monkeypatch,
    hub,
    november_commission,
    second_commission,
    coordinator,
    oa_stream,
):
    colleague = member(Role.HUB_COORDINATOR, hub, full_name="Priya Shah")

    def save(commission_pk, user_pk):
        def job():
            return services.commission_set_funding(
                commission=Commission.objects.get(pk=commission_pk),
                actor=User.objects.get(pk=user_pk),
                allocations=[(FundingStream.objects.get(pk=oa_stream.pk), Decimal("6000"))],
            )

        return job

    pause_before(monkeypatch, FundingAllocation.objects, "bulk_create")
    outcomes = race(
        save(november_commission.pk, coordinator.pk), save(second_commission.pk, colleague.pk)
    )

    refusals = [o for o in outcomes if isinstance(o, ValidationError)]
    successes = [o for o in outcomes if isinstance(o, list)]
    assert len(successes) == 1, outcomes
    assert len(refusals) == 1, outcomes
    assert "has £4,000.00 left; £6,000.00 is more than that." in said(refusals[0])
    assert FundingAllocation.objects.filter(stream=oa_stream).count() == 1
    assert oa_stream.allocated() == Decimal("6000")
    assert oa_stream.allocated() <= oa_stream.total_budget


@pytest.mark.django_db(transaction=True)
def test_two_trusts_accepting_at_once_cannot_overbook_a_shared_leader(
    on_postgresql,
    monkeypatch,
    coordinator,
    trust_lead,
    lead_trust,
    supported_school,
    neighbour_school,
    leader_profile,
    other_trust_leader,
):
    # The shared leader has 10 days this autumn; each acceptance wants 6 of them.
    offers = []
    for school, proposed in [
        (supported_school, leader_profile),
        (neighbour_school, other_trust_leader),
    ]:
        request = request_via_services(actor=coordinator, school=school, status="brokering")
        offers.append(
            offer_via_services(
                coordinator=coordinator,
                request=request,
                trust=lead_trust,
                leader=proposed,
                days="8",
                start=AUTUMN_START,
                end=AUTUMN_END,
            )
        )

    def accept_job(offer_pk, leaders):
        def job():
            return accept(
                Offer.objects.get(pk=offer_pk),
                User.objects.get(pk=trust_lead.pk),
                *[(SystemLeaderProfile.objects.get(pk=pk), days) for pk, days in leaders],
            )

        return job

    pause_before(monkeypatch, CommissionLeader.objects, "create")
    outcomes = race(
        accept_job(offers[0].pk, [(leader_profile.pk, "6")]),
        accept_job(offers[1].pk, [(other_trust_leader.pk, "2"), (leader_profile.pk, "6")]),
    )

    refusals = [o for o in outcomes if isinstance(o, ValidationError)]
    successes = [o for o in outcomes if isinstance(o, Commission)]
    assert len(successes) == 1, outcomes
    assert len(refusals) == 1, outcomes
    assert said(refusals[0]) == (
        f"{leader_profile.user.full_name} has 4 days free in Autumn 2026 but this needs 6."
    )
    booked = CommissionLeader.objects.filter(leader=leader_profile)
    assert sum(cl.days for cl in booked) == Decimal("6")
    assert Commission.objects.count() == 1
    assert Offer.objects.filter(status=Offer.Status.OPEN).count() == 1


def test_a_trust_lead_cannot_name_another_trusts_leader(
    open_offer, trust_lead, leader_profile, other_trust_leader
):
    with pytest.raises(ValidationError, match="Name leaders from your own trust"):
        services.offer_accept(
            offer=open_offer,
            actor=trust_lead,
            lead=services.LeaderDays(leader_profile, Decimal("4"), True),
            supporting=[services.LeaderDays(other_trust_leader, Decimal("2"), True)],
            today=TODAY,
        )
    assert not Commission.objects.exists()
