"""The report's change history on its page; PDF downloads and exports in the audit log;
and a visit flagged with a safeguarding concern kept out of the report, its PDF and the
funding return for everyone the report reaches."""

import csv
import datetime
import io
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from pypdf import PdfReader

from brokerage import services as brokerage
from deployments.tests.factories import add_objective, lead_deployment, record_visit, started_offer
from reporting import services
from reporting.tests.factories import NARRATIVE, drafted_report, submitted_report
from trust.models import AuditEvent

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
SECRET = "Named pupil disclosed a worry at break."
SECRET_STEPS = "DSL to call the family today."
SECRET_NOTE = "Pupil X mentioned home."


@pytest.fixture(autouse=True)
def fixed_today(time_machine):
    time_machine.move_to(datetime.datetime(2026, 11, 30, 10, 0, tzinfo=LONDON), tick=False)


@pytest.fixture
def open_offer(coordinator, brokering_request, lead_trust, leader_profile):
    return started_offer(
        coordinator=coordinator, request=brokering_request, trust=lead_trust, leader=leader_profile
    )


@pytest.fixture
def funded(commission, coordinator, oa_stream):
    brokerage.commission_set_funding(
        commission=commission, actor=coordinator, allocations=[(oa_stream, Decimal("2000"))]
    )
    return commission


def text_of(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


# ------------------------------------------------------------------ history


def test_the_report_page_shows_each_change_with_its_author(client, funded, leader, trust_lead):
    report = drafted_report(funded, leader)
    services.report_save(report=report, actor=trust_lead, **{**NARRATIVE, "barriers": "None."})
    client.force_login(trust_lead)
    page = text_of(client.get(report.get_absolute_url()))
    assert "Changes to the report" in page
    assert f"{trust_lead.full_name}: Changed Barriers: “{NARRATIVE['barriers']}” → “None.”" in page
    assert f"{leader.full_name}: Created" in page


@pytest.mark.parametrize("saves", [1, 25])
def test_report_history_costs_the_same_queries_however_long_it_is(
    client, funded, leader, saves, django_assert_max_num_queries
):
    report = drafted_report(funded, leader)
    for n in range(saves):
        services.report_save(report=report, actor=leader, **{**NARRATIVE, "summary": f"v{n}"})
    client.force_login(leader)
    with django_assert_max_num_queries(20):
        page = client.get(report.get_absolute_url())
    history = page.context["history"]
    assert history.total == saves + 2  # started, first draft, then each save
    assert len(history) == min(history.total, 20)


# ---------------------------------------------------------------- audit log


def test_a_pdf_download_is_logged_with_who_and_which_version(
    client, funded, leader, trust_lead, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        report = submitted_report(funded, leader, trust_lead)
    client.force_login(trust_lead)
    response = client.get(
        reverse("reporting:report_pdf", args=[report.pk]), REMOTE_ADDR="10.1.2.3"
    )
    assert response.status_code == 200
    b"".join(response.streaming_content)
    event = AuditEvent.objects.get(action=AuditEvent.Action.PDF_DOWNLOAD)
    assert (event.actor, event.email, event.ip) == (trust_lead, trust_lead.email, "10.1.2.3")
    assert (event.object_type, event.object_id) == ("reporting.impactreport", str(report.pk))
    assert event.detail == "version 1"


def test_a_refused_pdf_download_is_not_logged(client, funded, leader, school_contact):
    report = drafted_report(funded, leader)
    client.force_login(school_contact)
    assert client.get(reverse("reporting:report_pdf", args=[report.pk])).status_code == 404
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.PDF_DOWNLOAD).exists()


@pytest.mark.parametrize("name", ["funding_return_csv", "funding_return_xlsx"])
def test_each_export_is_logged_with_who_and_what(client, funded, funder_viewer, oa_stream, name):
    client.force_login(funder_viewer)
    response = client.get(reverse(f"reporting:{name}"), {"stream": oa_stream.pk})
    assert response.status_code == 200
    event = AuditEvent.objects.get(action=AuditEvent.Action.EXPORT)
    assert event.actor == funder_viewer
    assert (event.object_type, event.object_label) == ("brokerage.fundingstream", str(oa_stream))
    assert event.detail.startswith("funding return: ")
    assert event.detail.endswith(name.rsplit("_", 1)[1])


def test_a_refused_export_is_not_logged(client, funded, school_contact):
    client.force_login(school_contact)
    assert client.get(reverse("reporting:funding_return_csv")).status_code == 404
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).exists()


# ------------------------------------------------------------- safeguarding


@pytest.fixture
def flagged(funded, leader):
    objective = add_objective(funded, leader, title="Reading fluency")
    deployment = lead_deployment(funded)
    record_visit(
        deployment,
        date=datetime.date(2026, 10, 5),
        safeguarding_concern=True,
        summary=SECRET,
        next_steps=SECRET_STEPS,
        objective_ids=(objective.pk,),
        progress=((objective.pk, SECRET_NOTE, "amber"),),
    )
    return funded


def test_a_flagged_visits_text_is_in_neither_the_report_page_nor_its_pdf(
    client, flagged, leader, trust_lead, coordinator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        report = submitted_report(flagged, leader, trust_lead)
    for person in (trust_lead, leader, coordinator):
        client.force_login(person)
        page = client.get(report.get_absolute_url()).content.decode()
        assert "Withheld: this record raised a safeguarding concern" in page
        for secret in (SECRET, SECRET_STEPS, SECRET_NOTE):
            assert secret not in page
    client.force_login(trust_lead)
    pdf = client.get(reverse("reporting:report_pdf", args=[report.pk]))
    reader = PdfReader(io.BytesIO(b"".join(pdf.streaming_content)))
    text = " ".join(page.extract_text() for page in reader.pages)
    assert "Withheld" in text
    for secret in ("Named pupil", "DSL to call", "Pupil X"):
        assert secret not in text


def test_a_flagged_visit_counts_its_hours_but_not_its_text_in_the_funding_return(
    client, flagged, coordinator
):
    client.force_login(coordinator)
    response = client.get(reverse("reporting:funding_return_csv"))
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    moorside = next(r for r in rows if r["School"] == flagged.request.school.name)
    assert Decimal(moorside["Days used"]) > 0
    for secret in (SECRET, SECRET_STEPS, SECRET_NOTE):
        assert secret not in body
