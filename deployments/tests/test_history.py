"""The history of plans, objectives and visits on their pages, and the safeguarding rules
around it: what a flagged visit said stays with the hub, the Lead System Leader and its
author, and every opening of a flagged visit is written to the audit log."""

import datetime
import re
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from deployments import services
from deployments.models import Visit
from deployments.tests.factories import (
    add_objective,
    add_supporting_leader,
    lead_deployment,
    objective_fields,
    record_visit,
    started_offer,
    visit_post,
)
from trust.models import AuditEvent

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
SECRET = "Named pupil disclosed a worry at break."


@pytest.fixture(autouse=True)
def fixed_today(time_machine):
    time_machine.move_to(datetime.datetime(2026, 11, 30, 10, 0, tzinfo=LONDON), tick=False)


@pytest.fixture
def open_offer(coordinator, brokering_request, lead_trust, leader_profile):
    return started_offer(
        coordinator=coordinator, request=brokering_request, trust=lead_trust, leader=leader_profile
    )


@pytest.fixture
def deployment(commission):
    return lead_deployment(commission)


@pytest.fixture
def objective(commission, leader):
    return add_objective(commission, leader, title="Reading fluency")


@pytest.fixture
def supporting(commission, lead_trust):
    return add_supporting_leader(commission, lead_trust)


@pytest.fixture
def supporting_leader(supporting):
    return supporting.leader.user


def as_user(client, user):
    client.force_login(user)
    return client


