"""The deployment services: what a leader, a trust lead, a school and the hub notice when
plans are kept, visits recorded (and re-sent from a phone with a poor signal), responded to
and planned, and what they are told when the rules say no.

The clock is fixed on Monday 30 November 2026; the support began on 1 September 2026.
"""

import datetime
import logging
import threading
import time
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection

from brokerage.tests.factories import commission_via_services, request_via_services
from deployments import services, tasks
from deployments.models import ActionPlan, Deployment, Objective, PlannedVisit, Visit
from deployments.selectors import leader_deployments
from deployments.tests.factories import (
    add_objective,
    add_supporting_leader,
    days_ago,
    lead_deployment,
    objective_fields,
    record_visit,
    started_offer,
    today,
    visit_input,
)
from trust.models import Role, User
from trust.tests.factories import SchoolFactory, member, system_leader

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")


@pytest.fixture(autouse=True)
def fixed_today(time_machine):
    time_machine.move_to(datetime.datetime(2026, 11, 30, 10, 0, tzinfo=LONDON), tick=False)


@pytest.fixture
def open_offer(coordinator, brokering_request, lead_trust, leader_profile):
    """The shared offer, for support that began on 1 September."""
    return started_offer(
        coordinator=coordinator, request=brokering_request, trust=lead_trust, leader=leader_profile
    )


@pytest.fixture
def deployment(commission):
    return lead_deployment(commission)


@pytest.fixture
def objectives(commission, leader):
    return [
        add_objective(commission, leader, title="Reading fluency"),
        add_objective(commission, leader, title="Maths reasoning"),
    ]


@pytest.fixture
def supporting(commission, lead_trust):
    return add_supporting_leader(commission, lead_trust)


@pytest.fixture
def other_commission(coordinator, trust_lead, lead_trust, hub):
    """A second commission in the same hub with its own plan."""
    school = SchoolFactory(hub=hub, name="Westfield Primary")
    leader = system_leader(SchoolFactory(hub=hub, parent_trust=lead_trust))
    commission = commission_via_services(
        coordinator=coordinator,
        trust_lead=trust_lead,
        request=request_via_services(actor=coordinator, school=school),
        trust=lead_trust,
        leader=leader,
        start=days_ago(90),
    )
    add_objective(commission, trust_lead, title="Westfield attendance")
    return commission


def said(refusal) -> str:
    """Everything a refused user is told, as one string."""
    error = getattr(refusal, "value", refusal)
    return " ".join(error.messages)


# ===================================================================== recording


def test_recording_a_visit_saves_it_with_the_objectives_it_covered(deployment, leader, objectives):
    reading, maths = objectives
    visit, created = services.visit_record(
        deployment=deployment,
        actor=leader,
        key=uuid.uuid4(),
        data=visit_input(
            objective_ids=(reading.pk, maths.pk),
            progress=((reading.pk, "Fluency checks now weekly.", "amber"),),
        ),
    )

    assert created
    assert visit.deployment_id == deployment.pk
    assert visit.recorded_by == leader
    rows = {p.objective_id: (p.note, p.rag) for p in visit.progress.all()}
    assert rows == {reading.pk: ("Fluency checks now weekly.", "amber"), maths.pk: ("", "")}


def test_progress_rag_becomes_the_objectives_rag_and_its_history_names_the_leader(
    deployment, leader, objectives
):
    reading, maths = objectives
    record_visit(
        deployment,
        objective_ids=(reading.pk,),
        progress=((reading.pk, "", "green"), (maths.pk, "Started.", "")),
    )

    reading.refresh_from_db()
    maths.refresh_from_db()
    assert reading.rag == "green"
    assert maths.rag == ""
    latest = reading.history.first()
    assert (latest.rag, latest.history_user) == ("green", leader)


