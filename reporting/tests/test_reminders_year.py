"""A whole reporting year of reminders, driven day by day through the real daily task.

Four commissions are made through the real services on 24 August 2026, three in the Three
Rivers hub (coordinator Helen, QA lead Tom) and one in the Elsewhere hub (coordinator Olly,
QA lead Quentin). Each has its own supported school and Lead System Leader:

    C1  Aire Valley (trust lead Sarah), Lucy, Moorside   1 Sep 2026 - 18 Dec 2026
        interim Fri 16 Oct 2026: submitted early (8 Oct), approved 12 Oct
        final   Fri 15 Jan 2027: submitted the day before, waits for QA, approved 27 Jan
        a visit planned for Tue 10 Nov is not logged until 20 Nov
    C2  Pennine Crest (Paul), Priya, Heaton          14 Sep 2026 - 31 Mar 2027
        interim Wed 23 Dec 2026: submitted late on 4 Jan 2027 (day +12), approved 7 Jan
        final   Wed 31 Mar 2027: submitted on the day, approved 2 Apr (BST began 28 Mar)
        no visit between 20 Nov and 15 Dec
    C3  Faraway Trust (Fiona), Owen, Faraway (other hub)  7 Sep 2026 - 5 Feb 2027
        interim Wed 28 Oct 2026: never submitted, so it escalates to Olly (BST ended 25 Oct)
        final   Fri 5 Mar 2027: submitted late (9 Mar), waits for QA, approved 22 Mar
        no visit between 8 Oct and 2 Nov
    C4  Aire Valley (Sarah), Dan, Harehills           1 Mar 2027 - 30 Jun 2027
        interim Fri 28 May 2027: never submitted
        final   Wed 30 Jun 2027: submitted 7 Jun and approved 9 Jun, which closes C4 before
        the interim escalates, before a visit planned for 7 Jun is late and before Dan's
        visits go quiet

Every day from 1 September 2026 to 31 August 2027 the clock stands at 06:00 UTC (07:00 in
British Summer Time), when beat fires, and the task runs twice; then the day's story
happens at 10:00. ``EXPECTED`` below is worked out by hand from the schedule in
``reporting/reminders.py``.
"""

from __future__ import annotations

import datetime
import re
import smtplib
import uuid
from collections import Counter
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.mail.backends import locmem
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from brokerage import services as brokerage
from brokerage.models import ReportingDeadline
from brokerage.tests.factories import offer_via_services, request_via_services
from deployments import services as deployments
from deployments.models import PlannedVisit
from deployments.tests.factories import lead_deployment, visit_input
from reporting import reminders, services
from reporting.models import (
    ImpactReport,
    Notification,
    NotificationPreference,
    Reminder,
    ReminderKind,
)
from reporting.tasks import send_due_reminders
from reporting.tests.factories import NARRATIVE
from trust.models import Role
from trust.tests.factories import HubFactory, SchoolFactory, TrustFactory, member, system_leader

pytestmark = pytest.mark.django_db

D = datetime.date
UTC = datetime.UTC
LONDON = ZoneInfo("Europe/London")
SITE = "https://brokerage.example.org"
K = ReminderKind
INTERIM, FINAL = ReportingDeadline.Kind.INTERIM, ReportingDeadline.Kind.FINAL


def at(day: datetime.date, hour: int = 10) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=LONDON)


def beat(time_machine, day: datetime.date) -> None:
    """Stand the clock where beat's crontab (06:00 UTC) fires on ``day``."""
    time_machine.move_to(datetime.datetime(day.year, day.month, day.day, 6, 0, tzinfo=UTC),
                         tick=False)  # fmt: skip


def days(first: datetime.date, last: datetime.date):
    while first <= last:
        yield first
        first += datetime.timedelta(days=1)


# ------------------------------------------------------------------------- the people


def person(role: str, organisation, full_name: str):
    email = f"{full_name.split()[0].lower()}@example.test"
    return member(role, organisation, full_name=full_name, email=email)


def lead_system_leader(home, full_name: str):
    profile = system_leader(home)
    profile.user.full_name = full_name
    profile.user.email = f"{full_name.split()[0].lower()}@example.test"
    profile.user.save(update_fields=["full_name", "email"])
    return profile


