"""The private calendar feed: what each person's feed holds (and never holds), its secret
address and revoking it, and a fixed number of queries however many visits."""

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from icalendar import Calendar

from brokerage import services as brokerage
from brokerage.models import ReportingDeadline
from brokerage.tests.factories import commission_via_services, request_via_services
from deployments import services as deployments
from deployments.tests.factories import (
    add_supporting_leader,
    days_ago,
    lead_deployment,
    record_visit,
    started_offer,
    today,
)
from reporting import calendar
from reporting.models import CalendarFeed
from reporting.tests.factories import approved_report
from trust.models import Organisation, Role
from trust.tests.factories import SchoolFactory, member

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
SITE = "https://brokerage.example.org"
HOST = "brokerage.example.org"
SCHOOL = "Moorside Primary School"
# Words from a Record of Visit that must never reach a calendar provider.
SECRETS = ("Pupil A disclosed", "Follow up with the DSL", "Mrs Jones (DSL)")


@pytest.fixture(autouse=True)
def fixed_today(time_machine, settings):
    settings.SITE_URL = SITE
    time_machine.move_to(datetime.datetime(2026, 11, 30, 10, 0, tzinfo=LONDON), tick=False)


@pytest.fixture
def open_offer(coordinator, brokering_request, lead_trust, leader_profile):
    """Support that began a term ago, so visits can be logged in the past."""
    return started_offer(
        coordinator=coordinator, request=brokering_request, trust=lead_trust, leader=leader_profile
    )


@pytest.fixture
def funded(commission, coordinator, oa_stream):
    brokerage.commission_set_funding(
        commission=commission, actor=coordinator, allocations=[(oa_stream, Decimal("2000"))]
    )
    return commission


@pytest.fixture
def other_trust_commission(hub, coordinator, other_trust_leader):
    """Support in the same hub led by another trust, for another school."""
    trust = Organisation.objects.get(name="Pennine Crest Academies")
    return commission_via_services(
        coordinator=coordinator,
        trust_lead=member(Role.TRUST_LEAD, trust, full_name="Priya Pennine"),
        request=request_via_services(
            actor=coordinator, school=SchoolFactory(hub=hub, name="Pennine Valley Infants")
        ),
        trust=trust,
        leader=other_trust_leader,
    )


@pytest.fixture
def other_hub_commission(other_hub, other_trust, other_leader_profile, outsider):
    return commission_via_services(
        coordinator=outsider,
        trust_lead=member(Role.TRUST_LEAD, other_trust),
        request=request_via_services(
            actor=outsider, school=SchoolFactory(hub=other_hub, name="Distant Primary")
        ),
        trust=other_trust,
        leader=other_leader_profile,
    )


@pytest.fixture
def visits(commission, leader):
    """A visit logged ten days ago (with a safeguarding concern) and one planned."""
    deployment = lead_deployment(commission)
    visit = record_visit(
        deployment,
        date=days_ago(10),
        mode="virtual",
        duration_hours=Decimal("1.5"),
        summary=f"{SECRETS[0]} something during the reading lesson.",
        next_steps=SECRETS[1],
        people_met=SECRETS[2],
        safeguarding_concern=True,
    )
    planned = deployments.visit_plan(
        deployment=deployment,
        actor=leader,
        date=today() + datetime.timedelta(days=14),
        mode="in_person",
    )
    return visit, planned


