"""Matching system leaders to a support request: the score a coordinator sees, part by part,
the hard conflicts that keep a leader off the ranked shortlist, and the terms capacity is
planned in. Scoring is tested on hand-built facts; the selector against the database."""

from __future__ import annotations

import dataclasses
import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from brokerage.matching import (
    LeaderFacts,
    NeedFacts,
    SchoolFacts,
    days_per_term,
    rank,
    score,
    term_of,
    terms_between,
)
from brokerage.selectors import match_leaders_for
from brokerage.tests.factories import commission_via_services, request_via_services
from trust.models import Organisation, Specialism
from trust.tests.factories import MembershipFactory, SchoolFactory, TrustFactory, system_leader

TODAY = datetime.date(2026, 11, 25)
SCHOOL_EAST, SCHOOL_NORTH = 430_000, 433_000


def need(specialisms=("maths",), days="6") -> NeedFacts:
    return NeedFacts(specialisms=frozenset(specialisms), days_sought=Decimal(days))


def school(**changes) -> SchoolFacts:
    facts = SchoolFacts(
        pk=1, phase="primary", easting=SCHOOL_EAST, northing=SCHOOL_NORTH, trust_id=None
    )
    return dataclasses.replace(facts, **changes)


def leader(**changes) -> LeaderFacts:
    """A leader who fits ``need()`` at ``school()`` perfectly, with no conflicts."""
    facts = LeaderFacts(
        pk=100,
        name="Ada Lovelace",
        specialisms=frozenset({"maths"}),
        phases=frozenset({"primary"}),
        remaining_days=Decimal("6"),
        home_ids=frozenset({2}),
        home_trust_ids=frozenset({50}),
        easting=SCHOOL_EAST,
        northing=SCHOOL_NORTH,
        accreditation_expires=TODAY + datetime.timedelta(days=365),
        active=True,
        worked_with_school=True,
    )
    return dataclasses.replace(facts, **changes)


def part(match, name):
    (found,) = [p for p in match.parts if p.name == name]
    return found


# ------------------------------------------------------------------ each part of the score


def test_a_perfect_fit_scores_100_with_every_part_explained():
    match = score(need(), school(), leader(), TODAY)

    assert match.score == 100
    assert not match.excluded
    assert [(p.name, p.points, p.out_of) for p in match.parts] == [
        ("Specialism", 40, 40),
        ("Phase", 20, 20),
        ("Capacity", 15, 15),
        ("Distance", 15, 15),
        ("Prior work", 10, 10),
    ]
    assert all(p.why for p in match.parts)


@pytest.mark.parametrize(
    ("wanted", "offered", "points", "why"),
    [
        ({"maths", "send"}, {"maths", "send", "pe"}, 40, "Covers 2 of 2 needed specialisms."),
        ({"maths", "send"}, {"maths"}, 20, "Covers 1 of 2 needed specialisms."),
        ({"maths", "send"}, {"english"}, 0, "Covers 0 of 2 needed specialisms."),
        ({"maths", "send", "pe"}, {"maths"}, 13.3, "Covers 1 of 3 needed specialisms."),
        (set(), {"maths"}, 0, "The request names no specialism to match."),
    ],
    ids=["full-cover", "half-cover", "no-cover", "a-third", "none-asked"],
)
def test_specialism_points_follow_how_many_needed_specialisms_the_leader_covers(
    wanted, offered, points, why
):
    match = score(need(wanted), school(), leader(specialisms=frozenset(offered)), TODAY)

    assert part(match, "Specialism").points == points
    assert part(match, "Specialism").why == why