def commission_for(*, coordinator, trust, trust_lead, leader, school, start, end, deadlines):
    """A commission made as users would: request, shortlist, offer, acceptance, schedule."""
    request = request_via_services(
        actor=coordinator, school=school, title=f"Support for {school.name}", desired_start=start
    )
    offer = offer_via_services(
        coordinator=coordinator, request=request, trust=trust, leader=leader, start=start, end=end
    )
    commission = brokerage.offer_accept(
        offer=offer,
        actor=trust_lead,
        lead=brokerage.LeaderDays(leader, Decimal("6"), True),
        supporting=[],
        today=timezone.localdate(),
    )
    brokerage.commission_set_deadlines(
        commission=commission, actor=coordinator, deadlines=deadlines
    )
    return commission


def deadline(commission, kind) -> ReportingDeadline:
    """The commission's first deadline of that kind."""
    return commission.deadlines.filter(kind=kind).order_by("due").first()


def submit(commission, kind, author, trust_lead) -> ImpactReport:
    report = services.report_start(deadline=deadline(commission, kind), actor=author)
    report = services.report_save(report=report, actor=author, **NARRATIVE)
    return services.report_submit(report=report, actor=trust_lead)


def approve(commission, kind, qa_lead) -> ImpactReport:
    report = deadline(commission, kind).report
    return services.report_approve(
        report=report, actor=qa_lead, impact="strong", value_for_money="good", comments="Clear."
    )


def visit(deployment, day: datetime.date):
    deployments.visit_record(
        deployment=deployment,
        actor=deployment.leader.user,
        key=uuid.uuid4(),
        data=visit_input(date=day),
    )


def plan(deployment, day: datetime.date) -> PlannedVisit:
    return deployments.visit_plan(
        deployment=deployment, actor=deployment.leader.user, date=day, mode="in_person"
    )


@pytest.fixture
def people(db):
    hub = HubFactory(name="Three Rivers Hub")
    elsewhere = HubFactory(name="Elsewhere Hub")
    aire = TrustFactory(hub=hub, name="Aire Valley Learning Trust")
    pennine = TrustFactory(hub=hub, name="Pennine Crest Academies")
    faraway = TrustFactory(hub=elsewhere, name="Faraway Trust")
    return SimpleNamespace(
        hub=hub,
        elsewhere=elsewhere,
        aire=aire,
        pennine=pennine,
        faraway=faraway,
        helen=person(Role.HUB_COORDINATOR, hub, "Helen Marsh"),
        tom=person(Role.QA_LEAD, hub, "Tom Okafor"),
        olly=person(Role.HUB_COORDINATOR, elsewhere, "Olly Outsider"),
        quentin=person(Role.QA_LEAD, elsewhere, "Quentin Blake"),
        sarah=person(Role.TRUST_LEAD, aire, "Sarah Whitaker"),
        paul=person(Role.TRUST_LEAD, pennine, "Paul Hardcastle"),
        fiona=person(Role.TRUST_LEAD, faraway, "Fiona Grant"),
        lucy=lead_system_leader(
            SchoolFactory(hub=hub, parent_trust=aire, name="Beck Primary"), "Lucy Beck"
        ),
        dan=lead_system_leader(
            SchoolFactory(hub=hub, parent_trust=aire, name="Fieldhead Primary"), "Dan Field"
        ),
        priya=lead_system_leader(
            SchoolFactory(hub=hub, parent_trust=pennine, name="Pennine Primary"), "Priya Shah"
        ),
        owen=lead_system_leader(
            SchoolFactory(hub=elsewhere, parent_trust=faraway, name="Faraway Academy"),
            "Owen Jones",
        ),
        moorside=SchoolFactory(hub=hub, name="Moorside Primary School", urn="107001"),
        heaton=SchoolFactory(hub=hub, name="Heaton Primary School", urn="107002"),
        harehills=SchoolFactory(hub=hub, name="Harehills Primary", urn="107004"),
        faraway_primary=SchoolFactory(hub=elsewhere, name="Faraway Primary", urn="107003"),
    )


