"""A person's data: the export they (or their hub coordinator) download, and erasure that
keeps the programme's records with the person shown as "Former user"."""

import datetime
import io
import json
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import SESSION_KEY
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pypdf import PdfReader

from brokerage import services as brokerage
from deployments.models import Visit
from deployments.tests.factories import (
    add_objective,
    add_supporting_leader,
    lead_deployment,
    record_visit,
    started_offer,
)
from reporting import calendar
from reporting.models import (
    ImpactReport,
    Notification,
    NotificationPreference,
    ReportFile,
)
from reporting.personal_data import (
    FORMER_USER,
    anonymise_user,
    personal_data_export,
    personal_data_json,
)
from reporting.tests.factories import approved_report
from trust.models import Membership, User

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
NAME = "Jane Distinctive"
EMAIL = "jane.distinctive@school.example"


@pytest.fixture(autouse=True)
def fixed_today(time_machine):
    time_machine.move_to(datetime.datetime(2026, 11, 30, 10, 0, tzinfo=LONDON), tick=False)


@pytest.fixture
def open_offer(coordinator, brokering_request, lead_trust, leader_profile):
    return started_offer(
        coordinator=coordinator, request=brokering_request, trust=lead_trust, leader=leader_profile
    )


@pytest.fixture
def jane(leader):
    """The Lead System Leader, with a name and email easy to look for."""
    leader.full_name, leader.email, leader.job_title = NAME, EMAIL, "Deputy head"
    leader.save()
    return leader


@pytest.fixture
def world(
    jane,
    commission,
    coordinator,
    oa_stream,
    trust_lead,
    qa_lead,
    django_capture_on_commit_callbacks,
):
    """Jane leads the commission: an objective, two visits (one flagged), a report drafted
    and approved with its PDFs; a supporting leader writes a visit of their own."""
    brokerage.commission_set_funding(
        commission=commission, actor=coordinator, allocations=[(oa_stream, Decimal("2000"))]
    )
    objective = add_objective(commission, jane, title="Raise reading fluency")
    deployment = lead_deployment(commission)
    record_visit(
        deployment,
        date=datetime.date(2026, 10, 5),
        summary="Jane's visit about fluency.",
        objective_ids=(objective.pk,),
        progress=((objective.pk, "Fluency up", "green"),),
    )
    record_visit(
        deployment,
        date=datetime.date(2026, 10, 12),
        summary="A concern raised with the hub.",
        safeguarding_concern=True,
    )
    supporting = add_supporting_leader(commission, commission.lead_organisation)
    record_visit(supporting, date=datetime.date(2026, 10, 20), summary="Priya's own visit.")
    with django_capture_on_commit_callbacks(execute=True):
        report = approved_report(commission, jane, trust_lead, qa_lead)
    Notification.objects.create(user=jane, kind="due", title="Your report is due", url="/")
    Notification.objects.create(user=trust_lead, kind="due", title="Trust lead's own", url="/")
    NotificationPreference.objects.create(user=jane, kind="no_visit", email=False)
    calendar.feed_for(jane)
    return {"report": report, "supporting": supporting.leader.user, "objective": objective}


# ------------------------------------------------------------------------- export


def test_the_export_holds_the_persons_records_and_nobody_elses(world, jane, trust_lead):
    data = personal_data_export(jane)
    assert data["profile"]["full_name"] == NAME
    assert data["profile"]["email"] == EMAIL
    assert data["profile"]["job_title"] == "Deputy head"
    assert [(m["role"], m["organisation"]) for m in data["memberships"]] == [
        ("system_leader", "Beck Primary")
    ]
    assert data["system_leader_profile"]["designation"] == "Specialist Leader of Education"
    visits = data["visits_written"]
    assert [v["summary"] for v in visits] == [
        "Jane's visit about fluency.",
        "A concern raised with the hub.",
    ]
    assert visits[0]["objectives"] == [
        {"objective": "Raise reading fluency", "note": "Fluency up", "rag": "green"}
    ]
    assert visits[1]["safeguarding_concern"] is True  # hers, so in her export
    [report] = data["reports"]
    assert report["id"] == world["report"].pk
    assert report["your_part"] == ["drafted"]
    assert report["status"] == "approved"
    assert [n["title"] for n in data["notifications"]] == ["Your report is due"]
    assert data["email_preferences"] == [{"kind": "no_visit", "email": False}]
    assert data["calendar_feed"] is not None

    text = personal_data_json(jane)
    supporting = world["supporting"]
    for other in (
        supporting.full_name,
        supporting.email,
        "Priya's own visit.",
        trust_lead.full_name,
        trust_lead.email,
        "Trust lead's own",
        "Tom Okafor",  # the QA lead who approved
        "Helen Marsh",  # the coordinator
    ):
        assert other not in text, other
    assert calendar.feed_for(jane).token not in text  # the secret address is not exported