@pytest.mark.parametrize(
    ("school_phase", "leader_phases", "points", "why"),
    [
        ("primary", {"primary"}, 20, "Works in the school's phase (primary)."),
        ("all_through", {"all_through"}, 20, "Works in the school's phase (all-through)."),
        ("secondary", {"all_through"}, 20, "Works across all phases."),
        (
            "all_through",
            {"primary"},
            10,
            "Knows one of the phases of this all-through school.",
        ),
        ("secondary", {"primary", "special"}, 0, "Works in other phases."),
        ("", {"primary"}, 0, "The school's phase is not recorded."),
        ("not_applicable", {"primary"}, 0, "The school's phase is not recorded."),
    ],
    ids=["exact", "exact-all-through", "all-through-leader", "half", "other", "blank", "n/a"],
)
def test_phase_points_for_exact_all_through_and_other_phases(
    school_phase, leader_phases, points, why
):
    match = score(
        need(), school(phase=school_phase), leader(phases=frozenset(leader_phases)), TODAY
    )

    assert part(match, "Phase").points == points
    assert part(match, "Phase").why == why


@pytest.mark.parametrize(
    ("free", "sought", "points", "why"),
    [
        ("6", "6", 15, "6 days free this term for 6 sought."),
        ("3", "6", 7.5, "3 days free this term for 6 sought."),
        ("2", "6", 5, "2 days free this term for 6 sought."),
        ("12", "6", 15, "12 days free this term for 6 sought."),
        ("1.5", "7", 3.2, "1.5 days free this term for 7 sought."),
        ("0.5", "0.5", 15, "0.5 days free this term for 0.5 sought."),
        ("0", "6", 0, "0 days free this term for 6 sought."),
    ],
    ids=["exactly", "half", "a-third", "capped", "rounded", "half-days", "none"],
)
def test_capacity_points_are_proportional_to_days_free_and_capped(free, sought, points, why):
    match = score(need(days=sought), school(), leader(remaining_days=Decimal(free)), TODAY)

    assert part(match, "Capacity").points == points
    assert part(match, "Capacity").why == why


def test_capacity_reason_reads_plainly_for_decimal_quirks():
    """Loads come out of the database as e.g. 10.0 - 4.00; the sentence says "6", not
    "6.00" or "6E+0"."""
    match = score(
        need(days="10.0"),
        school(),
        leader(remaining_days=Decimal("10.0") - Decimal("4.00")),
        TODAY,
    )

    assert part(match, "Capacity").why == "6 days free this term for 10 sought."


@pytest.mark.parametrize(
    ("east", "north", "km", "points", "why"),
    [
        (0, 0, 0.0, 15, "0.0 km away."),
        (25_000, 0, 25.0, 7.5, "25.0 km away."),
        (0, -10_000, 10.0, 12, "10.0 km away."),
        (30_000, 40_000, 50.0, 0, "50.0 km away."),
        (-80_000, 0, 80.0, 0, "80.0 km away."),
    ],
    ids=["same-place", "25km", "10km-south", "50km-diagonal", "80km"],
)
def test_distance_points_fall_off_in_a_straight_line_to_nothing_at_50_km(
    east, north, km, points, why
):
    there = leader(easting=SCHOOL_EAST + east, northing=SCHOOL_NORTH + north)
    match = score(need(), school(), there, TODAY)

    assert match.distance_km == pytest.approx(km)
    assert part(match, "Distance").points == points
    assert part(match, "Distance").why == why


@pytest.mark.parametrize(
    ("school_changes", "leader_changes"),
    [
        ({}, {"easting": None, "northing": None}),
        ({"easting": None, "northing": None}, {}),
        ({}, {"northing": None}),
    ],
    ids=["leader-unlocated", "school-unlocated", "half-a-grid-reference"],
)
def test_unknown_coordinates_give_no_distance_points_and_say_so(school_changes, leader_changes):
    match = score(need(), school(**school_changes), leader(**leader_changes), TODAY)

    assert match.distance_km is None
    assert part(match, "Distance").points == 0
    assert part(match, "Distance").why == "Distance unknown."
    assert not match.excluded


def test_prior_work_with_the_school_is_worth_10_points():
    before = score(need(), school(), leader(worked_with_school=True), TODAY)
    never = score(need(), school(), leader(worked_with_school=False), TODAY)

    assert part(before, "Prior work").points == 10
    assert part(before, "Prior work").why == "Has supported this school before."
    assert part(never, "Prior work").points == 0
    assert part(never, "Prior work").why == "Has not supported this school before."
    assert before.score - never.score == 10