@pytest.fixture
def year(people, time_machine):
    p = people
    time_machine.move_to(at(D(2026, 8, 24)), tick=False)
    c1 = commission_for(
        coordinator=p.helen,
        trust=p.aire,
        trust_lead=p.sarah,
        leader=p.lucy,
        school=p.moorside,
        start=D(2026, 9, 1),
        end=D(2026, 12, 18),
        deadlines=[(INTERIM, D(2026, 10, 16)), (FINAL, D(2027, 1, 15))],
    )
    c2 = commission_for(
        coordinator=p.helen,
        trust=p.pennine,
        trust_lead=p.paul,
        leader=p.priya,
        school=p.heaton,
        start=D(2026, 9, 14),
        end=D(2027, 3, 31),
        deadlines=[(INTERIM, D(2026, 12, 23)), (FINAL, D(2027, 3, 31))],
    )
    c3 = commission_for(
        coordinator=p.olly,
        trust=p.faraway,
        trust_lead=p.fiona,
        leader=p.owen,
        school=p.faraway_primary,
        start=D(2026, 9, 7),
        end=D(2027, 2, 5),
        deadlines=[(INTERIM, D(2026, 10, 28)), (FINAL, D(2027, 3, 5))],
    )
    c4 = commission_for(
        coordinator=p.helen,
        trust=p.aire,
        trust_lead=p.sarah,
        leader=p.dan,
        school=p.harehills,
        start=D(2027, 3, 1),
        end=D(2027, 6, 30),
        deadlines=[(INTERIM, D(2027, 5, 28)), (FINAL, D(2027, 6, 30))],
    )
    commissions = {"C1": c1, "C2": c2, "C3": c3, "C4": c4}
    labels = {}
    for name, commission in commissions.items():
        for row in commission.deadlines.all():
            labels[("deadline", row.pk)] = f"{name} {row.kind}"
        labels[("deployment", lead_deployment(commission).pk)] = f"{name} visits"
    return SimpleNamespace(**vars(p), c1=c1, c2=c2, c3=c3, c4=c4, labels=labels)


def story(y) -> dict[datetime.date, list]:
    """What people do, by day (at 10:00, after the morning's reminders)."""
    d1, d2, d3, d4 = (lead_deployment(c) for c in (y.c1, y.c2, y.c3, y.c4))
    lucy, priya, owen, dan = (y.lucy.user, y.priya.user, y.owen.user, y.dan.user)
    actions: dict[datetime.date, list] = {}

    def on(day, action):
        actions.setdefault(day, []).append(action)

    # Visits. Gaps stay under 21 days except the two quiet spells (C2 from 20 Nov, C3 from
    # 8 Oct) and C4 after 2 Jun, which its closure silences.
    visits = {
        d1: ["2026-09-15", "2026-10-01", "2026-10-20", "2026-11-05", "2026-11-20", "2026-12-04"],
        d2: ["2026-09-21", "2026-10-06", "2026-10-21", "2026-11-05", "2026-11-20",
             "2026-12-15", "2027-01-04", "2027-01-18", "2027-02-01", "2027-02-15",
             "2027-03-01", "2027-03-15", "2027-03-29"],
        d3: ["2026-09-10", "2026-09-24", "2026-10-08", "2026-11-02", "2026-11-16",
             "2026-11-30", "2026-12-17", "2027-01-06", "2027-01-20", "2027-02-03"],
        d4: ["2027-03-08", "2027-03-22", "2027-04-05", "2027-04-19", "2027-05-03",
             "2027-05-17", "2027-06-02"],
    }  # fmt: skip
    for deployment, dates in visits.items():
        for iso in dates:
            day = D.fromisoformat(iso)
            on(day, lambda dep=deployment, day=day: visit(dep, day))

    on(D(2026, 11, 2), lambda: plan(d1, D(2026, 11, 10)))  # logged only on 20 Nov
    on(D(2027, 6, 2), lambda: plan(d4, D(2027, 6, 7)))  # never logged

    # C1: the interim early and approved; the final the day before, then waiting for QA.
    on(D(2026, 10, 8), lambda: submit(y.c1, INTERIM, lucy, y.sarah))
    on(D(2026, 10, 12), lambda: approve(y.c1, INTERIM, y.tom))
    on(D(2027, 1, 14), lambda: submit(y.c1, FINAL, lucy, y.sarah))
    on(D(2027, 1, 27), lambda: approve(y.c1, FINAL, y.tom))
    # C2: the interim 12 days late (after its 7-day reminder, before escalation).
    on(D(2027, 1, 4), lambda: submit(y.c2, INTERIM, priya, y.paul))
    on(D(2027, 1, 7), lambda: approve(y.c2, INTERIM, y.tom))
    on(D(2027, 3, 31), lambda: submit(y.c2, FINAL, priya, y.paul))
    on(D(2027, 4, 2), lambda: approve(y.c2, FINAL, y.tom))
    # C3: the interim never; the final 4 days late, then waiting for QA at the other hub.
    on(D(2027, 3, 9), lambda: submit(y.c3, FINAL, owen, y.fiona))
    on(D(2027, 3, 22), lambda: approve(y.c3, FINAL, y.quentin))
    # C4: the final early and approved, which closes the commission.
    on(D(2027, 6, 7), lambda: submit(y.c4, FINAL, dan, y.sarah))
    on(D(2027, 6, 9), lambda: approve(y.c4, FINAL, y.tom))
    return actions


