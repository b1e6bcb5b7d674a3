"""The two worlds (ours and another hub's) are built once per test module: each test runs in
a savepoint inside the transaction that holds them, and everything is rolled back at the end
of the module. The clock stands still on Monday 30 November 2026, 10:00 in London."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction
from django.test import TestCase, override_settings

from .world import build_world

NOW = datetime.datetime(2026, 11, 30, 10, 0, tzinfo=ZoneInfo("Europe/London"))


@pytest.fixture(scope="module")
def worlds(django_db_setup, django_db_blocker, tmp_path_factory):
    media = tmp_path_factory.mktemp("media")
    with (
        django_db_blocker.unblock(),
        time_machine.travel(NOW, tick=False),
        override_settings(MEDIA_ROOT=media),
        transaction.atomic(),
    ):
        ours = build_world("Ours", TestCase.captureOnCommitCallbacks)
        theirs = build_world("Theirs", TestCase.captureOnCommitCallbacks)
        yield ours, theirs
        transaction.set_rollback(True)


@pytest.fixture
def ours(worlds, db):
    return worlds[0]


@pytest.fixture
def theirs(worlds, db):
    return worlds[1]
