"""The report's life: who may move it, what each step leaves behind, and its PDFs."""

import datetime
import hashlib
import io
import re
import socket
import time
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from brokerage import services as brokerage
from brokerage.tests.factories import FundingStreamFactory
from reporting import services
from reporting.models import ImpactReport, PdfJob, ReportEvent, ReportFile, SpendLine
from reporting.tests.factories import NARRATIVE, deadline_of, drafted_report, submitted_report
from trust.models import Role
from trust.tests.factories import member

pytestmark = pytest.mark.django_db
Status = ImpactReport.Status


def pdf_text(report_file: ReportFile) -> str:
    with report_file.file.open("rb") as handle:
        return "\n".join(
            page.extract_text() for page in PdfReader(io.BytesIO(handle.read())).pages
        )


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run what a request queues after commit (the PDF task, eagerly) when the block ends."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


# ------------------------------------------------------------------ who writes it


def test_the_lead_system_leader_starts_and_drafts(commission, leader):
    report = drafted_report(commission, leader, summary="Fluency up.")
    assert report.status == Status.DRAFT
    assert report.summary == "Fluency up."
    assert [e.to_status for e in report.events.all()] == [Status.DRAFT]
    assert report.history.first().history_user == leader


@pytest.mark.parametrize("who", ["coordinator", "qa_lead", "school_contact", "funder_viewer"])
def test_others_cannot_start_a_report(commission, who, request):
    with pytest.raises(ValidationError, match="starts the report"):
        services.report_start(deadline=deadline_of(commission), actor=request.getfixturevalue(who))
    assert not ImpactReport.objects.exists()


def test_starting_twice_gives_the_same_report(commission, leader, trust_lead):
    first = services.report_start(deadline=deadline_of(commission), actor=leader)
    again = services.report_start(deadline=deadline_of(commission), actor=trust_lead)
    assert first.pk == again.pk


def test_a_supporting_leader_cannot_write(commission, leader, lead_trust):
    from deployments.tests.factories import add_supporting_leader

    helper = add_supporting_leader(commission, lead_trust).leader.user
    report = drafted_report(commission, leader)
    with pytest.raises(ValidationError, match="Only the Lead System Leader and the lead trust"):
        services.report_save(report=report, actor=helper, summary="Mine now")


def test_narrative_is_capped_and_nothing_is_saved_over_the_cap(commission, leader):
    report = drafted_report(commission, leader)
    with pytest.raises(ValidationError) as refused:
        services.report_save(report=report, actor=leader, evidence="x" * 20_001)
    assert "20,000 characters" in str(refused.value.message_dict["evidence"])
    report.refresh_from_db()
    assert report.evidence == NARRATIVE["evidence"]


# --------------------------------------------------------------------- submitting


def test_the_leader_cannot_submit_the_trust_lead_does(
    commission, leader, trust_lead, run_on_commit
):
    report = drafted_report(commission, leader)
    with pytest.raises(ValidationError, match="trust lead of the lead organisation submits"):
        services.report_submit(report=report, actor=leader)
    with run_on_commit():
        report = services.report_submit(report=report, actor=trust_lead)
    assert report.status == Status.SUBMITTED
    assert report.submitted_by == trust_lead
    assert report.snapshot["commission"]["school"] == commission.request.school.name
    event = report.events.last()
    assert (event.from_status, event.to_status, event.actor) == ("draft", "submitted", trust_lead)


def test_submitting_needs_the_summary_evidence_and_next_steps(commission, leader, trust_lead):
    report = drafted_report(commission, leader, summary="  ", next_steps="")
    with pytest.raises(ValidationError) as refused:
        services.report_submit(report=report, actor=trust_lead)
    assert "summary of impact, next steps" in refused.value.messages[0]
    report.refresh_from_db()
    assert report.status == Status.DRAFT and report.snapshot is None


def test_a_submitted_report_cannot_be_edited_or_submitted_again(
    commission, leader, trust_lead, run_on_commit
):
    with run_on_commit():
        report = submitted_report(commission, leader, trust_lead)
    with pytest.raises(ValidationError, match="cannot be changed now"):
        services.report_save(report=report, actor=leader, summary="Sneaky edit")
    with pytest.raises(ValidationError, match="only a draft or a returned report"):
        services.report_submit(report=report, actor=trust_lead)
    assert report.events.filter(to_status=Status.SUBMITTED).count() == 1


def test_a_trust_lead_of_another_trust_cannot_submit(commission, leader, hub):
    from trust.tests.factories import TrustFactory

    stranger = member(Role.TRUST_LEAD, TrustFactory(hub=hub), full_name="Other Lead")
    report = drafted_report(commission, leader)
    with pytest.raises(ValidationError):
        services.report_submit(report=report, actor=stranger)


# ------------------------------------------------------------------------ QA review


