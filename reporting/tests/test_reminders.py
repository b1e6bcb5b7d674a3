"""Who is reminded of what on a given day, and the command and beat task that send it.

The year-long walk, overlapping runs and failed sends are in test_reminders_year.py and
test_reminders_overlap.py; these are the rules one at a time. The support began on
1 September 2026 with an interim report due on 20 November 2026.
"""

import datetime
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django_celery_beat.models import PeriodicTask

from brokerage import services as brokerage
from deployments import services as deployment_services
from deployments.tests.factories import lead_deployment, record_visit, started_offer
from reporting import reminders, services
from reporting.models import Notification, Reminder
from reporting.tests.factories import drafted_report

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
D = datetime.date
DUE = D(2026, 11, 20)


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(datetime.datetime(2026, 10, 1, 7, 0, tzinfo=LONDON), tick=False)
    return time_machine


@pytest.fixture
def open_offer(coordinator, brokering_request, lead_trust, leader_profile):
    return started_offer(
        coordinator=coordinator, request=brokering_request, trust=lead_trust, leader=leader_profile
    )


@pytest.fixture
def scheduled(commission, coordinator):
    brokerage.commission_set_deadlines(
        commission=commission,
        actor=coordinator,
        deadlines=[("interim", DUE), ("final", D(2027, 3, 31))],
    )
    return commission


def relevant(day):
    return sorted(
        (item.kind, item.recipient.full_name, item.subject)
        for item in reminders.reminders_due(day)
    )


@pytest.mark.parametrize(
    "day, kind",
    [
        (D(2026, 11, 5), None),  # 15 days before
        (D(2026, 11, 6), "upcoming_14"),
        (D(2026, 11, 16), "upcoming_14"),  # the 14-day reminder still fits a late run
        (D(2026, 11, 17), "upcoming_3"),
        (D(2026, 11, 20), "due"),
        (D(2026, 11, 21), "overdue_1"),
        (D(2026, 11, 27), "overdue_7"),
        (D(2026, 12, 3), "overdue_7"),
    ],
)
def test_one_reminder_fits_each_day_for_the_trust_lead_and_the_lead_leader(
    scheduled, trust_lead, leader, day, kind
):
    expected = (
        []
        if kind is None
        else sorted(
            [
                (kind, trust_lead.full_name, f"deadline:{scheduled.deadlines.get(due=DUE).pk}"),
                (kind, leader.full_name, f"deadline:{scheduled.deadlines.get(due=DUE).pk}"),
            ]
        )
    )
    assert [r for r in relevant(day) if r[0] not in ("no_visit",)] == expected


def test_fourteen_days_late_escalates_to_the_hub_and_stops_nagging_the_authors(
    scheduled, coordinator, trust_lead
):
    day = DUE + datetime.timedelta(days=14)
    kinds = {(kind, name) for kind, name, _ in relevant(day) if kind != "no_visit"}
    assert kinds == {("escalation", coordinator.full_name)}
    assert relevant(DUE + datetime.timedelta(days=28)) == [
        r for r in relevant(DUE + datetime.timedelta(days=28)) if r[0] == "no_visit"
    ]


def test_a_submitted_report_gets_no_more_reminders(scheduled, leader, trust_lead):
    deadline = scheduled.deadlines.get(due=DUE)
    services.report_submit(report=drafted_report(scheduled, leader), actor=trust_lead)
    assert deadline.report.status == "submitted"
    for offset in (-14, -3, 0, 1, 7, 14):
        day = DUE + datetime.timedelta(days=offset)
        assert not [r for r in relevant(day) if r[2] == f"deadline:{deadline.pk}"], offset


def test_a_returned_report_is_chased_again(scheduled, leader, trust_lead, qa_lead):
    report = services.report_submit(report=drafted_report(scheduled, leader), actor=trust_lead)
    services.report_return(report=report, actor=qa_lead, comments="Add the data.")
    assert ("overdue_1", trust_lead.full_name) in {
        (k, n) for k, n, _ in relevant(DUE + datetime.timedelta(days=1))
    }