def test_total_is_the_sum_of_the_parts_shown():
    match = score(
        need({"maths", "send", "pe"}, days="6"),
        school(phase="all_through"),
        leader(
            phases=frozenset({"primary"}),
            remaining_days=Decimal("2"),
            easting=SCHOOL_EAST + 25_000,
            worked_with_school=False,
        ),
        TODAY,
    )

    # 13.3 specialism + 10 phase + 5 capacity + 7.5 distance + 0 prior work
    assert match.score == pytest.approx(35.8)
    assert match.score == pytest.approx(sum(p.points for p in match.parts))


# ------------------------------------------------------------------------- hard conflicts


@pytest.mark.parametrize(
    ("school_changes", "leader_changes", "reason"),
    [
        ({"pk": 2}, {}, "Works at this school."),
        ({"trust_id": 50}, {}, "Based in the same trust as the school."),
        ({}, {"remaining_days": Decimal("0")}, "No capacity left this term."),
        ({}, {"remaining_days": Decimal("-2.5")}, "No capacity left this term."),
        (
            {},
            {"accreditation_expires": TODAY - datetime.timedelta(days=1)},
            "Accreditation expired on 24 Nov 2026.",
        ),
        ({}, {"active": False}, "Not active."),
    ],
    ids=["works-there", "same-trust", "full", "over-committed", "expired-yesterday", "inactive"],
)
def test_each_hard_conflict_excludes_the_leader_with_its_reason(
    school_changes, leader_changes, reason
):
    match = score(need(), school(**school_changes), leader(**leader_changes), TODAY)

    assert match.excluded
    assert match.conflicts == (reason,)


def test_accreditation_expiring_today_is_still_valid():
    match = score(need(), school(), leader(accreditation_expires=TODAY), TODAY)

    assert match.conflicts == ()
    assert not match.excluded


def test_no_accreditation_date_recorded_is_not_a_conflict():
    match = score(need(), school(), leader(accreditation_expires=None), TODAY)

    assert not match.excluded


def test_a_school_in_no_trust_shares_no_trust_with_anyone():
    match = score(need(), school(trust_id=None), leader(home_trust_ids=frozenset({50})), TODAY)

    assert not match.excluded


def test_every_conflict_a_leader_has_is_shown_not_just_the_first():
    match = score(
        need(),
        school(pk=2, trust_id=50),
        leader(
            remaining_days=Decimal("0"),
            accreditation_expires=datetime.date(2026, 3, 9),
            active=False,
        ),
        TODAY,
    )

    assert match.conflicts == (
        "Works at this school.",
        "Based in the same trust as the school.",
        "No capacity left this term.",
        "Accreditation expired on 9 Mar 2026.",
        "Not active.",
    )


def test_an_excluded_leader_still_shows_their_score_so_an_override_can_be_judged():
    match = score(need(), school(), leader(active=False), TODAY)

    assert match.excluded
    assert match.score == 100


# ------------------------------------------------------------------------------- ranking


def test_shortlist_is_best_score_first_then_by_name_and_excluded_leaders_are_set_apart():
    cases = [
        leader(pk=1, name="Zara Near", worked_with_school=True),  # 100
        leader(pk=2, name="Bea Tie", worked_with_school=False),  # 90
        leader(pk=3, name="Al Tie", worked_with_school=False),  # 90
        leader(pk=4, name="Cy Far", easting=SCHOOL_EAST + 60_000),  # 85
        leader(pk=5, name="Aaron Inactive", active=False),  # 100 but excluded
        leader(pk=6, name="Dee Full", remaining_days=Decimal("0")),  # excluded
    ]
    eligible, excluded = rank([score(need(), school(), c, TODAY) for c in cases])

    assert [(m.leader.name, m.score) for m in eligible] == [
        ("Zara Near", 100),
        ("Al Tie", 90),
        ("Bea Tie", 90),
        ("Cy Far", 85),
    ]
    assert [m.leader.name for m in excluded] == ["Aaron Inactive", "Dee Full"]