def test_the_reviewer_and_submitter_see_their_part(world, trust_lead, qa_lead):
    assert personal_data_export(trust_lead)["reports"][0]["your_part"] == ["submitted"]
    assert personal_data_export(qa_lead)["reports"][0]["your_part"] == ["reviewed"]


def test_the_export_takes_the_same_number_of_queries_however_much_was_written(world, jane):
    with CaptureQueriesContext(connection) as few:
        personal_data_export(jane)
    deployment = lead_deployment(world["report"].commission)
    for day in range(1, 11):
        record_visit(
            deployment,
            date=datetime.date(2026, 11, day),
            objective_ids=(world["objective"].pk,),
            progress=((world["objective"].pk, "Note", "amber"),),
        )
        Notification.objects.create(user=jane, kind="due", title=f"Reminder {day}", url="/")
    with CaptureQueriesContext(connection) as many:
        data = personal_data_export(jane)
    assert len(data["visits_written"]) == 12
    assert len(many) == len(few)


def test_a_person_downloads_their_own_data(client, world, jane):
    client.force_login(jane)
    page = client.get(reverse("reporting:personal_data"))
    assert "Download your data" in page.text
    assert "Subject access request" not in page.text  # only for hub coordinators
    response = client.get(reverse("reporting:personal_data_download"))
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"].startswith('attachment; filename="personal-data-')
    assert json.loads(response.content)["profile"]["email"] == EMAIL


def test_the_hub_coordinator_answers_a_subject_access_request_for_their_hub_only(
    client, world, jane, coordinator, outsider, school_contact
):
    url = reverse("reporting:personal_data_for")
    client.force_login(coordinator)
    assert "Subject access request" in client.get(reverse("reporting:personal_data")).text
    response = client.post(url, {"email": EMAIL.upper()})
    assert response.status_code == 200
    assert json.loads(response.content)["profile"]["full_name"] == NAME
    assert client.post(url, {"email": "nobody@example.test"}).status_code == 404

    client.force_login(outsider)  # another hub's coordinator
    assert client.post(url, {"email": EMAIL}).status_code == 404
    client.force_login(school_contact)
    assert client.post(url, {"email": EMAIL}).status_code == 404


def test_the_export_command_prints_the_same_json(world, jane):
    out = io.StringIO()
    call_command("export_personal_data", EMAIL, stdout=out)
    assert json.loads(out.getvalue())["visits_written"][0]["summary"] == (
        "Jane's visit about fluency."
    )


# ---------------------------------------------------------------------- erasure


def pdf_text(report_file: ReportFile) -> str:
    with report_file.file.open("rb") as handle:
        return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(handle.read())).pages)