def fetch(user) -> bytes:
    """The feed as a calendar app gets it: no session, only the secret address."""
    response = Client().get(
        reverse("reporting:calendar_feed", args=[calendar.feed_for(user).token])
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    return response.content


def events(user) -> dict[str, dict]:
    cal = Calendar.from_ical(fetch(user))
    return {
        str(e["uid"]): {
            "summary": str(e["summary"]),
            "start": e.decoded("dtstart"),
            "end": e.decoded("dtend"),
            "description": str(e["description"]),
            "url": str(e["url"]),
        }
        for e in cal.walk("VEVENT")
    }


def deadline_uids(commission) -> set[str]:
    return {f"deadline-{pk}@{HOST}" for pk in commission.deadlines.values_list("pk", flat=True)}


# ========================================================================= content


def test_the_feed_is_a_named_calendar_that_refreshes_hourly(trust_lead):
    cal = Calendar.from_ical(fetch(trust_lead))
    assert cal.name == "VCALENDAR"
    assert str(cal["version"]) == "2.0"
    assert str(cal["prodid"]) == calendar.PRODID
    assert str(cal["x-wr-calname"]) == "Support brokerage: Sarah Whitaker"
    assert cal.decoded("refresh-interval") == datetime.timedelta(hours=1)
    assert str(cal["x-published-ttl"]) == "PT1H"


def test_the_trust_lead_sees_their_commissions_deadlines_as_all_day_events(commission, trust_lead):
    interim = commission.deadlines.get(kind="interim")
    found = events(trust_lead)
    assert set(found) == deadline_uids(commission)
    event = found[f"deadline-{interim.pk}@{HOST}"]
    assert event["summary"] == f"Interim report due: {SCHOOL}"
    assert event["start"] == interim.due
    assert not isinstance(event["start"], datetime.datetime)
    assert event["end"] == interim.due + datetime.timedelta(days=1)
    assert event["url"].startswith(f"{SITE}/reports/?q=")
    assert event["url"] in event["description"]
    assert "Not started" in event["description"]
    final = commission.deadlines.get(kind="final")
    assert found[f"deadline-{final.pk}@{HOST}"]["summary"] == f"Final report due: {SCHOOL}"


@pytest.mark.parametrize(
    "person, sees_ours, sees_other_trusts, sees_other_hubs",
    [
        ("coordinator", True, True, False),
        ("qa_lead", True, True, False),
        ("trust_lead", True, False, False),
        ("leader", True, False, False),
        ("outsider", False, False, True),
        ("school_contact", False, False, False),
        ("funder_viewer", False, False, False),
    ],
)
def test_each_person_follows_only_the_deadlines_they_report_on(
    request,
    person,
    sees_ours,
    sees_other_trusts,
    sees_other_hubs,
    commission,
    other_trust_commission,
    other_hub_commission,
):
    expected = set()
    for commission_, sees in (
        (commission, sees_ours),
        (other_trust_commission, sees_other_trusts),
        (other_hub_commission, sees_other_hubs),
    ):
        if sees:
            expected |= deadline_uids(commission_)
    assert set(events(request.getfixturevalue(person))) == expected


def test_an_approved_reports_deadline_leaves_the_feed(funded, leader, trust_lead, qa_lead):
    interim = funded.deadlines.get(kind="interim")
    final = funded.deadlines.get(kind="final")
    assert f"deadline-{interim.pk}@{HOST}" in events(trust_lead)
    approved_report(funded, leader, trust_lead, qa_lead)
    found = events(trust_lead)
    assert f"deadline-{interim.pk}@{HOST}" not in found
    assert f"deadline-{final.pk}@{HOST}" in found


def test_deadlines_far_ahead_or_long_past_are_left_out(commission, trust_lead):
    interim = commission.deadlines.get(kind="interim")
    final = commission.deadlines.get(kind="final")
    ReportingDeadline.objects.filter(pk=interim.pk).update(due=days_ago(400))
    ReportingDeadline.objects.filter(pk=final.pk).update(
        due=today() + datetime.timedelta(days=800)
    )
    assert events(trust_lead) == {}


def test_the_leader_sees_logged_and_planned_visits(commission, leader, visits):
    visit, planned = visits
    found = events(leader)
    logged = found[f"visit-{visit.pk}@{HOST}"]
    assert logged["summary"] == f"Visit: {SCHOOL} (Video call)"
    assert logged["start"] == days_ago(10)
    assert "1.5 hours" in logged["description"]
    assert logged["url"] == SITE + reverse("deployments:visit_detail", args=[visit.pk])
    coming = found[f"planned-visit-{planned.pk}@{HOST}"]
    assert coming["summary"] == f"Planned visit: {SCHOOL}"
    assert coming["start"] == planned.date
    assert set(found) == deadline_uids(commission) | {
        f"visit-{visit.pk}@{HOST}",
        f"planned-visit-{planned.pk}@{HOST}",
    }


@pytest.mark.parametrize("person", ["trust_lead", "coordinator", "qa_lead", "school_contact"])
def test_visits_are_only_in_the_leaders_feed(request, person, visits):
    found = events(request.getfixturevalue(person))
    assert not [uid for uid in found if "visit" in uid]


def test_a_supporting_leader_sees_their_own_visits_not_the_leads(commission, lead_trust, visits):
    deployment = add_supporting_leader(commission, lead_trust)
    own = record_visit(deployment, date=days_ago(3))
    found = events(deployment.leader.user)
    assert set(found) == {f"visit-{own.pk}@{HOST}"}
    assert found[f"visit-{own.pk}@{HOST}"]["summary"] == f"Visit: {SCHOOL} (In person)"


def test_a_planned_visit_once_logged_shows_as_the_visit(commission, leader):
    deployment = lead_deployment(commission)
    planned = deployments.visit_plan(
        deployment=deployment, actor=leader, date=today(), mode="virtual"
    )
    assert f"planned-visit-{planned.pk}@{HOST}" in events(leader)
    visit = record_visit(deployment)
    planned.refresh_from_db()
    assert planned.visit == visit
    found = events(leader)
    assert f"planned-visit-{planned.pk}@{HOST}" not in found
    assert f"visit-{visit.pk}@{HOST}" in found


def test_no_record_of_visit_text_or_safeguarding_reaches_the_feed(leader, visits):
    # Unfolded and unescaped, so a long line or a comma cannot hide a leak.
    body = fetch(leader).decode().replace("\r\n ", "").replace("\\", "")
    assert f"visit-{visits[0].pk}@" in body
    for secret in SECRETS:
        assert secret not in body
    assert "safeguarding" not in body.lower()
    assert "DSL" not in body


def test_the_feed_is_the_same_on_a_second_request(leader, visits):
    first = fetch(leader)
    assert fetch(leader) == first
    assert [e["uid"] for e in Calendar.from_ical(first).walk("VEVENT")] == [
        e["uid"] for e in Calendar.from_ical(fetch(leader)).walk("VEVENT")
    ]


def test_queries_do_not_grow_with_the_number_of_visits(
    commission, leader, trust_lead, visits, django_assert_max_num_queries
):
    url = reverse("reporting:calendar_feed", args=[calendar.feed_for(leader).token])
    with CaptureQueriesContext(connection) as one:
        assert Client().get(url).status_code == 200
    # Counted now: the next request clears the connection's query log.
    queries = len(one)
    assert queries <= 6
    deployment = lead_deployment(commission)
    for n in range(2, 8):
        record_visit(deployment, date=days_ago(n * 5))
    for n in range(1, 4):
        deployments.visit_plan(
            deployment=deployment,
            actor=leader,
            date=today() + datetime.timedelta(days=n * 7 + 1),
            mode="telephone",
        )
    assert len(events(leader)) == 2 + 1 + 6 + 1 + 3
    with django_assert_max_num_queries(queries):
        assert Client().get(url).status_code == 200


# ================================================================ secret address


def test_an_unknown_token_is_not_found(client, trust_lead):
    calendar.feed_for(trust_lead)
    url = reverse("reporting:calendar_feed", args=["not-a-real-token"])
    assert client.get(url).status_code == 404
    assert client.get("/calendar/.ics").status_code == 404


def test_an_inactive_users_feed_is_not_found(trust_lead):
    token = calendar.feed_for(trust_lead).token
    url = reverse("reporting:calendar_feed", args=[token])
    assert Client().get(url).status_code == 200
    trust_lead.is_active = False
    trust_lead.save(update_fields=["is_active"])
    assert Client().get(url).status_code == 404


def test_the_feed_answers_get_only(trust_lead):
    url = reverse("reporting:calendar_feed", args=[calendar.feed_for(trust_lead).token])
    assert Client().post(url).status_code == 405


def test_the_settings_page_shows_the_address_and_a_webcal_link(client, trust_lead):
    client.force_login(trust_lead)
    response = client.get(reverse("reporting:calendar_settings"))
    assert response.status_code == 200
    token = CalendarFeed.objects.get(user=trust_lead).token
    assert f'value="{SITE}/calendar/{token}.ics"' in response.text
    assert f'href="webcal://{HOST}/calendar/{token}.ics"' in response.text
    assert "Make a new address" in response.text
    # Looking again does not change the address.
    client.get(reverse("reporting:calendar_settings"))
    assert CalendarFeed.objects.get(user=trust_lead).token == token


def test_making_a_new_address_revokes_the_old_one(trust_lead, commission):
    client = Client(enforce_csrf_checks=True)
    client.force_login(trust_lead)
    page = client.get(reverse("reporting:calendar_settings"))
    old = CalendarFeed.objects.get(user=trust_lead).token
    old_url = reverse("reporting:calendar_feed", args=[old])
    assert Client().get(old_url).status_code == 200

    # Without the CSRF token nothing changes.
    assert client.post(reverse("reporting:calendar_settings")).status_code == 403
    assert CalendarFeed.objects.get(user=trust_lead).token == old

    response = client.post(
        reverse("reporting:calendar_settings"),
        {"csrfmiddlewaretoken": page.context["csrf_token"]},
    )
    assert response.status_code == 302
    assert response.url == reverse("reporting:calendar_settings")
    assert ["new address" in str(m) for m in get_messages(response.wsgi_request)] == [True]
    new = CalendarFeed.objects.get(user=trust_lead).token
    assert new != old
    assert Client().get(old_url).status_code == 404
    assert Client().get(reverse("reporting:calendar_feed", args=[new])).status_code == 200
    assert set(events(trust_lead)) == deadline_uids(commission)
    page = client.get(reverse("reporting:calendar_settings"))
    assert new in page.text and old not in page.text


def test_feed_revoke_makes_a_feed_for_someone_without_one(trust_lead):
    feed = calendar.feed_revoke(trust_lead)
    assert CalendarFeed.objects.get(user=trust_lead) == feed
    assert calendar.feed_for(trust_lead).token == feed.token


def test_each_persons_token_opens_only_their_own_feed(trust_lead, leader, visits):
    assert calendar.feed_for(trust_lead).token != calendar.feed_for(leader).token
    assert not [uid for uid in events(trust_lead) if "visit" in uid]


def test_the_preferences_page_links_to_the_calendar(client, trust_lead):
    client.force_login(trust_lead)
    response = client.get(reverse("reporting:notification_preferences"))
    assert reverse("reporting:calendar_settings") in response.text
    assert "Add your deadlines and visits to your calendar" in response.text