def test_a_back_dated_record_does_not_overwrite_a_newer_rag(deployment, objectives):
    reading, _ = objectives
    record_visit(deployment, objective_ids=(reading.pk,), progress=((reading.pk, "", "green"),))
    record_visit(
        deployment,
        date=days_ago(10),
        objective_ids=(reading.pk,),
        progress=((reading.pk, "Written up late.", "red"),),
    )
    reading.refresh_from_db()
    assert reading.rag == "green"


def test_days_used_go_up_as_soon_as_a_visit_is_recorded(deployment):
    assert Deployment.objects.get(pk=deployment.pk).days_used() == Decimal("0.0")

    record_visit(deployment, duration_hours=Decimal("6.5"))
    assert Deployment.objects.get(pk=deployment.pk).days_used() == Decimal("1.0")

    record_visit(deployment, duration_hours=Decimal("3.25"), date=days_ago(1))
    annotated = Deployment.objects.with_hours_used().get(pk=deployment.pk)
    assert annotated.days_used() == Decimal("1.5")


def test_a_visit_sent_twice_with_the_same_key_is_saved_once(deployment, leader):
    key = uuid.uuid4()
    first, created = services.visit_record(
        deployment=deployment, actor=leader, key=key, data=visit_input()
    )
    again, created_again = services.visit_record(
        deployment=deployment, actor=leader, key=key, data=visit_input()
    )

    assert created and not created_again
    assert again.pk == first.pk
    assert Visit.objects.count() == 1


def test_the_same_key_with_different_details_is_refused_not_merged(deployment, leader):
    key = uuid.uuid4()
    services.visit_record(deployment=deployment, actor=leader, key=key, data=visit_input())

    with pytest.raises(services.IdempotencyConflict):
        services.visit_record(
            deployment=deployment,
            actor=leader,
            key=key,
            data=visit_input(summary="Something else entirely."),
        )
    assert Visit.objects.get().summary == visit_input().summary


def test_a_key_used_on_another_deployment_is_refused(deployment, leader, supporting):
    key = uuid.uuid4()
    services.visit_record(deployment=deployment, actor=leader, key=key, data=visit_input())

    with pytest.raises(services.IdempotencyConflict):
        services.visit_record(
            deployment=supporting, actor=supporting.leader.user, key=key, data=visit_input()
        )
    assert Visit.objects.filter(deployment=supporting).count() == 0


@pytest.fixture
def on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: set DATABASE_URL to a PostgreSQL database")


def race(*jobs):
    """Run each job in its own thread with its own connection, released together."""
    barrier = threading.Barrier(len(jobs))
    outcomes: list = [None] * len(jobs)

    def run(index, job):
        try:
            barrier.wait(timeout=10)
            outcomes[index] = job()
        except Exception as exc:  # the test reports whatever happened
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a submission never finished"
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_a_double_tap_arriving_at_the_same_moment_saves_one_visit(
    on_postgresql, monkeypatch, deployment, leader, objectives
):
    key = uuid.uuid4()
    data = visit_input(objective_ids=(objectives[0].pk,))
    # Hold both submissions after their "already saved?" look-up, so that both miss and
    # both try to insert: the unique key must decide.
    checked = services._check_visit

    def slow_check(*args, **kwargs):
        checked(*args, **kwargs)
        time.sleep(0.3)

    monkeypatch.setattr(services, "_check_visit", slow_check)

    def submit():
        return services.visit_record(
            deployment=Deployment.objects.get(pk=deployment.pk),
            actor=User.objects.get(pk=leader.pk),
            key=key,
            data=data,
        )

    outcomes = race(submit, submit)

    assert all(isinstance(o, tuple) for o in outcomes), outcomes
    visit = Visit.objects.get()
    assert [o[0].pk for o in outcomes] == [visit.pk, visit.pk]
    assert sorted(o[1] for o in outcomes) == [False, True]
    assert visit.progress.count() == 1