def test_qa_returns_with_comments_and_the_authors_resubmit(
    commission, leader, trust_lead, qa_lead, run_on_commit
):
    with run_on_commit():
        report = submitted_report(commission, leader, trust_lead)
    with pytest.raises(ValidationError, match="Say what needs to change"):
        services.report_return(report=report, actor=qa_lead, comments="   ")
    report = services.report_return(report=report, actor=qa_lead, comments="Add the KS2 data.")
    assert report.status == Status.RETURNED
    assert report.review_comments == "Add the KS2 data."

    report = services.report_save(report=report, actor=leader, evidence="KS2 data: 78% EXS.")
    with run_on_commit():
        report = services.report_submit(report=report, actor=trust_lead)
    assert report.submissions == 2
    assert report.snapshot["narrative"][1][1] == "KS2 data: 78% EXS."
    assert [e.to_status for e in report.events.all()] == [
        "draft", "submitted", "returned", "submitted",
    ]  # fmt: skip
    assert report.events.get(to_status="returned").comment == "Add the KS2 data."


@pytest.mark.parametrize("who", ["coordinator", "trust_lead", "leader", "outsider"])
def test_only_the_hubs_qa_lead_reviews(
    commission, leader, trust_lead, who, request, run_on_commit
):
    with run_on_commit():
        report = submitted_report(commission, leader, trust_lead)
    actor = request.getfixturevalue(who)
    with pytest.raises(ValidationError, match="QA lead"):
        services.report_approve(
            report=report, actor=actor, impact="strong", value_for_money="good"
        )
    with pytest.raises(ValidationError, match="QA lead"):
        services.report_return(report=report, actor=actor, comments="No")
    report.refresh_from_db()
    assert report.status == Status.SUBMITTED


def test_approval_needs_both_judgements_and_a_submitted_report(
    commission, leader, trust_lead, qa_lead, run_on_commit
):
    draft = drafted_report(commission, leader)
    with pytest.raises(ValidationError, match="Only a submitted report"):
        services.report_approve(report=draft, actor=qa_lead, impact="some", value_for_money="good")
    with run_on_commit():
        report = services.report_submit(report=draft, actor=trust_lead)
    with pytest.raises(ValidationError) as refused:
        services.report_approve(report=report, actor=qa_lead, impact="huge", value_for_money="")
    assert set(refused.value.message_dict) == {"impact", "value_for_money"}
    with run_on_commit():
        report = services.report_approve(
            report=report, actor=qa_lead, impact="some", value_for_money="adequate"
        )
    assert (report.status, report.impact, report.value_for_money) == (
        "approved",
        "some",
        "adequate",
    )
    assert report.reviewer == qa_lead


# ------------------------------------------------------------------------------ PDFs


def test_submission_and_approval_each_make_a_pdf_version(
    commission, leader, trust_lead, qa_lead, run_on_commit
):
    with run_on_commit():
        report = submitted_report(commission, leader, trust_lead)
    with run_on_commit():
        services.report_approve(
            report=report, actor=qa_lead, impact="strong", value_for_money="good"
        )
    submitted, approved = ReportFile.objects.filter(report=report).order_by("version")
    assert (submitted.version, approved.version) == (1, 2)
    assert "awaiting quality assurance" in pdf_text(submitted)
    text = pdf_text(approved)
    assert "Approved" in text and "Impact: Strong" in text
    assert NARRATIVE["summary"] in text
    assert commission.request.school.name in text
    assert "Page 1 of" in text
    assert approved.file.open("rb").read()[:5] == b"%PDF-"
    import hashlib

    assert hashlib.sha256(approved.file.open("rb").read()).hexdigest() == approved.sha256


def test_the_pdf_draws_the_reports_charts_with_their_labels(
    commission, leader, trust_lead, run_on_commit
):
    from deployments.tests.factories import add_objective

    add_objective(commission, leader, title="Reading", rag="red")
    add_objective(commission, leader, title="Attendance", rag="green")
    with run_on_commit():
        report = submitted_report(commission, leader, trust_lead)
    text = pdf_text(ReportFile.objects.get(report=report))
    # The RAG chart's rows, with their counts drawn as text beside the bars
    assert re.search(r"Red: off track\s+1", text)
    assert re.search(r"Green: on track\s+1", text)
    assert "How many of the action plan's objectives are rated" in text
    assert "Each leader's days allocated to the commission" in text