def _pair(day, kind, about, *who):
    return [(day, kind, person, about) for person in who]


# Worked out by hand: upcoming_14 on day -14, upcoming_3 on -3, due on the day, overdue_1
# on +1, overdue_7 on +7 (to the trust lead and the Lead System Leader), escalation on
# +14 (to the hub's coordinator); a planned visit unlogged on the calendar day after 5
# working days; a deployment quiet for 21 days; QA waiting after 5 working days.
EXPECTED = [
    *_pair("2026-10-02", "upcoming_14", "C1 interim", "sarah", "lucy"),
    *_pair("2026-10-14", "upcoming_14", "C3 interim", "fiona", "owen"),
    *_pair("2026-10-25", "upcoming_3", "C3 interim", "fiona", "owen"),  # BST has just ended
    *_pair("2026-10-28", "due", "C3 interim", "fiona", "owen"),
    *_pair("2026-10-29", "overdue_1", "C3 interim", "fiona", "owen"),
    ("2026-10-29", "no_visit", "owen", "C3 visits"),  # 8 Oct + 21 days
    *_pair("2026-11-04", "overdue_7", "C3 interim", "fiona", "owen"),
    ("2026-11-11", "escalation", "olly", "C3 interim"),  # the other hub's coordinator
    ("2026-11-18", "visit_to_log", "lucy", "C1 visits"),  # Tue 10 Nov + 5 working days
    *_pair("2026-12-09", "upcoming_14", "C2 interim", "paul", "priya"),
    ("2026-12-11", "no_visit", "priya", "C2 visits"),  # 20 Nov + 21 days
    *_pair("2026-12-20", "upcoming_3", "C2 interim", "paul", "priya"),
    *_pair("2026-12-23", "due", "C2 interim", "paul", "priya"),
    *_pair("2026-12-24", "overdue_1", "C2 interim", "paul", "priya"),
    *_pair("2026-12-30", "overdue_7", "C2 interim", "paul", "priya"),
    # 2027: C2's interim carried over; submitted 4 Jan, so no escalation on 6 Jan.
    *_pair("2027-01-01", "upcoming_14", "C1 final", "sarah", "lucy"),
    *_pair("2027-01-12", "upcoming_3", "C1 final", "sarah", "lucy"),
    ("2027-01-22", "qa_waiting", "tom", "C1 final"),  # Thu 14 Jan + 5 working days
    *_pair("2027-02-19", "upcoming_14", "C3 final", "fiona", "owen"),
    *_pair("2027-03-02", "upcoming_3", "C3 final", "fiona", "owen"),
    *_pair("2027-03-05", "due", "C3 final", "fiona", "owen"),
    *_pair("2027-03-06", "overdue_1", "C3 final", "fiona", "owen"),
    *_pair("2027-03-17", "upcoming_14", "C2 final", "paul", "priya"),
    ("2027-03-17", "qa_waiting", "quentin", "C3 final"),  # Tue 9 Mar + 5 working days
    *_pair("2027-03-28", "upcoming_3", "C2 final", "paul", "priya"),  # BST begins today
    *_pair("2027-03-31", "due", "C2 final", "paul", "priya"),
    *_pair("2027-05-14", "upcoming_14", "C4 interim", "sarah", "dan"),
    *_pair("2027-05-25", "upcoming_3", "C4 interim", "sarah", "dan"),
    *_pair("2027-05-28", "due", "C4 interim", "sarah", "dan"),
    *_pair("2027-05-29", "overdue_1", "C4 interim", "sarah", "dan"),
    *_pair("2027-06-04", "overdue_7", "C4 interim", "sarah", "dan"),
    # Nothing after C4 closed on 9 Jun: no escalation on 11 Jun, no nudge about the visit
    # planned for 7 Jun (15 Jun), none for Dan's quiet spell (23 Jun).
]


def reminder_of(message) -> Reminder:
    match = re.fullmatch(r"<reminder-(\d+)@[^>]+>", message.extra_headers["Message-ID"])
    return Reminder.objects.select_related("recipient").get(pk=int(match.group(1)))