def text_of(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def edit(client, visit, **fields):
    url = reverse("deployments:visit_edit", args=[visit.pk])
    response = client.post(url, visit_post(key=str(visit.idempotency_key), **fields))
    assert response.status_code == 302, response.content.decode()[:3000]
    return response


# ------------------------------------------------------------------ visit history


def test_a_corrected_visit_shows_what_changed_and_who_changed_it(client, leader, deployment):
    visit = record_visit(deployment)
    as_user(client, leader)
    edit(client, visit, summary="Corrected summary.", mode="virtual")
    page = text_of(client.get(visit.get_absolute_url()))
    assert "Changes to this record" in page
    assert f"{leader.full_name}: Changed" in page
    assert "Mode: “In person” → “Video call”" in page
    assert "Summary: “Observed three reading lessons and met the English lead.” → " in page
    assert f"{leader.full_name}: Created" in page


def test_the_schools_response_is_recorded_with_the_schools_name(
    client, school_contact, coordinator, deployment
):
    visit = record_visit(deployment)
    as_user(client, school_contact)
    url = reverse("deployments:visit_respond", args=[visit.pk])
    client.post(url, {"agreed": "no", "comment": "We met the deputy, not the head."})
    latest = visit.history.first()
    assert (latest.response, latest.history_user) == ("disagreed", school_contact)
    page = text_of(as_user(client, coordinator).get(visit.get_absolute_url()))
    # The user who responded is named, not numbered.
    assert f"Responded by: “—” → “{school_contact.full_name}”" in page


def test_text_written_while_a_visit_was_flagged_stays_with_those_who_may_read_it(
    client, leader, coordinator, school_contact, trust_lead, deployment
):
    visit = record_visit(deployment, safeguarding_concern=True, summary=SECRET)
    as_user(client, leader)
    # The author takes the detail out and lifts the flag: the school may now read the record.
    edit(client, visit, summary="Visit went ahead as planned.")
    for reader in (coordinator, leader):
        page = text_of(as_user(client, reader).get(visit.get_absolute_url()))
        assert f"Summary: “{SECRET}” → “Visit went ahead as planned.”" in page
        assert "Safeguarding concern: “Yes” → “No”" in page
    for other in (school_contact, trust_lead):
        response = as_user(client, other).get(visit.get_absolute_url())
        assert response.status_code == 200
        page = text_of(response)
        assert "Visit went ahead as planned." in page  # the record as it now stands
        assert SECRET not in page
        assert "Summary: changed (withheld" in page
        assert "Safeguarding concern" not in page
        assert "safeguarding concern was flagged" not in page.split("Changes to this record")[0]


@pytest.mark.parametrize("edits", [1, 24])
def test_visit_history_costs_the_same_queries_however_long_it_is(
    client, leader, school_contact, deployment, edits, django_assert_max_num_queries
):
    visit = record_visit(deployment)
    as_user(client, leader)
    for n in range(edits):
        edit(client, visit, summary=f"Correction {n}.", mode=["virtual", "telephone"][n % 2])
    services.visit_respond(visit=visit, actor=school_contact, agreed=True)
    with django_assert_max_num_queries(14):
        page = client.get(visit.get_absolute_url())
    total = edits + 2
    assert len(page.context["history"]) == min(total, 20)
    assert page.context["history"].total == total


# ------------------------------------------------------- plans and objectives


@pytest.mark.parametrize("edits", [1, 24])
def test_objective_and_plan_history_cost_the_same_queries_however_long(
    client, leader, trust_lead, commission, objective, edits, django_assert_max_num_queries
):
    for n in range(edits):
        services.objective_save(
            commission=commission,
            actor=[leader, trust_lead][n % 2],
            objective=objective,
            **objective_fields(title=f"Reading fluency {n}", rag=["red", "amber", "green"][n % 3]),
        )
        services.plan_save(
            commission=commission,
            actor=leader,
            scope=["subject", "faculty"][n % 2],
            scope_name=f"English {n}",
        )
    as_user(client, leader)
    with django_assert_max_num_queries(11):
        page = client.get(objective.get_absolute_url())
    assert page.context["history"].total == edits + 1
    assert "RAG: “" in text_of(page)
    with django_assert_max_num_queries(13):
        page = client.get(reverse("deployments:plan_detail", args=[commission.pk]))
    assert len(page.context["history"]) == min(edits + 1, 20)


# ------------------------------------------------------------ safeguarding log


@pytest.fixture
def flagged(deployment):
    return record_visit(deployment, safeguarding_concern=True, summary=SECRET)


def views_of(visit):
    return AuditEvent.objects.filter(
        action=AuditEvent.Action.SAFEGUARDING_VIEW,
        object_type="deployments.visit",
        object_id=str(visit.pk),
    )


@pytest.mark.parametrize("person", ["coordinator", "qa_lead", "leader"])
def test_each_opening_of_a_flagged_visit_is_logged_with_who_opened_it(
    client, person, flagged, request
):
    user = request.getfixturevalue(person)
    as_user(client, user)
    client.get(flagged.get_absolute_url(), HTTP_USER_AGENT="Phone browser")
    assert views_of(flagged).count() == 1
    client.get(flagged.get_absolute_url())
    events = list(views_of(flagged))
    assert len(events) == 2
    assert {(e.actor, e.email) for e in events} == {(user, user.email)}
    assert events[-1].user_agent == "Phone browser"
    assert events[0].object_label == str(flagged)


def test_opening_the_edit_page_of_a_flagged_visit_is_logged(client, leader, flagged):
    as_user(client, leader)
    url = reverse("deployments:visit_edit", args=[flagged.pk])
    assert client.get(url).status_code == 200
    assert [(e.actor, e.detail) for e in views_of(flagged)] == [(leader, url)]


@pytest.mark.parametrize(
    "person",
    [
        "trust_lead",
        "school_contact",
        "supporting_leader",
        "neighbour_contact",
        "funder_viewer",
        "outsider",
    ],
)
def test_others_get_404_for_a_flagged_visit_and_nothing_is_logged(
    client, person, flagged, request
):
    as_user(client, request.getfixturevalue(person))
    assert client.get(flagged.get_absolute_url()).status_code == 404
    assert client.get(reverse("deployments:visit_edit", args=[flagged.pk])).status_code == 404
    assert not views_of(flagged).exists()


def test_opening_an_unflagged_visit_is_not_logged(client, coordinator, deployment):
    visit = record_visit(deployment)
    as_user(client, coordinator).get(visit.get_absolute_url())
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.SAFEGUARDING_VIEW).exists()


def test_the_alert_to_the_hub_is_kept_in_the_visits_history(
    deployment, coordinator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        visit = record_visit(deployment, safeguarding_concern=True)
    visit = Visit.objects.get(pk=visit.pk)
    assert visit.safeguarding_alerted_at is not None
    assert visit.history.first().safeguarding_alerted_at == visit.safeguarding_alerted_at