def test_an_approved_pdf_never_changes_reapproval_makes_a_new_version(
    commission, leader, trust_lead, qa_lead, run_on_commit
):
    with run_on_commit():
        report = submitted_report(commission, leader, trust_lead)
    with run_on_commit():
        report = services.report_approve(
            report=report, actor=qa_lead, impact="strong", value_for_money="good"
        )
    first = ReportFile.objects.get(report=report, version=2)
    first_bytes = first.file.open("rb").read()

    report = services.report_return(report=report, actor=qa_lead, comments="Funder asked for KS2.")
    report = services.report_save(report=report, actor=leader, summary="Now with KS2 results.")
    with run_on_commit():
        report = services.report_submit(report=report, actor=trust_lead)
    with run_on_commit():
        services.report_approve(
            report=report, actor=qa_lead, impact="some", value_for_money="good"
        )

    assert list(report.files.order_by("version").values_list("version", flat=True)) == [1, 2, 3, 4]
    first.refresh_from_db()
    assert first.file.open("rb").read() == first_bytes
    assert "Now with KS2 results." in pdf_text(report.files.get(version=4))
    assert "Now with KS2 results." not in pdf_text(first)


def test_running_the_job_twice_makes_one_file(commission, leader, trust_lead):
    report = submitted_report(commission, leader, trust_lead)  # on_commit not run: job pending
    job = PdfJob.objects.get(report=report)
    first = services.pdf_job_run(job_id=job.pk)
    second = services.pdf_job_run(job_id=job.pk)
    assert first.pk == second.pk
    assert ReportFile.objects.filter(report=report).count() == 1
    job.refresh_from_db()
    assert (job.status, job.attempts) == ("done", 1)


def test_a_job_claimed_by_a_live_worker_is_left_alone(commission, leader, trust_lead):
    report = submitted_report(commission, leader, trust_lead)
    job = PdfJob.objects.get(report=report)
    PdfJob.objects.filter(pk=job.pk).update(claimed_at=timezone.now())  # another worker has it
    assert services.pdf_job_run(job_id=job.pk) is None
    assert not ReportFile.objects.exists()
    # ...until its claim is stale, when the worker is taken to have died.
    PdfJob.objects.filter(pk=job.pk).update(
        claimed_at=timezone.now() - datetime.timedelta(hours=1)
    )
    assert services.pdf_job_run(job_id=job.pk).version == 1


def test_a_failed_render_leaves_the_job_pending_for_a_retry(
    commission, leader, trust_lead, monkeypatch
):
    report = submitted_report(commission, leader, trust_lead)
    job = PdfJob.objects.get(report=report)

    def broken(html):
        raise MemoryError("out of memory")

    monkeypatch.setattr("reporting.pdf.html_to_pdf", broken)
    with pytest.raises(MemoryError):
        services.pdf_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.claimed_at, job.error) == (
        "pending",
        None,
        "MemoryError: out of memory",
    )
    monkeypatch.undo()
    assert services.pdf_job_run(job_id=job.pk).version == 1


def test_the_sweeper_sends_jobs_the_broker_never_got(commission, leader, trust_lead):
    report = submitted_report(commission, leader, trust_lead)  # queued, never delivered
    assert services.pdf_jobs_sweep() == 0  # too fresh: its own task may still come
    later = timezone.now() + datetime.timedelta(minutes=5)
    assert services.pdf_jobs_sweep(now=later) == 1  # eager: rendered here
    assert ReportFile.objects.filter(report=report).count() == 1
    assert services.pdf_jobs_sweep(now=later) == 0