def about(y, reminder: Reminder) -> str:
    if reminder.deadline_id:
        return y.labels[("deadline", reminder.deadline_id)]
    kind, pk = reminder.subject.split(":")[:2]
    if kind == "planned-visit":
        pk = PlannedVisit.objects.get(pk=pk).deployment_id
    return y.labels[("deployment", int(pk))]


def walk(time_machine, first, last, actions, runs_per_day=2):
    """Each day: beat at 06:00 UTC, the task run ``runs_per_day`` times, then the story.
    Returns (day, message) for every email, and the task's results per day."""
    sent, results = [], {}
    for day in days(first, last):
        beat(time_machine, day)
        assert timezone.localdate() == day
        before = len(mail.outbox)
        results[day] = []
        for _ in range(runs_per_day):
            with CaptureQueriesContext(connection) as queries:
                result = send_due_reminders.delay().get()
            results[day].append({**result, "queries": len(queries)})
        sent += [(day, message) for message in mail.outbox[before:]]
        for action in actions.get(day, []):
            time_machine.move_to(at(day), tick=False)
            action()
    return sent, results


def test_a_whole_reporting_year(year, time_machine, settings):
    settings.SITE_URL = SITE
    y = year

    sent, results = walk(time_machine, D(2026, 9, 1), D(2027, 8, 31), story(y))

    actual = []
    for day, message in sent:
        reminder = reminder_of(message)
        assert message.to == [reminder.recipient.email]
        assert message.subject == reminder.title
        actual.append((day.isoformat(), reminder.kind, message.to[0].split("@")[0],
                       about(y, reminder)))  # fmt: skip
    assert sorted(actual) == sorted(EXPECTED)
    assert len(sent) == len(EXPECTED) == 56

    # The double beat run: the second run each day found everything already claimed.
    for day, (_, second) in results.items():
        assert second["claimed"] == 0 and second["queued"] == 0, day
    # Each run costs a few queries, plus a few per reminder relevant that day.
    runs = [run for day_runs in results.values() for run in day_runs]
    assert max(run["queries"] for run in runs if not run["relevant"]) <= 6
    assert all(run["queries"] <= 10 + 8 * run["relevant"] for run in runs)
    # Nothing went twice: one email per person and subject line, per reminder row.
    assert Counter((m.to[0], m.subject) for _, m in sent).most_common(1)[0][1] == 1
    assert len({m.extra_headers["Message-ID"] for _, m in sent}) == len(sent)
    rows = list(Reminder.objects.values_list("subject", "kind", "recipient", "state"))
    assert len(rows) == len({r[:3] for r in rows}) == len(sent)
    assert {r[3] for r in rows} == {Reminder.State.SENT}
    assert set(Reminder.objects.values_list("attempts", flat=True)) == {1}
    assert Notification.objects.filter(reminder__isnull=False).count() == len(sent)

    # Across both clock changes the reminder goes on the right local date, at 06:00 GMT
    # on 25 Oct 2026 (BST ended at 01:00 UTC) and 07:00 BST on 28 Mar 2027.
    by_day = Counter(day for day, _ in sent)
    assert by_day[D(2026, 10, 24)] == by_day[D(2026, 10, 26)] == 0
    autumn = Reminder.objects.get(kind=K.UPCOMING_3, deadline=deadline(y.c3, INTERIM),
                                  recipient=y.fiona)  # fmt: skip
    assert autumn.title == "Interim report for Faraway Primary due in 3 days (28 Oct 2026)"
    assert timezone.localtime(autumn.created_at) == at(D(2026, 10, 25), 6)
    assert timezone.localtime(autumn.sent_at).utcoffset() == datetime.timedelta(0)
    assert by_day[D(2027, 3, 27)] == by_day[D(2027, 3, 29)] == 0
    spring = Reminder.objects.get(kind=K.UPCOMING_3, deadline=deadline(y.c2, FINAL),
                                  recipient=y.paul)  # fmt: skip
    assert spring.title == "Final report for Heaton Primary School due in 3 days (31 Mar 2027)"
    assert timezone.localtime(spring.created_at) == at(D(2027, 3, 28), 7)
    assert timezone.localtime(spring.sent_at).utcoffset() == datetime.timedelta(hours=1)

    # One email in full: the escalation to the other hub's coordinator.
    [(day, escalation)] = [(d, m) for d, m in sent if m.to == ["olly@example.test"]]
    assert day == D(2026, 11, 11)
    assert (
        escalation.subject == "Escalation: Interim report for Faraway Primary is 14 days overdue"
    )
    link = f"{SITE}/reports/?q=107003"
    preferences = f"{SITE}/notifications/preferences/"
    assert escalation.body.startswith("Hello Olly,\n")
    assert "led by Faraway Trust, was due on 28 October 2026" in escalation.body
    assert f"Open it: {link}" in escalation.body
    assert f"Choose which reminders you get by email: {preferences}" in escalation.body
    [(html, mimetype)] = escalation.alternatives
    assert mimetype == "text/html"
    assert "<p>Hello Olly,</p>" in html
    assert f'<a href="{link}"' in html
    assert f'<a href="{preferences}">Choose which reminders you get by email</a>' in html
    assert escalation.extra_headers["List-Unsubscribe"] == f"<{preferences}>"
    # And the nudge to log a visit links to the form for it.
    [nudge] = [m for d, m in sent if reminder_of(m).kind == K.VISIT_TO_LOG]
    assert nudge.subject == "Log your visit to Moorside Primary School of 10 Nov"
    url = f"{SITE}/deployments/{lead_deployment(y.c1).pk}/visits/new/"
    assert f"Open it: {url}" in nudge.body and f'href="{url}"' in nudge.alternatives[0][0]


