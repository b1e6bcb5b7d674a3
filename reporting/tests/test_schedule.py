import pytest
from django_celery_beat.models import PeriodicTask

from config.celery import app

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def worker_tasks():
    """The tasks a worker registers at start-up (autodiscovery is lazy elsewhere)."""
    app.loader.import_default_modules()


def test_beat_sweeps_pending_pdfs_every_five_minutes():
    task = PeriodicTask.objects.get(task="reporting.tasks.sweep_pdf_jobs")
    assert task.enabled
    assert (task.interval.every, task.interval.period) == (5, "minutes")
    assert task.task in app.tasks  # the name beat sends is one the worker knows


def test_the_pdf_task_is_late_acked_retried_and_time_limited():
    task = app.tasks["reporting.tasks.render_report_pdf"]
    assert task.acks_late is True
    assert task.max_retries >= 3 and task.autoretry_for == (Exception,)
    assert task.soft_time_limit < task.time_limit