def test_a_visit_dated_in_the_future_is_refused(deployment, leader):
    with pytest.raises(ValidationError) as refusal:
        record_visit(deployment, date=today() + datetime.timedelta(days=1))
    assert "plan future visits instead" in said(refusal)
    assert not Visit.objects.exists()


def test_a_visit_more_than_a_week_before_the_support_started_is_refused(deployment, commission):
    with pytest.raises(ValidationError) as refusal:
        record_visit(deployment, date=commission.start - datetime.timedelta(days=8))
    assert "The support started on 1 September 2026." in said(refusal)
    assert not Visit.objects.exists()


@pytest.mark.parametrize("hours", ["0", "-1", "13", "12.01"])
def test_a_visit_must_last_more_than_nothing_and_at_most_twelve_hours(deployment, hours):
    with pytest.raises(ValidationError) as refusal:
        record_visit(deployment, duration_hours=Decimal(hours))
    assert "more than 0 and at most 12 hours" in said(refusal)
    assert not Visit.objects.exists()


def test_objectives_from_another_commissions_plan_are_refused(
    deployment, objectives, other_commission
):
    theirs = Objective.objects.get(plan__commission=other_commission)

    with pytest.raises(ValidationError) as refusal:
        record_visit(deployment, objective_ids=(objectives[0].pk, theirs.pk))
    assert "Choose objectives from this commission's action plan." in said(refusal)

    with pytest.raises(ValidationError) as refusal:
        record_visit(deployment, progress=((theirs.pk, "Sneaky note", "green"),))
    assert "only for this plan's objectives" in said(refusal)
    theirs.refresh_from_db()
    assert theirs.rag == ""
    assert not Visit.objects.exists()


@pytest.mark.parametrize(
    "person", ["coordinator", "trust_lead", "school_contact", "supporting_leader"]
)
def test_only_the_deployed_leader_can_record_a_visit(deployment, supporting, person, request):
    actor = (
        supporting.leader.user
        if person == "supporting_leader"
        else request.getfixturevalue(person)
    )
    with pytest.raises(ValidationError) as refusal:
        record_visit(deployment, actor=actor)
    assert "Only the leader on this deployment" in said(refusal)
    assert not Visit.objects.exists()


def test_a_supporting_leader_records_visits_on_their_own_deployment(supporting):
    visit = record_visit(supporting)
    assert visit.recorded_by == supporting.leader.user


# ================================================================ safeguarding


@pytest.fixture
def eager_tasks():
    """Run Celery tasks in this process, as with no broker, so the alert lands in
    ``mail.outbox`` whether or not REDIS_URL names a broker for this run."""
    from kombu import pools

    from config.celery import app

    saved = app.conf.task_always_eager
    app.conf.task_always_eager = True
    # Fresh pools, whatever an earlier test did to the broker connection.
    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None
    yield
    app.conf.task_always_eager = saved


def test_a_safeguarding_concern_emails_the_hub_coordinator_once_without_the_details(
    deployment, coordinator, qa_lead, hub, eager_tasks, django_capture_on_commit_callbacks
):
    second = member(Role.HUB_COORDINATOR, hub, full_name="Priya Shah")
    summary = "Pupil disclosed something worrying during the reading lesson."

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        visit = record_visit(deployment, safeguarding_concern=True, summary=summary)

    assert len(callbacks) == 1
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert sorted(email.to) == sorted([coordinator.email, second.email])
    assert qa_lead.email not in email.to
    assert "Moorside Primary School" in email.subject
    assert f"http://127.0.0.1:8000/visits/{visit.pk}/" in email.body
    assert summary not in email.body
    assert summary not in email.subject
    assert visit.next_steps not in email.body