# --------------------------------------------------------------- one commission's story


@pytest.fixture
def c1(people, time_machine):
    """C1 alone, with two interims: Wed 28 Oct and Tue 3 Nov 2026; visits every fortnight."""
    p = people
    time_machine.move_to(at(D(2026, 8, 24)), tick=False)
    commission = commission_for(
        coordinator=p.helen, trust=p.aire, trust_lead=p.sarah, leader=p.lucy, school=p.moorside,
        start=D(2026, 10, 19), end=D(2026, 12, 18),
        deadlines=[(INTERIM, D(2026, 10, 28)), (INTERIM, D(2026, 11, 3)),
                   (FINAL, D(2027, 1, 15))],
    )  # fmt: skip
    first, second = commission.deadlines.filter(kind=INTERIM).order_by("due")
    deployment = lead_deployment(commission)
    visits = {
        day: [lambda day=day: visit(deployment, day)]
        for day in (D(2026, 10, 30), D(2026, 11, 13), D(2026, 11, 27), D(2026, 12, 11))
    }
    return SimpleNamespace(**vars(p), commission=commission, first=first, second=second,
                           deployment=deployment, visits=visits)  # fmt: skip


def emails(messages) -> list[tuple[str, str, str]]:
    """(kind, recipient, what about) for each email, in a stable order."""
    found = []
    for message in messages:
        reminder = reminder_of(message)
        found.append((reminder.kind, message.to[0].split("@")[0], reminder.about.isoformat()))
    return sorted(found)


def test_a_missed_week_catches_up_with_only_the_reminders_still_relevant(c1, time_machine):
    walk(time_machine, D(2026, 10, 14), D(2026, 10, 24), c1.visits)
    assert emails(mail.outbox) == [
        ("upcoming_14", "lucy", "2026-10-28"),  # 14 Oct
        ("upcoming_14", "lucy", "2026-11-03"),  # 20 Oct
        ("upcoming_14", "sarah", "2026-10-28"),
        ("upcoming_14", "sarah", "2026-11-03"),
    ]

    # Beat is down from Sun 25 Oct to Sat 31 Oct: the first interim's upcoming_3 (25 Oct),
    # due (28 Oct) and overdue_1 (29 Oct) and the second's upcoming_3 (31 Oct) are missed.
    # On Sunday 1 Nov only the reminder that fits each deadline today goes: the first is 4
    # days overdue, the second due in 2 days.
    visit_on_30th = {D(2026, 10, 30): c1.visits[D(2026, 10, 30)]}
    walk(time_machine, D(2026, 10, 30), D(2026, 10, 30), visit_on_30th, runs_per_day=0)
    mail.outbox.clear()
    walk(time_machine, D(2026, 11, 1), D(2026, 11, 1), {})
    assert emails(mail.outbox) == [
        ("overdue_1", "lucy", "2026-10-28"),
        ("overdue_1", "sarah", "2026-10-28"),
        ("upcoming_3", "lucy", "2026-11-03"),
        ("upcoming_3", "sarah", "2026-11-03"),
    ]

    # Down again from 2 to 12 Nov. On Fri 13 Nov the first interim is 16 days overdue (the
    # hub hears; its authors' 7-day reminder is stale), the second 10 (its 7-day reminder,
    # not its due-day or 1-day one).
    mail.outbox.clear()
    walk(time_machine, D(2026, 11, 13), D(2026, 11, 13), {})
    assert emails(mail.outbox) == [
        ("escalation", "helen", "2026-10-28"),
        ("overdue_7", "lucy", "2026-11-03"),
        ("overdue_7", "sarah", "2026-11-03"),
    ]
    stale = [K.UPCOMING_3, K.DUE, K.OVERDUE_7]
    assert not Reminder.objects.filter(deadline=c1.first, kind__in=stale).exists()
    assert not Reminder.objects.filter(deadline=c1.second, kind__in=[K.DUE, K.OVERDUE_1]).exists()