def test_after_anonymisation_the_records_stay_and_the_person_is_nowhere(
    client, world, jane, coordinator, trust_lead, django_capture_on_commit_callbacks
):
    report = world["report"]
    commission = report.commission
    visits_before = list(
        Visit.objects.order_by("pk").values_list("pk", "date", "duration_hours", "summary")
    )
    figures_before = report.snapshot["days"]["used_to_date"]
    files_before = {f.version for f in report.files.all()}
    assert any(NAME in pdf_text(f) for f in report.files.all())
    jane_client = client.__class__()
    jane_client.force_login(jane)

    with django_capture_on_commit_callbacks(execute=True):
        result = anonymise_user(user=jane, by=coordinator)

    assert result.memberships == 1 and result.pdfs_remade == len(files_before)
    jane.refresh_from_db()
    assert (jane.full_name, jane.email) == (FORMER_USER, f"deleted-{jane.pk}@invalid")
    assert not jane.is_active and not jane.has_usable_password()
    assert not Membership.objects.filter(user=jane).exists()
    assert not Notification.objects.filter(user=jane).exists()
    assert not NotificationPreference.objects.filter(user=jane).exists()
    assert Notification.objects.filter(user=trust_lead).exists()
    # The records, with the same figures.
    assert (
        list(Visit.objects.order_by("pk").values_list("pk", "date", "duration_hours", "summary"))
        == visits_before
    )
    report.refresh_from_db()
    assert report.snapshot["days"]["used_to_date"] == figures_before
    assert report.snapshot["commission"]["lead_leader"] == FORMER_USER
    assert report.history.first().history_user_id == coordinator.pk
    assert ImpactReport.history.filter(history_user=jane).exists()  # link kept, name gone
    # Pages the hub reads show "Former user", never her name or email.
    client.force_login(coordinator)
    visit = Visit.objects.filter(recorded_by=jane).first()
    for url in (
        commission.get_absolute_url(),
        lead_deployment(commission).get_absolute_url(),
        visit.get_absolute_url(),
        report.get_absolute_url(),
        reverse("deployments:plan_detail", args=[commission.pk]),
        reverse("deployments:objective_detail", args=[world["objective"].pk]),
        commission.request.get_absolute_url(),
    ):
        page = client.get(url)
        assert page.status_code == 200, url
        assert NAME not in page.text and EMAIL not in page.text, url
    assert FORMER_USER in client.get(visit.get_absolute_url()).text
    # Every PDF was made again, same versions, without her name.
    files = list(report.files.all())
    assert {f.version for f in files} == files_before
    for report_file in files:
        text = pdf_text(report_file)
        assert NAME not in text and EMAIL not in text
        assert FORMER_USER in text
    # She cannot sign in, and the session she had is over.
    # (through the sign-in form: django-axes needs the request to count attempts)
    signed_in = Client().post(
        reverse("login"), {"username": EMAIL, "password": "correct-horse-battery"}
    )
    assert signed_in.status_code == 200 and "do not match an account" in signed_in.text
    assert SESSION_KEY not in signed_in.wsgi_request.session
    response = jane_client.get(reverse("trust:home"))
    assert response.status_code == 302 and SESSION_KEY not in jane_client.session


def test_a_dry_run_changes_nothing_and_a_second_run_does_nothing_more(world, jane, coordinator):
    preview = anonymise_user(user=jane, by=coordinator, dry_run=True)
    assert preview.memberships == 1 and preview.kept["visits"] == 2
    jane.refresh_from_db()
    assert jane.full_name == NAME and jane.is_active
    assert Membership.objects.filter(user=jane).count() == 1
    assert NAME in json.dumps(world["report"].snapshot)

    anonymise_user(user=jane, by=coordinator)
    again = anonymise_user(user=jane, by=coordinator)
    assert again.already_anonymised
    assert User.objects.filter(full_name=FORMER_USER).count() == 1


def test_the_anonymise_command_has_a_dry_run(world, jane):
    out = io.StringIO()
    call_command("anonymise_user", EMAIL, "--dry-run", stdout=out)
    assert "Dry run" in out.getvalue() and "Would remove: 1 memberships" in out.getvalue()
    assert User.objects.get(pk=jane.pk).full_name == NAME
    out = io.StringIO()
    call_command("anonymise_user", EMAIL, stdout=out)
    assert "Kept: 2 visits" in out.getvalue()
    assert User.objects.get(pk=jane.pk).full_name == FORMER_USER


def test_the_site_team_anonymises_from_the_admin_after_a_confirmation(client, world, jane):
    admin_user = User.objects.create_superuser("admin@example.test", "long-enough-password")
    client.force_login(admin_user)
    url = reverse("admin:trust_user_changelist")
    data = {"action": "anonymise_people", "_selected_action": [jane.pk]}
    page = client.post(url, data)
    assert "This cannot be undone" in page.text and NAME in page.text
    assert User.objects.get(pk=jane.pk).full_name == NAME
    client.post(url, {**data, "confirm": "yes"})
    assert User.objects.get(pk=jane.pk).full_name == FORMER_USER

    response = client.post(url, {"action": "export_personal_data", "_selected_action": [jane.pk]})
    assert json.loads(response.content)[str(jane.pk)]["profile"]["full_name"] == FORMER_USER


def test_the_name_is_replaced_as_a_whole_word_in_text_the_service_wrote(
    brokering_request, coordinator, school_contact
):
    from brokerage.models import RequestEvent

    school_contact.full_name = "Ann"
    school_contact.save()
    event = RequestEvent.objects.create(
        request=brokering_request, actor=coordinator, action="Annual review: Ann asked (Ann)"
    )
    anonymise_user(user=school_contact, by=coordinator)
    event.refresh_from_db()
    assert event.action == "Annual review: Former user asked (Former user)"
