"""Report PDFs made by a real Celery worker on Redis, sharing the test PostgreSQL database and
MEDIA_ROOT (see conftest.py): after a submit, after the broker was down, and when the same
job is delivered twice.

Runs in CI's broker step (REDIS_URL set, DATABASE_URL on PostgreSQL); skipped elsewhere.
"""

import datetime
import io
import re
import time
from contextlib import contextmanager

import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from reporting import services
from reporting.models import ImpactReport, PdfJob, ReportFile
from reporting.tests.factories import NARRATIVE, drafted_report

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# Nothing listens on port 1: connecting is refused at once.
UNREACHABLE_BROKER = "redis://127.0.0.1:1/0"


@contextmanager
def broker_at(url):
    """Point this process's Celery app at another broker, dropping the cached connection and
    producer pools so the next publish connects afresh; put everything back afterwards."""
    from config.celery import app

    def drop_pools(close=False):
        if close and app._pool is not None:
            app._pool.force_close_all()
        app._pool = None
        app.amqp._producer_pool = None

    saved = app.conf.broker_url
    drop_pools()
    app.conf.broker_url = url
    try:
        yield app
    finally:
        drop_pools(close=True)
        app.conf.broker_url = saved


def wait_for_file(report, log, version=1, seconds=60) -> ReportFile:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = ReportFile.objects.filter(report=report, version=version).first()
        if found:
            return found
        time.sleep(0.25)
    raise AssertionError(f"no PDF v{version} of report {report.pk}:\n{log.read_text()}")


def wait_for_log(log, needle, count, seconds=30) -> int:
    deadline = time.monotonic() + seconds
    while log.read_text().count(needle) < count and time.monotonic() < deadline:
        time.sleep(0.25)
    return log.read_text().count(needle)


def pdf_text(report_file: ReportFile) -> str:
    with report_file.file.open("rb") as handle:
        reader = PdfReader(io.BytesIO(handle.read()))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))


def test_submitting_a_report_makes_the_worker_render_its_pdf(
    worker, worker_media, client, commission, leader, trust_lead
):
    report = drafted_report(commission, leader)
    client.force_login(trust_lead)

    response = client.post(reverse("reporting:report_submit", args=[report.pk]))

    assert response.status_code == 302
    assert response.url == report.get_absolute_url()
    report_file = wait_for_file(report, worker)
    job = PdfJob.objects.get(report=report)
    assert (job.status, job.version, job.attempts) == (PdfJob.Status.DONE, 1, 1)
    assert report_file.status_at_render == ImpactReport.Status.SUBMITTED
    # The worker wrote into the directory this process reads.
    assert report_file.file.path.startswith(str(worker_media))
    text = pdf_text(report_file)
    assert NARRATIVE["summary"] in text
    assert NARRATIVE["next_steps"] in text
    assert "Moorside Primary School" in text
    assert "reporting.tasks.render_report_pdf" in worker.read_text()
    download = client.get(reverse("reporting:report_pdf", args=[report.pk]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content).startswith(b"%PDF-")


def test_broker_down_the_submit_still_succeeds_and_the_sweeper_sends_the_job_later(
    worker, client, commission, leader, trust_lead, caplog
):
    report = drafted_report(commission, leader)
    client.force_login(trust_lead)

    with broker_at(UNREACHABLE_BROKER):
        started = time.monotonic()
        response = client.post(reverse("reporting:report_submit", args=[report.pk]))
        elapsed = time.monotonic() - started

    assert response.status_code == 302
    assert response.url == report.get_absolute_url()
    assert elapsed < 10, f"the submit took {elapsed:.1f}s with the broker down"
    assert "Could not queue PDF job" in caplog.text
    print(f"\nsubmit with the broker down answered in {elapsed * 1000:.0f} ms")
    report.refresh_from_db()
    assert report.status == ImpactReport.Status.SUBMITTED
    job = PdfJob.objects.get(report=report)
    assert (job.status, job.claimed_at, job.attempts) == (PdfJob.Status.PENDING, None, 0)
    assert "A new PDF is being prepared" in client.get(response.url).text
    assert not ReportFile.objects.filter(report=report).exists()

    # The broker is back. A fresh job is left to the task its request queued...
    assert services.pdf_jobs_sweep() == 0
    # ...and once it has waited past SWEEP_AFTER, the sweeper sends it.
    later = timezone.now() + datetime.timedelta(minutes=5)
    assert services.pdf_jobs_sweep(now=later) == 1

    report_file = wait_for_file(report, worker)
    job.refresh_from_db()
    assert (job.status, job.attempts) == (PdfJob.Status.DONE, 1)
    assert NARRATIVE["summary"] in pdf_text(report_file)
    # Done jobs are not sent again.
    assert services.pdf_jobs_sweep(now=later) == 0


def test_the_same_pdf_job_delivered_twice_makes_one_file(
    worker, worker_media, commission, leader, trust_lead, monkeypatch
):
    from reporting.tasks import render_report_pdf

    queued = []
    monkeypatch.setattr(services, "enqueue_pdf_job", queued.append)  # the submit sends nothing
    report = services.report_submit(report=drafted_report(commission, leader), actor=trust_lead)
    job = PdfJob.objects.get(report=report)
    assert queued == [job.pk]

    render_report_pdf.delay(job.pk)
    render_report_pdf.delay(job.pk)

    wait_for_file(report, worker)
    assert wait_for_log(worker, "succeeded", count=2) == 2, worker.read_text()
    log = worker.read_text()
    assert log.count("render_report_pdf[") == 4, log  # each delivery: received, succeeded
    assert "nothing to claim" in log
    assert ReportFile.objects.filter(report=report).count() == 1
    job.refresh_from_db()
    assert (job.status, job.attempts) == (PdfJob.Status.DONE, 1)
    assert len(list((worker_media / "reports" / str(report.pk)).iterdir())) == 1