@pytest.fixture
def hung_redis():
    """A port that takes connections and never answers, like a Redis stuck on disk."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    listener.close()


@pytest.mark.parametrize("broker", ["refused", "hung"])
def test_submitting_while_the_broker_is_down_or_hung_still_succeeds(
    commission, leader, trust_lead, django_capture_on_commit_callbacks, hung_redis, broker
):
    from config.celery import app

    def use_broker(url, eager):
        # The connection pools remember the broker they were made for: drop them (kombu
        # keeps a pool per broker, so the memory one is found again afterwards).
        app._pool = None
        app.amqp._producer_pool = None
        app.conf.broker_url, app.conf.task_always_eager = url, eager

    report = drafted_report(commission, leader)
    use_broker(hung_redis if broker == "hung" else "redis://127.0.0.1:1/0", eager=False)
    try:
        started = time.monotonic()
        with django_capture_on_commit_callbacks(execute=True) as queued:
            report = services.report_submit(report=report, actor=trust_lead)
        elapsed = time.monotonic() - started
    finally:
        use_broker("memory://", eager=True)
    assert len(queued) == 1  # the enqueue ran, failed, and was swallowed
    report.refresh_from_db()
    assert report.status == Status.SUBMITTED
    assert PdfJob.objects.get(report=report).status == PdfJob.Status.PENDING
    # Not a benchmark: the broker timeouts (3 s, one retry) bound it; a hang would be minutes.
    assert elapsed < 20


# --------------------------------------------------------------------------- spend


@pytest.fixture
def allocation(commission, coordinator, hub, funder):
    stream = FundingStreamFactory(hub=hub, funder=funder, academic_year=commission.academic_year)
    brokerage.commission_set_funding(
        commission=commission, actor=coordinator, allocations=[(stream, Decimal("1000"))]
    )
    return commission.allocations.get()


def test_spend_cannot_exceed_the_allocation(allocation, trust_lead):
    today = timezone.localdate()
    services.spend_add(allocation=allocation, actor=trust_lead, date=today,
                       amount=Decimal("900"), description="Cover")  # fmt: skip
    with pytest.raises(ValidationError) as refused:
        services.spend_add(allocation=allocation, actor=trust_lead, date=today,
                           amount=Decimal("100.01"), description="Books")  # fmt: skip
    assert "£1,000.01, over its £1,000.00 allocation" in refused.value.message_dict["amount"][0]
    assert SpendLine.objects.count() == 1


def test_spend_is_recorded_once_it_has_happened_by_the_trust_or_hub(
    allocation, leader, school_contact
):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    with pytest.raises(ValidationError) as refused:
        services.spend_add(allocation=allocation, actor=allocation.commission.lead_organisation
                           .memberships.first().user, date=tomorrow, amount=Decimal("1"),
                           description="x")  # fmt: skip
    assert "once it has happened" in str(refused.value)
    for who in (leader, school_contact):
        with pytest.raises(ValidationError, match="lead trust and the hub coordinator"):
            services.spend_add(allocation=allocation, actor=who, date=timezone.localdate(),
                               amount=Decimal("1"), description="x")  # fmt: skip


def test_funding_with_spend_cannot_be_removed_from_the_commission(
    allocation, coordinator, trust_lead
):
    services.spend_add(allocation=allocation, actor=trust_lead, date=timezone.localdate(),
                       amount=Decimal("10"), description="Cover")  # fmt: skip
    with pytest.raises(ValidationError, match="Money has already been spent"):
        brokerage.commission_set_funding(
            commission=allocation.commission, actor=coordinator, allocations=[]
        )
    # Reducing it keeps the row, and so the spend against it.
    brokerage.commission_set_funding(
        commission=allocation.commission,
        actor=coordinator,
        allocations=[(allocation.stream, Decimal("500"))],
    )
    allocation.refresh_from_db()
    assert allocation.amount == Decimal("500")
    assert allocation.spend_lines.count() == 1


def test_a_started_report_keeps_its_deadline(commission, leader, coordinator):
    report = drafted_report(commission, leader)
    final = commission.deadlines.get(kind="final")
    with pytest.raises(ValidationError, match="has been started"):
        brokerage.commission_set_deadlines(
            commission=commission, actor=coordinator, deadlines=[("final", final.due)]
        )
    assert ReportEvent.objects.filter(report=report).exists()
    assert commission.deadlines.filter(pk=report.deadline_id).exists()


def test_a_job_delivered_late_renders_the_report_as_it_was_asked_for(
    commission, leader, trust_lead, qa_lead
):
    """The broker was down: every job waits while the report moves on, then all are sent."""
    report = submitted_report(commission, leader, trust_lead, summary="First account.")
    report = services.report_return(report=report, actor=qa_lead, comments="More evidence.")
    report = services.report_save(report=report, actor=leader, summary="Second account.")
    report = services.report_submit(report=report, actor=trust_lead)
    services.report_approve(report=report, actor=qa_lead, impact="limited", value_for_money="poor")

    later = timezone.now() + datetime.timedelta(minutes=5)
    assert services.pdf_jobs_sweep(now=later) == 3
    first, second, approved = report.files.order_by("version")
    assert "First account." in pdf_text(first) and "Second account." not in pdf_text(first)
    assert first.status_at_render == "submitted" and "Approved" not in pdf_text(first)
    assert "Second account." in pdf_text(second) and second.status_at_render == "submitted"
    assert approved.status_at_render == "approved" and "Impact: Limited" in pdf_text(approved)


def test_pdfs_are_stored_and_served_through_the_storage_api_not_the_filesystem(
    settings, client, commission, leader, trust_lead, run_on_commit, media_root
):
    """Several web and worker machines share one file store (S3 in production): the worker
    writes and the web server reads only through Django's storage API. Django's in-memory
    storage has no filesystem paths, so any code that reached for one would fail here."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }
    with run_on_commit():
        report = submitted_report(commission, leader, trust_lead)
    stored = ReportFile.objects.get(report=report)
    assert stored.file.storage.exists(stored.file.name)
    assert not media_root.exists() or not any(media_root.rglob("*.pdf"))
    client.force_login(trust_lead)
    response = client.get(reverse("reporting:report_pdf", args=[report.pk]))
    body = b"".join(response.streaming_content)
    assert body[:5] == b"%PDF-"
    assert hashlib.sha256(body).hexdigest() == stored.sha256