# ------------------------------------------------------------ exactly once, and retries


class FailsOnceBackend(locmem.EmailBackend):
    """An SMTP server that turns the first message away, then accepts."""

    failures_left = 0

    def send_messages(self, messages):
        if FailsOnceBackend.failures_left:
            FailsOnceBackend.failures_left -= 1
            raise smtplib.SMTPException("421 Service not available, try again later")
        return super().send_messages(messages)


class WorkerDiesAfterSending(locmem.EmailBackend):
    """The message goes, then the worker is killed before it can record that."""

    def send_messages(self, messages):
        super().send_messages(messages)
        raise SystemExit("worker killed")


def test_a_failed_send_stays_pending_and_the_next_run_sends_it_once(c1, time_machine, settings):
    settings.EMAIL_BACKEND = f"{__name__}.FailsOnceBackend"
    FailsOnceBackend.failures_left = 1
    beat(time_machine, D(2026, 10, 28))

    result = send_due_reminders.delay().get()

    # The first interim is due (Sarah, Lucy); the second is 6 days off (Sarah, Lucy).
    assert result == {"relevant": 4, "claimed": 4, "queued": 3}
    failed = Reminder.objects.get(state=Reminder.State.PENDING)
    assert (failed.kind, failed.attempts) == (K.DUE, 1)
    assert failed.last_error == "SMTPException: 421 Service not available, try again later"
    assert len(mail.outbox) == 3
    assert [failed.recipient.email] not in [m.to for m in mail.outbox if m.subject == failed.title]

    # The double beat run an hour later retries it; a third finds nothing to do.
    time_machine.move_to(datetime.datetime(2026, 10, 28, 7, 0, tzinfo=UTC), tick=False)
    assert send_due_reminders.delay().get() == {"relevant": 4, "claimed": 0, "queued": 1}
    assert send_due_reminders.delay().get() == {"relevant": 4, "claimed": 0, "queued": 0}
    beat(time_machine, D(2026, 10, 29))
    send_due_reminders.delay()

    failed.refresh_from_db()
    assert (failed.state, failed.attempts) == (Reminder.State.SENT, 2)
    due = [m.to[0] for m in mail.outbox if reminder_of(m).kind == K.DUE]
    assert sorted(due) == ["lucy@example.test", "sarah@example.test"]
    assert Counter(m.to[0] for m in mail.outbox if reminder_of(m).kind == K.OVERDUE_1) == {
        "lucy@example.test": 1,
        "sarah@example.test": 1,
    }