def test_ranking_nobody_gives_empty_lists():
    assert rank([]) == ([], [])


# --------------------------------------------------------------- properties of any shortlist

PHASES = [*Organisation.Phase.values, ""]
SPECIALISMS = ["maths", "english", "send", "leadership", "pe"]
halves = st.integers(min_value=-20, max_value=60).map(lambda n: Decimal(n) / 2)
coordinates = st.one_of(
    st.tuples(st.none(), st.none()),
    st.tuples(
        st.integers(min_value=0, max_value=700_000), st.integers(min_value=0, max_value=1_300_000)
    ),
)
expiry = st.one_of(
    st.none(), st.integers(min_value=-5, max_value=5).map(lambda d: TODAY + datetime.timedelta(d))
)


def _located(cls, **fields):
    """``cls`` built with a grid reference that is either whole or missing."""
    return st.builds(
        lambda where, **kw: cls(easting=where[0], northing=where[1], **kw), coordinates, **fields
    )


any_leader = _located(
    LeaderFacts,
    pk=st.just(0),
    name=st.sampled_from(["Ann", "Bob", "Cat", "Dev", "ann"]),
    specialisms=st.frozensets(st.sampled_from(SPECIALISMS)),
    phases=st.frozensets(st.sampled_from(Organisation.Phase.values)),
    remaining_days=halves,
    home_ids=st.frozensets(st.integers(min_value=1, max_value=5), max_size=2),
    home_trust_ids=st.frozensets(st.integers(min_value=1, max_value=4), max_size=2),
    accreditation_expires=expiry,
    active=st.booleans(),
    worked_with_school=st.booleans(),
)
any_school = _located(
    SchoolFacts,
    pk=st.integers(min_value=1, max_value=5),
    phase=st.sampled_from(PHASES),
    trust_id=st.one_of(st.none(), st.integers(min_value=1, max_value=4)),
)
any_need = st.builds(
    NeedFacts,
    specialisms=st.frozensets(st.sampled_from(SPECIALISMS)),
    days_sought=st.integers(min_value=1, max_value=400).map(lambda n: Decimal(n) / 2),
)
scenarios = st.tuples(
    any_need,
    any_school,
    # Leaders numbered 1, 2, 3... so each can be found again after ranking.
    st.lists(any_leader, max_size=8).map(
        lambda leaders: [dataclasses.replace(f, pk=n) for n, f in enumerate(leaders, 1)]
    ),
)


def expected_conflict(school_facts: SchoolFacts, facts: LeaderFacts) -> bool:
    """The issue's hard conflicts, restated independently of ``score``."""
    return (
        school_facts.pk in facts.home_ids
        or (school_facts.trust_id is not None and school_facts.trust_id in facts.home_trust_ids)
        or facts.remaining_days <= 0
        or (facts.accreditation_expires is not None and facts.accreditation_expires < TODAY)
        or not facts.active
    )


PROPERTY_SETTINGS = settings(max_examples=200, deadline=None)


@PROPERTY_SETTINGS
@given(scenarios)
def test_property_a_leader_with_a_conflict_never_ranks_and_nobody_is_lost(scenario):
    the_need, the_school, leaders = scenario
    eligible, excluded = rank([score(the_need, the_school, f, TODAY) for f in leaders])

    assert all(not m.conflicts for m in eligible)
    assert all(m.conflicts for m in excluded)
    assert sorted(m.leader.pk for m in eligible + excluded) == [f.pk for f in leaders]
    for m in eligible:
        assert not expected_conflict(the_school, m.leader)
    for m in excluded:
        assert expected_conflict(the_school, m.leader)


