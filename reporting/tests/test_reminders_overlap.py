"""Two reminder runs at once (beat firing twice, or a second worker) send each email once.

Runs against the configured database in real transactions, one connection per thread; run
it on PostgreSQL with DATABASE_URL set. On Wednesday 11 November 2026 fourteen reminders are
due across three commissions in two hubs (see ``overlap_story``). Two threads start
``reminders_run`` together behind a barrier; the mail server is slow (50 ms a message), so
each run is still sending while the other is claiming.
"""

from __future__ import annotations

import datetime
import threading
import time
from collections import Counter

import pytest
from django.core.mail.backends.base import BaseEmailBackend
from django.db import OperationalError, connection

from reporting.models import Notification, Reminder, ReminderKind
from reporting.reminders import reminders_run
from reporting.tests.test_reminders_year import (  # noqa: F401 (fixtures)
    FINAL,
    INTERIM,
    UTC,
    D,
    at,
    commission_for,
    people,
)

K = ReminderKind
TODAY = D(2026, 11, 11)


class SlowBackend(BaseEmailBackend):
    """An SMTP server taking 50 ms a message; remembers what it was given, thread-safely."""

    sent: list = []
    lock = threading.Lock()

    def send_messages(self, messages):
        for message in messages:
            time.sleep(0.05)
            with SlowBackend.lock:
                SlowBackend.sent.append(message)
        return len(messages)


@pytest.fixture
def overlap_story(people, time_machine):  # noqa: F811 (the fixture imported above)
    """What is due on Wed 11 Nov 2026, by hand:

    C1 (Sarah, Lucy; hub coordinator Helen) interim due today: due x2; interim due 28 Oct:
       escalation x1; no visit since the start on 1 Sep: no_visit x1            = 4
    C2 (Paul, Priya) interim due Sat 14 Nov: upcoming_3 x2; interim due 4 Nov: overdue_7
       x2; no visit since 14 Sep: no_visit x1                                       = 5
    C3 (Fiona, Owen, other hub) interim due yesterday: overdue_1 x2; interim due 25 Nov:
       upcoming_14 x2; no visit since 7 Sep: no_visit x1                            = 5
    """
    p = people
    time_machine.move_to(at(D(2026, 8, 24)), tick=False)
    commission_for(coordinator=p.helen, trust=p.aire, trust_lead=p.sarah, leader=p.lucy,
                   school=p.moorside, start=D(2026, 9, 1), end=D(2026, 12, 18),
                   deadlines=[(INTERIM, D(2026, 10, 28)), (INTERIM, TODAY),
                              (FINAL, D(2027, 1, 15))])  # fmt: skip
    commission_for(coordinator=p.helen, trust=p.pennine, trust_lead=p.paul, leader=p.priya,
                   school=p.heaton, start=D(2026, 9, 14), end=D(2027, 3, 31),
                   deadlines=[(INTERIM, D(2026, 11, 4)), (INTERIM, D(2026, 11, 14)),
                              (FINAL, D(2027, 3, 31))])  # fmt: skip
    commission_for(coordinator=p.olly, trust=p.faraway, trust_lead=p.fiona, leader=p.owen,
                   school=p.faraway_primary, start=D(2026, 9, 7), end=D(2027, 2, 5),
                   deadlines=[(INTERIM, D(2026, 11, 10)), (INTERIM, D(2026, 11, 25)),
                              (FINAL, D(2027, 3, 5))])  # fmt: skip
    time_machine.move_to(datetime.datetime(2026, 11, 11, 6, 0, tzinfo=UTC), tick=False)
    return p


def race(today: datetime.date, runs: int = 2):
    """Start ``runs`` reminder runs together; return their results and any errors."""
    barrier = threading.Barrier(runs)
    results, errors = [None] * runs, []

    def run(index):
        try:
            barrier.wait(timeout=30)
            results[index] = reminders_run(today)
        except Exception as error:  # reported to the test below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a run never finished"
    if errors:
        locked = all(
            isinstance(e, OperationalError) and "database is locked" in str(e) for e in errors
        )
        if locked and connection.vendor == "sqlite":
            pytest.skip(
                "SQLite let a writer wait longer than its busy timeout (database is locked); "
                "the overlap is proved on PostgreSQL"
            )
        raise errors[0]
    return results


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_send_each_reminder_once(overlap_story, settings):
    settings.EMAIL_BACKEND = f"{__name__}.SlowBackend"
    SlowBackend.sent = []

    first, second = race(TODAY)

    rows = list(Reminder.objects.select_related("recipient"))
    assert len(rows) == 14
    assert first.relevant == second.relevant == 14
    assert first.claimed + second.claimed == len(rows)
    assert Counter(r.kind for r in rows) == {
        K.DUE: 2, K.ESCALATION: 1, K.UPCOMING_3: 2, K.OVERDUE_7: 2, K.OVERDUE_1: 2,
        K.UPCOMING_14: 2, K.NO_VISIT: 3,
    }  # fmt: skip
    # Every reminder went, once: one message per row, per Message-ID, per person and subject.
    sent = SlowBackend.sent
    assert len(sent) == len(rows)
    assert sorted((m.to[0], m.subject) for m in sent) == sorted(
        (r.recipient.email, r.title) for r in rows
    )
    assert len({m.extra_headers["Message-ID"] for m in sent}) == len(sent)
    assert {(r.state, r.attempts) for r in rows} == {(Reminder.State.SENT, 1)}
    assert Notification.objects.count() == len(rows)

    # Beat fires twice more, again together: nothing new and nothing resent.
    again = race(TODAY)
    assert [r.claimed for r in again] == [0, 0]
    assert len(SlowBackend.sent) == len(rows)
    assert Reminder.objects.count() == Notification.objects.count() == len(rows)
