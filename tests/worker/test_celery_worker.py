"""A real Celery worker on Redis, sharing the test PostgreSQL database (the `worker`
fixture is in conftest.py).

Runs in CI's broker step (REDIS_URL set, DATABASE_URL on PostgreSQL); skipped elsewhere,
because an in-memory SQLite test database cannot be shared with another process.
"""

import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from trust.models import Organisation, SchoolImport

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

BASE_DIR = Path(__file__).resolve().parents[2]
SAMPLE = BASE_DIR / "trust" / "tests" / "data" / "establishments_sample.csv"


def wait_until_finished(pk, log, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        school_import = SchoolImport.objects.get(pk=pk)
        if school_import.finished:
            return school_import
        time.sleep(0.25)
    raise AssertionError(f"import {pk} did not finish:\n{log.read_text()}")


def test_uploaded_file_is_imported_by_the_worker(worker, client, coordinator, hub):
    client.force_login(coordinator)
    response = client.post(
        reverse("trust:school_import"),
        {"file": SimpleUploadedFile("edubasealldata.csv", SAMPLE.read_bytes())},
    )
    assert response.status_code == 302
    pending = SchoolImport.objects.get()

    done = wait_until_finished(pending.pk, worker)

    assert done.status == SchoolImport.Status.DONE
    assert (done.created, done.closed) == (64, 2)
    assert Organisation.objects.schools().filter(hub=hub).count() == 64
    assert "Imported" in client.get(response.url).text
    assert "school_import_run_task" in worker.read_text()


def test_the_same_task_delivered_twice_imports_once(worker, coordinator, hub):
    from trust.services import school_import_start
    from trust.tasks import school_import_run_task

    school_import = school_import_start(
        hub=hub, user=coordinator, file_name="s.csv", data=SAMPLE.read_bytes()
    )  # on_commit fires at once here: there is no surrounding transaction
    school_import_run_task.delay(school_import.pk)

    done = wait_until_finished(school_import.pk, worker)
    deadline = time.monotonic() + 20
    while worker.read_text().count("succeeded") < 2 and time.monotonic() < deadline:
        time.sleep(0.25)

    assert worker.read_text().count("succeeded") == 2
    assert done.created == 64
    assert Organisation.objects.schools().count() == 64
    assert SchoolImport.objects.get().created == 64