def test_a_report_waiting_for_qa_nudges_the_qa_lead_after_five_working_days(
    scheduled, leader, trust_lead, qa_lead, clock
):
    clock.move_to(datetime.datetime(2026, 11, 13, 10, 0, tzinfo=LONDON), tick=False)  # a Friday
    report = services.report_submit(report=drafted_report(scheduled, leader), actor=trust_lead)
    qa = [(k, n, s) for k, n, s in relevant(D(2026, 11, 20)) if k == "qa_waiting"]
    assert qa == []  # five working days on is Friday 20th: still in time
    qa = [(k, n, s) for k, n, s in relevant(D(2026, 11, 23)) if k == "qa_waiting"]
    assert qa == [("qa_waiting", qa_lead.full_name, f"report:{report.pk}:submission:1")]


def test_a_planned_visit_not_logged_nudges_its_leader(scheduled, leader, clock):
    deployment = lead_deployment(scheduled)
    plan = deployment_services.visit_plan(
        deployment=deployment, actor=leader, date=D(2026, 10, 5), mode="in_person"
    )
    clock.move_to(datetime.datetime(2026, 10, 12, 7, 0, tzinfo=LONDON), tick=False)
    assert not [r for r in relevant(D(2026, 10, 12)) if r[0] == "visit_to_log"]
    # Monday 5th + 5 working days is Monday 12th; from Tuesday it is late.
    assert [r for r in relevant(D(2026, 10, 13)) if r[0] == "visit_to_log"] == [
        ("visit_to_log", leader.full_name, f"planned-visit:{plan.pk}")
    ]
    plan.visit = record_visit(deployment, date=D(2026, 10, 5))
    plan.save()
    assert not [r for r in relevant(D(2026, 10, 13)) if r[0] == "visit_to_log"]


def test_a_quiet_deployment_nudges_once_per_quiet_spell(scheduled, leader, clock):
    deployment = lead_deployment(scheduled)
    clock.move_to(datetime.datetime(2026, 9, 10, 7, 0, tzinfo=LONDON), tick=False)
    record_visit(deployment, date=D(2026, 9, 10))
    assert not [r for r in relevant(D(2026, 9, 30)) if r[0] == "no_visit"]
    assert [r for r in relevant(D(2026, 10, 1)) if r[0] == "no_visit"] == [
        ("no_visit", leader.full_name, f"deployment:{deployment.pk}:quiet-since:2026-09-10")
    ]


def test_the_command_runs_the_day_and_a_second_run_sends_nothing(scheduled, trust_lead, leader):
    out = StringIO()
    call_command("send_reminders", "--today", "2026-11-20", stdout=out)
    assert "20 Nov 2026" in out.getvalue()
    sent = {(m.to[0], m.subject) for m in mail.outbox}
    assert (trust_lead.email, f"Interim report for {scheduled.request.school.name} due today "
            "(20 Nov 2026)") in sent  # fmt: skip
    assert Notification.objects.filter(user=leader, kind="due").count() == 1
    before = len(mail.outbox)
    call_command("send_reminders", "--today", "2026-11-20", stdout=StringIO())
    assert len(mail.outbox) == before
    assert Reminder.objects.filter(kind="due").count() == 2


@pytest.mark.parametrize("bad", ["20/11/2026", "2026-13-01", "tomorrow", "2026-11-20'; --"])
def test_the_command_refuses_a_bad_date_clearly(bad):
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("send_reminders", "--today", bad)
    assert not Reminder.objects.exists()


def test_beat_runs_the_reminders_daily_at_six_utc():
    task = PeriodicTask.objects.get(task="reporting.tasks.send_due_reminders")
    assert (task.crontab.minute, task.crontab.hour, str(task.crontab.timezone)) == (
        "0",
        "6",
        "UTC",
    )