@PROPERTY_SETTINGS
@given(scenarios)
def test_property_scores_stay_within_0_to_100_and_add_up(scenario):
    the_need, the_school, leaders = scenario
    for facts in leaders:
        match = score(the_need, the_school, facts, TODAY)

        assert 0 <= match.score <= 100
        assert match.score == pytest.approx(sum(p.points for p in match.parts), abs=1e-9)
        assert sum(p.out_of for p in match.parts) == 100
        for p in match.parts:
            assert 0 <= p.points <= p.out_of, p


@PROPERTY_SETTINGS
@given(scenarios)
def test_property_shortlist_is_sorted_best_first_with_ties_by_name(scenario):
    the_need, the_school, leaders = scenario
    eligible, excluded = rank([score(the_need, the_school, f, TODAY) for f in leaders])

    keys = [(-m.score, m.leader.name) for m in eligible]
    assert keys == sorted(keys)
    assert [m.leader.name for m in excluded] == sorted(m.leader.name for m in excluded)


# --------------------------------------------------------------------------------- terms


@pytest.mark.parametrize(
    ("day", "name", "start", "end"),
    [
        (datetime.date(2026, 9, 1), "Autumn 2026", (2026, 9, 1), (2026, 12, 31)),
        (datetime.date(2026, 12, 31), "Autumn 2026", (2026, 9, 1), (2026, 12, 31)),
        (datetime.date(2027, 1, 1), "Spring 2027", (2027, 1, 1), (2027, 3, 31)),
        (datetime.date(2027, 3, 31), "Spring 2027", (2027, 1, 1), (2027, 3, 31)),
        (datetime.date(2027, 4, 1), "Summer 2027", (2027, 4, 1), (2027, 8, 31)),
        (datetime.date(2027, 8, 31), "Summer 2027", (2027, 4, 1), (2027, 8, 31)),
    ],
)
def test_term_of_a_day_autumn_sep_to_dec_spring_jan_to_mar_summer_apr_to_aug(
    day, name, start, end
):
    term = term_of(day)

    assert str(term) == name
    assert (term.start, term.end) == (datetime.date(*start), datetime.date(*end))


def test_a_commission_from_november_to_july_spans_three_terms():
    terms = terms_between(datetime.date(2026, 11, 2), datetime.date(2027, 7, 16))

    assert [str(t) for t in terms] == ["Autumn 2026", "Spring 2027", "Summer 2027"]


def test_a_commission_inside_one_term_spans_just_that_term():
    terms = terms_between(datetime.date(2027, 1, 5), datetime.date(2027, 3, 20))

    assert [str(t) for t in terms] == ["Spring 2027"]


def test_a_commission_over_the_new_year_spans_two_terms():
    terms = terms_between(datetime.date(2026, 12, 31), datetime.date(2027, 1, 1))

    assert [str(t) for t in terms] == ["Autumn 2026", "Spring 2027"]


@pytest.mark.parametrize(
    ("days", "start", "end", "each"),
    [
        ("12", (2026, 11, 2), (2027, 7, 16), "4.00"),
        ("6", (2027, 1, 5), (2027, 3, 20), "6.00"),
        ("10", (2026, 11, 2), (2027, 7, 16), "3.33"),
        ("7", (2026, 12, 1), (2027, 2, 1), "3.50"),
    ],
)
def test_days_per_term_spreads_a_commission_evenly(days, start, end, each):
    spread = days_per_term(Decimal(days), datetime.date(*start), datetime.date(*end))

    assert spread == Decimal(each)


# ------------------------------------------------------------------ against the database


def _by_pk(eligible, excluded):
    return {m.leader.pk: m for m in [*eligible, *excluded]}


def test_leader_from_the_schools_own_trust_is_excluded(hub, coordinator, other_trust_leader):
    trust = TrustFactory(hub=hub, name="Calder Trust")
    school_in_trust = SchoolFactory(hub=hub, parent_trust=trust, name="Calder Primary")
    sister_school = SchoolFactory(hub=hub, parent_trust=trust, name="Calder Juniors")
    at_sister_school = system_leader(sister_school)
    at_trust_office = system_leader(trust)
    request = request_via_services(actor=coordinator, school=school_in_trust)

    eligible, excluded = match_leaders_for(
        request=request, user=coordinator, today=timezone.localdate()
    )

    matches = _by_pk(eligible, excluded)
    for profile in (at_sister_school, at_trust_office):
        assert matches[profile.pk] in excluded
        assert matches[profile.pk].conflicts == ("Based in the same trust as the school.",)
    assert matches[other_trust_leader.pk] in eligible