def test_a_reminder_left_sending_is_never_sent_again(c1, time_machine, settings):
    settings.EMAIL_BACKEND = f"{__name__}.WorkerDiesAfterSending"
    beat(time_machine, D(2026, 10, 28))
    with pytest.raises(SystemExit):
        send_due_reminders.delay()
    [first] = mail.outbox
    stuck = Reminder.objects.get(state=Reminder.State.SENDING)
    assert first.to == [stuck.recipient.email]
    # The run died before it queued the other reminders it had claimed: Lucy's for the
    # same deadline and both upcoming_14 for the second interim wait, pending.
    waiting = list(Reminder.objects.filter(state=Reminder.State.PENDING))
    assert len(waiting) == 3 and {r.attempts for r in waiting} == {0}

    # A new worker; beat fires again today and on each of the following days.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    for day in days(D(2026, 10, 28), D(2026, 11, 5)):
        beat(time_machine, day)
        send_due_reminders.delay()
        send_due_reminders.delay()

    stuck.refresh_from_db()
    assert stuck.state == Reminder.State.SENDING and stuck.attempts == 0
    sent_due = Counter(m.to[0] for m in mail.outbox if m.subject == stuck.title)
    assert sent_due == {"lucy@example.test": 1, "sarah@example.test": 1}
    assert set(Reminder.objects.filter(pk__in=[r.pk for r in waiting]).values_list(
        "state", flat=True)) == {Reminder.State.SENT}  # fmt: skip
    assert Counter((m.to[0], m.subject) for m in mail.outbox).most_common(1)[0][1] == 1
    # Later reminders still go to both; the one left sending never again.
    assert emails(mail.outbox) == sorted([
        ("due", "lucy", "2026-10-28"), ("due", "sarah", "2026-10-28"),
        ("overdue_1", "lucy", "2026-10-28"), ("overdue_1", "sarah", "2026-10-28"),
        ("overdue_7", "lucy", "2026-10-28"), ("overdue_7", "sarah", "2026-10-28"),
        ("upcoming_14", "lucy", "2026-11-03"), ("upcoming_14", "sarah", "2026-11-03"),
        ("upcoming_3", "lucy", "2026-11-03"), ("upcoming_3", "sarah", "2026-11-03"),
        ("due", "lucy", "2026-11-03"), ("due", "sarah", "2026-11-03"),
        ("overdue_1", "lucy", "2026-11-03"), ("overdue_1", "sarah", "2026-11-03"),
    ])  # fmt: skip


def test_a_trust_lead_who_switched_off_due_gets_a_notification_but_no_email(c1, time_machine):
    NotificationPreference.objects.create(user=c1.sarah, kind=K.DUE, email=False)
    for day in (D(2026, 10, 28), D(2026, 10, 29)):
        beat(time_machine, day)
        send_due_reminders.delay()

    skipped = Reminder.objects.get(recipient=c1.sarah, kind=K.DUE)
    assert skipped.state == Reminder.State.SKIPPED
    assert Notification.objects.filter(user=c1.sarah, reminder=skipped,
                                       title=skipped.title).exists()  # fmt: skip
    assert emails(mail.outbox) == [
        ("due", "lucy", "2026-10-28"),
        ("overdue_1", "lucy", "2026-10-28"),
        ("overdue_1", "sarah", "2026-10-28"),  # other kinds still come by email
        ("upcoming_14", "lucy", "2026-11-03"),
        ("upcoming_14", "sarah", "2026-11-03"),
    ]


def test_a_hub_coordinator_cannot_switch_off_escalation(c1, time_machine):
    NotificationPreference.objects.create(user=c1.helen, kind=K.ESCALATION, email=False)
    beat(time_machine, D(2026, 11, 11))  # the first interim is 14 days overdue
    send_due_reminders.delay()

    escalation = Reminder.objects.get(kind=K.ESCALATION)
    assert (escalation.recipient, escalation.state) == (c1.helen, Reminder.State.SENT)
    assert [m.to for m in mail.outbox if m.subject.startswith("Escalation")] == [
        ["helen@example.test"]
    ]


def test_no_reminders_for_approved_reports_or_closed_commissions(c1, time_machine):
    time_machine.move_to(at(D(2026, 10, 20)), tick=False)
    submit(c1.commission, INTERIM, c1.lucy.user, c1.sarah)  # the first interim
    approve(c1.commission, INTERIM, c1.tom)
    plan(c1.deployment, D(2026, 11, 2))
    walk(time_machine, D(2026, 10, 21), D(2026, 11, 2), {})
    # Approved: nothing about the first interim; the second is reminded as usual.
    assert not Reminder.objects.filter(deadline=c1.first).exists()
    assert {r.deadline_id for r in Reminder.objects.all()} == {c1.second.pk}

    # The final report is approved early: the commission is closed, so nothing more, not
    # the second interim's overdue reminders or escalation, the unlogged planned visit nor
    # the deployment's quiet spell (no visit since it started on 19 Oct).
    time_machine.move_to(at(D(2026, 11, 2)), tick=False)
    submit(c1.commission, FINAL, c1.lucy.user, c1.sarah)
    approve(c1.commission, FINAL, c1.tom)
    before = Reminder.objects.count()
    sent, _ = walk(time_machine, D(2026, 11, 3), D(2026, 12, 1), {})
    assert sent == []
    assert Reminder.objects.count() == before
    for day in (D(2026, 11, 4), D(2026, 11, 11), D(2026, 11, 10)):
        assert reminders.reminders_due(day) == []