def test_an_alert_delivered_twice_is_emailed_once(
    deployment, coordinator, eager_tasks, django_capture_on_commit_callbacks
):
    from deployments.services import safeguarding_alert_send

    with django_capture_on_commit_callbacks(execute=True):
        visit = record_visit(deployment, safeguarding_concern=True)
    assert len(mail.outbox) == 1
    assert safeguarding_alert_send(visit_id=visit.pk) == 0  # a second delivery of the task
    assert len(mail.outbox) == 1
    visit.refresh_from_db()
    assert visit.safeguarding_alerted_at is not None


def test_a_failed_alert_is_released_for_the_retry(deployment, coordinator, settings):
    from deployments.services import safeguarding_alert_send

    visit = record_visit(deployment, safeguarding_concern=True)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2
    with pytest.raises(OSError):
        safeguarding_alert_send(visit_id=visit.pk)
    visit.refresh_from_db()
    assert visit.safeguarding_alerted_at is None  # the retry will claim and send it


def test_a_visit_without_a_concern_sends_no_email(
    deployment, coordinator, eager_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        record_visit(deployment)
    assert mail.outbox == []


def test_a_refused_visit_with_a_concern_sends_nothing(
    deployment, coordinator, eager_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError):
        record_visit(deployment, safeguarding_concern=True, duration_hours=Decimal("0"))
    assert mail.outbox == []


def test_flagging_a_concern_when_correcting_a_record_alerts_the_hub_once(
    deployment, leader, coordinator, eager_tasks, django_capture_on_commit_callbacks
):
    visit = record_visit(deployment)
    with django_capture_on_commit_callbacks(execute=True):
        services.visit_update(
            visit=visit, actor=leader, data=visit_input(safeguarding_concern=True)
        )
    with django_capture_on_commit_callbacks(execute=True):
        services.visit_update(
            visit=visit,
            actor=leader,
            data=visit_input(safeguarding_concern=True, next_steps="Hub to follow up."),
        )
    assert len(mail.outbox) == 1


def test_a_visit_is_kept_when_the_broker_is_down(
    deployment, coordinator, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    def broker_down(*args, **kwargs):
        raise OSError("Connection refused (Redis)")

    monkeypatch.setattr(tasks.safeguarding_alert_task, "delay", broker_down)
    with (
        caplog.at_level(logging.ERROR, logger="deployments.services"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        visit = record_visit(deployment, safeguarding_concern=True)

    assert Visit.objects.get().pk == visit.pk
    assert "Could not queue" in caplog.text


# ==================================================================== responses


def test_the_school_agrees_a_record_is_accurate(deployment, school_contact):
    visit = record_visit(deployment)
    services.visit_respond(visit=visit, actor=school_contact, agreed=True)

    visit.refresh_from_db()
    assert visit.response == Visit.Response.AGREED
    assert visit.responded_by == school_contact
    assert visit.responded_at is not None


def test_the_school_must_say_what_is_wrong_when_it_disagrees(deployment, school_contact):
    visit = record_visit(deployment)
    with pytest.raises(ValidationError) as refusal:
        services.visit_respond(visit=visit, actor=school_contact, agreed=False, comment="   ")
    assert "Say what is not accurate" in said(refusal)
    visit.refresh_from_db()
    assert visit.response == ""

    services.visit_respond(
        visit=visit, actor=school_contact, agreed=False, comment="We met the deputy, not the head."
    )
    visit.refresh_from_db()
    assert visit.response == Visit.Response.DISAGREED
    assert visit.response_comment == "We met the deputy, not the head."


@pytest.mark.parametrize("person", ["neighbour_contact", "coordinator", "leader", "trust_lead"])
def test_only_the_supported_schools_contact_can_respond(deployment, person, request):
    visit = record_visit(deployment)
    with pytest.raises(ValidationError) as refusal:
        services.visit_respond(visit=visit, actor=request.getfixturevalue(person), agreed=True)
    assert "Only the supported school" in said(refusal)
    visit.refresh_from_db()
    assert visit.response == ""


def test_the_school_responds_to_a_record_only_once(deployment, school_contact):
    visit = record_visit(deployment)
    services.visit_respond(visit=visit, actor=school_contact, agreed=True)
    with pytest.raises(ValidationError) as refusal:
        services.visit_respond(visit=visit, actor=school_contact, agreed=False, comment="Hmm.")
    assert "already responded" in said(refusal)
    visit.refresh_from_db()
    assert visit.response == Visit.Response.AGREED


# ================================================================== corrections


def test_the_leader_corrects_a_record_before_the_school_responds(deployment, leader):
    visit = record_visit(deployment)
    services.visit_update(
        visit=visit, actor=leader, data=visit_input(duration_hours=Decimal("6.5"))
    )
    visit.refresh_from_db()
    assert visit.duration_hours == Decimal("6.5")
    assert Deployment.objects.get(pk=deployment.pk).days_used() == Decimal("1.0")
    assert visit.history.first().history_user == leader


def test_leader_cannot_change_a_record_the_school_has_responded_to(
    deployment, leader, school_contact
):
    visit = record_visit(deployment)
    services.visit_respond(visit=visit, actor=school_contact, agreed=True)
    with pytest.raises(ValidationError) as refusal:
        services.visit_update(visit=visit, actor=leader, data=visit_input(summary="Rewritten."))
    assert "can no longer be changed" in said(refusal)
    visit.refresh_from_db()
    assert visit.summary == visit_input().summary


@pytest.mark.parametrize("person", ["coordinator", "trust_lead", "supporting_leader"])
def test_only_the_leader_who_recorded_a_visit_can_change_it(
    deployment, supporting, person, request
):
    visit = record_visit(deployment)
    actor = (
        supporting.leader.user
        if person == "supporting_leader"
        else request.getfixturevalue(person)
    )
    with pytest.raises(ValidationError) as refusal:
        services.visit_update(visit=visit, actor=actor, data=visit_input(summary="Rewritten."))
    assert "Only the leader who recorded this visit" in said(refusal)
    visit.refresh_from_db()
    assert visit.summary == visit_input().summary


# ================================================================ planned visits


def test_a_visit_cannot_be_planned_in_the_past(deployment, leader):
    with pytest.raises(ValidationError) as refusal:
        services.visit_plan(
            deployment=deployment, actor=leader, date=days_ago(1), mode=Visit.Mode.VIRTUAL
        )
    assert "today or later" in said(refusal)
    assert not PlannedVisit.objects.exists()


def test_a_planned_visit_needs_a_real_mode_and_a_date_before_the_support_ends(
    deployment, leader, commission
):
    with pytest.raises(ValidationError) as refusal:
        services.visit_plan(deployment=deployment, actor=leader, date=today(), mode="pigeon")
    assert "not a valid choice" in said(refusal)
    with pytest.raises(ValidationError) as refusal:
        services.visit_plan(
            deployment=deployment,
            actor=leader,
            date=commission.end + datetime.timedelta(days=31),
            mode=Visit.Mode.VIRTUAL,
        )
    assert "after the support ends" in said(refusal)
    assert not PlannedVisit.objects.exists()


def test_only_the_deployed_leader_plans_their_visits(deployment, trust_lead):
    with pytest.raises(ValidationError):
        services.visit_plan(
            deployment=deployment, actor=trust_lead, date=today(), mode=Visit.Mode.VIRTUAL
        )
    assert not PlannedVisit.objects.exists()


def test_a_planned_visit_whose_day_has_passed_shows_as_to_log_until_recorded(
    deployment, leader, time_machine
):
    planned = services.visit_plan(
        deployment=deployment, actor=leader, date=today(), mode=Visit.Mode.VIRTUAL
    )
    [row] = leader_deployments(user=leader, today=today())
    assert row.to_log == []

    time_machine.move_to(datetime.datetime(2026, 12, 3, 9, 0, tzinfo=LONDON), tick=False)
    [row] = leader_deployments(user=leader, today=today())
    assert row.to_log == [planned]

    # A visit from before the planned day is another visit: the plan still waits.
    record_visit(deployment, date=datetime.date(2026, 11, 29))
    [row] = leader_deployments(user=leader, today=today())
    assert row.to_log == [planned]

    visit = record_visit(deployment, date=datetime.date(2026, 12, 1))
    planned.refresh_from_db()
    assert planned.visit == visit
    [row] = leader_deployments(user=leader, today=today())
    assert row.to_log == []


# ================================================================== action plans


@pytest.mark.parametrize("person", ["leader", "trust_lead"])
def test_the_lead_system_leader_and_trust_lead_keep_the_plan(commission, person, request):
    actor = request.getfixturevalue(person)
    plan = services.plan_save(
        commission=commission, actor=actor, scope="subject", scope_name=" Mathematics "
    )
    objective = add_objective(commission, actor)
    services.objective_save(
        commission=commission,
        actor=actor,
        objective=objective,
        **objective_fields(rag="amber", target="90%"),
    )

    plan.refresh_from_db()
    assert (plan.scope, plan.scope_name) == ("subject", "Mathematics")
    assert [h.history_user for h in plan.history.all()] == [actor]
    objective.refresh_from_db()
    assert (objective.rag, objective.target) == ("amber", "90%")
    assert [(h.history_type, h.history_user, h.target) for h in objective.history.all()] == [
        ("~", actor, "90%"),
        ("+", actor, "85%"),
    ]


@pytest.mark.parametrize(
    "person", ["supporting_leader", "school_contact", "coordinator", "qa_lead", "outsider"]
)
def test_others_cannot_change_the_plan(commission, supporting, leader, person, request):
    actor = (
        supporting.leader.user
        if person == "supporting_leader"
        else request.getfixturevalue(person)
    )
    existing = add_objective(commission, leader)

    with pytest.raises(ValidationError) as refusal:
        services.plan_save(commission=commission, actor=actor, scope="school", scope_name="")
    assert "Only the Lead System Leader and the lead trust" in said(refusal)
    with pytest.raises(ValidationError):
        add_objective(commission, actor, title="Sneaked in")
    with pytest.raises(ValidationError):
        services.objective_save(
            commission=commission,
            actor=actor,
            objective=existing,
            **objective_fields(rag="green"),
        )
    assert list(Objective.objects.values_list("title", "rag")) == [(existing.title, "")]


@pytest.mark.parametrize("scope", ["subject", "faculty"])
def test_a_subject_or_faculty_plan_must_name_it(commission, leader, scope):
    with pytest.raises(ValidationError) as refusal:
        services.plan_save(commission=commission, actor=leader, scope=scope, scope_name="  ")
    assert "Name the subject or faculty" in said(refusal)
    assert not ActionPlan.objects.exists()


def test_a_whole_school_plan_drops_a_stale_subject_name(commission, leader):
    services.plan_save(commission=commission, actor=leader, scope="subject", scope_name="Maths")
    plan = services.plan_save(
        commission=commission, actor=leader, scope="school", scope_name="Maths"
    )
    assert plan.scope_name == ""


def test_an_objective_cannot_be_moved_into_another_plan(commission, trust_lead, other_commission):
    theirs = Objective.objects.get(plan__commission=other_commission)
    with pytest.raises(ValidationError) as refusal:
        services.objective_save(
            commission=commission, actor=trust_lead, objective=theirs, **objective_fields()
        )
    assert "another plan" in said(refusal)
    theirs.refresh_from_db()
    assert theirs.title == "Westfield attendance"


def test_the_first_objective_starts_the_plan_in_its_authors_name(commission, trust_lead):
    add_objective(commission, trust_lead)
    plan = ActionPlan.objects.get(commission=commission)
    assert [(h.history_type, h.history_user) for h in plan.history.all()] == [("+", trust_lead)]