def test_leader_whose_commissions_use_all_their_days_this_term_is_excluded(
    coordinator, trust_lead, lead_trust, leader_profile, brokering_request, neighbour_school
):
    today = timezone.localdate()
    term = term_of(today)
    leader_profile.capacity_days_per_term = Decimal("6")
    leader_profile.save()
    commission_via_services(
        coordinator=coordinator,
        trust_lead=trust_lead,
        request=brokering_request,
        trust=lead_trust,
        leader=leader_profile,
        days="6",
        start=term.start,
        end=term.end,
    )
    new_request = request_via_services(actor=coordinator, school=neighbour_school)

    eligible, excluded = match_leaders_for(request=new_request, user=coordinator, today=today)

    match = _by_pk(eligible, excluded)[leader_profile.pk]
    assert match in excluded
    assert match.conflicts == ("No capacity left this term.",)
    assert part(match, "Capacity").why == "0 days free this term for 6 sought."


def test_capacity_counts_only_this_terms_share_of_a_commission(
    coordinator, trust_lead, lead_trust, leader_profile, brokering_request, neighbour_school
):
    """10 days free a term; a 6-day commission spread over this term and the next two
    takes 2 of them, leaving 8 for a request seeking 6: full capacity points."""
    today = timezone.localdate()
    this_term = term_of(today)
    terms = terms_between(this_term.start, this_term.end + datetime.timedelta(days=200))
    assert len(terms) == 3
    commission_via_services(
        coordinator=coordinator,
        trust_lead=trust_lead,
        request=brokering_request,
        trust=lead_trust,
        leader=leader_profile,
        days="6",
        start=terms[0].start,
        end=terms[-1].end,
    )
    new_request = request_via_services(actor=coordinator, school=neighbour_school)

    eligible, excluded = match_leaders_for(request=new_request, user=coordinator, today=today)

    match = _by_pk(eligible, excluded)[leader_profile.pk]
    assert match in eligible
    assert part(match, "Capacity").why == "8 days free this term for 6 sought."
    assert part(match, "Capacity").points == 15


@pytest.mark.parametrize("when", ["last term", "next term"])
def test_commissions_in_other_terms_leave_this_terms_days_free(
    when, coordinator, trust_lead, lead_trust, leader_profile, brokering_request, neighbour_school
):
    today = timezone.localdate()
    this_term = term_of(today)
    other = (
        term_of(this_term.start - datetime.timedelta(days=1))
        if when == "last term"
        else term_of(this_term.end + datetime.timedelta(days=1))
    )
    commission_via_services(
        coordinator=coordinator,
        trust_lead=trust_lead,
        request=brokering_request,
        trust=lead_trust,
        leader=leader_profile,
        days="10",
        start=other.start,
        end=other.end,
    )
    new_request = request_via_services(actor=coordinator, school=neighbour_school)

    eligible, excluded = match_leaders_for(request=new_request, user=coordinator, today=today)

    match = _by_pk(eligible, excluded)[leader_profile.pk]
    assert match in eligible
    assert part(match, "Capacity").why == "10 days free this term for 6 sought."


def test_leader_who_has_supported_the_school_before_earns_prior_work_points(
    commission, coordinator, supported_school, leader_profile, other_trust_leader
):
    again = request_via_services(actor=coordinator, school=supported_school, title="Reading")

    eligible, excluded = match_leaders_for(
        request=again, user=coordinator, today=timezone.localdate()
    )

    matches = _by_pk(eligible, excluded)
    assert matches[leader_profile.pk] in eligible
    assert part(matches[leader_profile.pk], "Prior work").points == 10
    assert part(matches[leader_profile.pk], "Prior work").why == (
        "Has supported this school before."
    )
    assert part(matches[other_trust_leader.pk], "Prior work").points == 0


