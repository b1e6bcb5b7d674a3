"""Retention: six years (by default) after a commission ends its notes are removed, the
figures and approved reports stay, and a second run changes nothing."""

import datetime
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from brokerage import services as brokerage
from brokerage.models import Offer, SupportRequest
from config.celery import app
from deployments.models import Visit, VisitObjective
from deployments.tests.factories import (
    add_objective,
    add_supporting_leader,
    lead_deployment,
    record_visit,
    started_offer,
)
from reporting import figures
from reporting.models import ImpactReport, PdfJob, ReportFile
from reporting.retention import REMOVED, notes_purge
from reporting.tests.factories import approved_report, drafted_report, submitted_report

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
START = datetime.datetime(2026, 11, 30, 10, 0, tzinfo=LONDON)
SECRET = "Ms Jones the head seemed stressed"


@pytest.fixture(autouse=True)
def fixed_today(time_machine):
    time_machine.move_to(START, tick=False)
    return time_machine


@pytest.fixture
def open_offer(coordinator, brokering_request, lead_trust, leader_profile):
    return started_offer(
        coordinator=coordinator, request=brokering_request, trust=lead_trust, leader=leader_profile
    )


@pytest.fixture
def world(
    commission, coordinator, oa_stream, leader, trust_lead, qa_lead,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    """A commission (ends 28 Feb 2027) with noted visits, an approved interim report (with
    its PDFs) and a final report submitted but never approved (with its PDF)."""
    brokerage.commission_set_funding(
        commission=commission, actor=coordinator, allocations=[(oa_stream, Decimal("2000"))]
    )
    objective = add_objective(commission, leader)
    deployment = lead_deployment(commission)
    visit = record_visit(
        deployment,
        date=datetime.date(2026, 10, 5),
        summary=SECRET,
        next_steps="Talk to Ms Jones again",
        people_met="Ms Jones",
        objective_ids=(objective.pk,),
        progress=((objective.pk, "Ms Jones keen", "green"),),
    )
    visit.summary = f"{SECRET}, edited"  # an earlier version now sits in the history
    visit.save()
    with django_capture_on_commit_callbacks(execute=True):
        approved = approved_report(commission, leader, trust_lead, qa_lead)
        final = submitted_report(commission, leader, trust_lead, kind="final")
    return {"commission": commission, "visit": visit, "approved": approved, "final": final}


def test_nothing_is_purged_before_the_retention_period_ends(world, fixed_today):
    # Ends 28 Feb 2027; six years later is 28 Feb 2033, the last day the notes are kept.
    fixed_today.move_to(datetime.datetime(2033, 2, 28, 23, tzinfo=LONDON), tick=False)
    counts = notes_purge()
    assert set(counts.values()) == {0}
    assert Visit.objects.get().summary == f"{SECRET}, edited"


def test_after_the_retention_period_notes_go_and_the_record_stays(world, fixed_today):
    commission = world["commission"]
    approved, final = world["approved"], world["final"]
    figures_before = figures.compute(approved.deadline)
    approved_snapshot = approved.snapshot
    final_figures = (final.snapshot["days"], final.snapshot["funding"])
    approved_pdfs = {
        (f.version, f.sha256) for f in approved.files.all() if f.status_at_render == "approved"
    }
    assert approved_pdfs and final.files.exists()

    fixed_today.move_to(datetime.datetime(2033, 3, 1, 1, tzinfo=LONDON), tick=False)
    counts = notes_purge()

    assert counts["visit notes"] == 1
    assert counts["visit progress notes"] == 1
    assert counts["request descriptions"] == 1
    assert counts["unapproved report narratives"] == 1
    # The final report's PDF, and the interim report's version from before approval.
    assert counts["unapproved report PDFs"] == 2
    assert counts["earlier versions in history"] >= 2
    visit = Visit.objects.get()
    assert (visit.summary, visit.next_steps, visit.people_met) == (REMOVED, REMOVED, "")
    assert VisitObjective.objects.get().note == ""
    assert SupportRequest.objects.get().context == REMOVED
    assert all(o.message == "" for o in Offer.objects.all())
    # No earlier version keeps the notes, and the purge is itself in the history.
    assert not Visit.history.filter(summary__contains="Ms Jones").exists()
    assert not Visit.history.filter(people_met="Ms Jones").exists()
    assert visit.history.first().history_change_reason.startswith("Retention period over")
    # The figures are the same; the approved report and its PDFs are untouched.
    after = figures.compute(approved.deadline)
    assert after["days"] == figures_before["days"]
    assert after["funding"] == figures_before["funding"]
    assert [o["rag_now"] for o in after["objectives"]] == [
        o["rag_now"] for o in figures_before["objectives"]
    ]
    approved.refresh_from_db()
    assert approved.snapshot == approved_snapshot and approved.summary
    assert {(f.version, f.sha256) for f in approved.files.all()} == approved_pdfs
    # The report never approved loses its narrative, its visit text and its PDF.
    final.refresh_from_db()
    assert final.summary == "" and final.evidence == ""
    assert SECRET not in str(final.snapshot)
    assert (final.snapshot["days"], final.snapshot["funding"]) == final_figures
    assert final.snapshot["visits"][0]["hours"] == "3"
    assert not ReportFile.objects.filter(report=final).exists()
    assert not PdfJob.objects.filter(report=final).exclude(state={}).exists()
    assert commission.request.title  # the record of what was asked for stays


def test_a_second_run_purges_nothing_more(world, fixed_today):
    fixed_today.move_to(datetime.datetime(2033, 3, 3, 12, tzinfo=LONDON), tick=False)
    notes_purge()
    history_rows = Visit.history.count()
    assert set(notes_purge().values()) == {0}
    assert Visit.history.count() == history_rows


def test_a_dry_run_prints_counts_and_changes_nothing(world, fixed_today):
    fixed_today.move_to(datetime.datetime(2033, 3, 3, 12, tzinfo=LONDON), tick=False)
    out = io.StringIO()
    call_command("purge_expired_notes", "--dry-run", stdout=out)
    text = out.getvalue()
    assert "Dry run: would remove the notes of commissions that ended before" in text
    assert "  visit notes: 1" in text and "  unapproved report PDFs: 2" in text
    assert Visit.objects.get().summary == f"{SECRET}, edited"
    assert Visit.history.filter(summary=SECRET).exists()
    assert ImpactReport.objects.get(pk=world["final"].pk).summary

    out = io.StringIO()
    call_command("purge_expired_notes", stdout=out)
    assert "Removed the notes" in out.getvalue() and "  visit notes: 1" in out.getvalue()
    assert Visit.objects.get().summary == REMOVED


def test_a_commission_still_inside_its_period_keeps_its_notes(
    world, fixed_today, coordinator, lead_trust
):
    """Another commission, ended later, is untouched when the first one is purged."""
    later = add_supporting_leader(world["commission"], lead_trust)  # same commission
    record_visit(later, date=datetime.date(2026, 11, 2), summary="Supporting visit")
    fixed_today.move_to(datetime.datetime(2033, 3, 3, 12, tzinfo=LONDON), tick=False)
    notes_purge(today=datetime.date(2033, 2, 28))  # one day too early
    assert Visit.objects.filter(summary="Supporting visit").exists()


def test_a_declined_request_loses_its_description_after_the_period(
    fixed_today, coordinator, supported_school
):
    from brokerage import services
    from brokerage.tests.factories import request_via_services

    request = request_via_services(actor=coordinator, school=supported_school, status="triage")
    services.request_transition(
        request=request, actor=coordinator, action="decline", reason="Mr Smith's school"
    )
    fixed_today.move_to(datetime.datetime(2032, 11, 30, 23, tzinfo=LONDON), tick=False)
    assert notes_purge()["request descriptions"] == 0
    fixed_today.move_to(datetime.datetime(2032, 12, 1, 1, tzinfo=LONDON), tick=False)
    counts = notes_purge()
    assert counts["request descriptions"] == 1 and counts["request timeline reasons"] == 1
    request.refresh_from_db()
    assert request.context == REMOVED and request.title


def test_beat_purges_expired_notes_every_night():
    app.loader.import_default_modules()
    task = PeriodicTask.objects.get(task="reporting.tasks.purge_expired_notes")
    assert task.enabled and (task.crontab.hour, task.crontab.minute) == ("3", "0")
    assert task.task in app.tasks


def test_drafts_on_a_closed_commission_are_purged_too(
    fixed_today, commission, leader, django_capture_on_commit_callbacks
):
    report = drafted_report(commission, leader, kind="final")
    fixed_today.move_to(datetime.datetime(2034, 1, 1, 12, tzinfo=LONDON), tick=False)
    assert notes_purge()["unapproved report narratives"] == 1
    report.refresh_from_db()
    assert report.summary == "" and not report.history.filter(summary__gt="").exists()