def test_another_hubs_leaders_never_appear_in_the_match(
    coordinator, brokering_request, other_trust_leader, other_leader_profile
):
    eligible, excluded = match_leaders_for(
        request=brokering_request, user=coordinator, today=timezone.localdate()
    )

    pks = {m.leader.pk for m in [*eligible, *excluded]}
    assert other_trust_leader.pk in pks
    assert other_leader_profile.pk not in pks


def test_matching_from_the_database_scores_what_the_profile_says(
    hub, coordinator, supported_school
):
    """Specialisms, phases, distance from the home school's grid reference and an expired
    accreditation all reach the score from the rows a coordinator edits."""
    leadership = Specialism.objects.get(code="leadership")
    trust = TrustFactory(hub=hub)
    home = SchoolFactory(
        hub=hub,
        parent_trust=trust,
        easting=supported_school.easting + 25_000,
        northing=supported_school.northing,
    )
    fits = system_leader(home, phases=["primary"])
    fits.specialisms.add(leadership)
    expired = system_leader(
        SchoolFactory(hub=hub, parent_trust=trust),
        accreditation_expires=timezone.localdate() - datetime.timedelta(days=1),
    )
    request = request_via_services(actor=coordinator, school=supported_school)

    eligible, excluded = match_leaders_for(
        request=request, user=coordinator, today=timezone.localdate()
    )

    matches = _by_pk(eligible, excluded)
    good = matches[fits.pk]
    assert good in eligible
    assert [(p.name, p.points) for p in good.parts] == [
        ("Specialism", 40),
        ("Phase", 20),
        ("Capacity", 15),
        ("Distance", 7.5),
        ("Prior work", 0),
    ]
    assert good.score == 82.5
    assert matches[expired.pk] in excluded
    assert matches[expired.pk].conflicts[0].startswith("Accreditation expired on ")


def test_inactive_leaders_and_deactivated_accounts_are_excluded(
    coordinator, brokering_request, other_trust_leader, leader_profile
):
    other_trust_leader.active = False
    other_trust_leader.save()
    leader_profile.user.is_active = False
    leader_profile.user.save()

    eligible, excluded = match_leaders_for(
        request=brokering_request, user=coordinator, today=timezone.localdate()
    )

    matches = _by_pk(eligible, excluded)
    for profile in (other_trust_leader, leader_profile):
        assert matches[profile.pk] in excluded
        assert matches[profile.pk].conflicts == ("Not active.",)


def _leaders(hub, count, specialisms):
    trust = TrustFactory(hub=hub)
    for _ in range(count):
        home = SchoolFactory(hub=hub, parent_trust=trust)
        profile = system_leader(home, phases=["primary", "secondary"])
        profile.specialisms.add(*specialisms)
        # A second home (the trust itself), so memberships are more than one per leader.
        MembershipFactory(user=profile.user, organisation=trust, role="system_leader")


def test_matching_takes_the_same_number_of_queries_for_3_or_20_leaders(
    hub, coordinator, brokering_request
):
    specialisms = list(Specialism.objects.filter(code__in=["leadership", "maths"]))
    today = timezone.localdate()
    _leaders(hub, 3, specialisms)
    match_leaders_for(request=brokering_request, user=coordinator, today=today)  # warm caches

    with CaptureQueriesContext(connection) as three:
        eligible, excluded = match_leaders_for(
            request=brokering_request, user=coordinator, today=today
        )
    assert len(eligible) + len(excluded) == 3

    _leaders(hub, 17, specialisms)
    with CaptureQueriesContext(connection) as twenty:
        eligible, excluded = match_leaders_for(
            request=brokering_request, user=coordinator, today=today
        )
    assert len(eligible) + len(excluded) == 20

    assert len(twenty) == len(three)
