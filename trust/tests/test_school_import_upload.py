"""Hub coordinators upload the establishment CSV; a Celery task imports it."""

import datetime
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from trust.forms import SchoolImportForm
from trust.models import Organisation, SchoolImport
from trust.services import school_import_run, school_import_start

pytestmark = pytest.mark.django_db

SAMPLE = Path(__file__).parent / "data" / "establishments_sample.csv"
URL = reverse("trust:school_import")
GOOD_ROW = (
    "URN,EstablishmentName,LA (name),TypeOfEstablishment (name),PhaseOfEducation (name),"
    "EstablishmentStatus (name),Postcode,Easting,Northing,Trusts (name)\r\n"
    "100001,Good School,Leeds,Community school,Primary,Open,LS9 8AB,430000,433000,\r\n"
    "100002,Bad Easting School,Leeds,Community school,Primary,Open,LS9 8AB,east,433000,\r\n"
)


def upload(client, name, content, captured):
    from django.core.files.uploadedfile import SimpleUploadedFile

    with captured(execute=True):  # the task runs when the upload's transaction commits
        response = client.post(URL, {"file": SimpleUploadedFile(name, content, "text/csv")})
    return client.get(response.url) if response.status_code == 302 else response


def test_coordinator_uploads_the_national_file_and_sees_what_was_imported(
    client, coordinator, hub, django_capture_on_commit_callbacks
):
    client.force_login(coordinator)
    response = upload(
        client, "edubasealldata.csv", SAMPLE.read_bytes(), django_capture_on_commit_callbacks
    )
    assert response.status_code == 200
    assert "edubasealldata.csv is being imported" in response.text
    assert "Imported" in response.text
    assert Organisation.objects.schools().filter(hub=hub).count() == 64
    school_import = SchoolImport.objects.get()
    assert (school_import.created, school_import.closed, school_import.trusts_created) == (
        64,
        2,
        4,
    )
    assert bytes(school_import.data) == b""  # the upload is not kept once imported


def test_skipped_rows_are_listed_with_their_line_numbers(
    client, coordinator, django_capture_on_commit_callbacks
):
    client.force_login(coordinator)
    response = upload(client, "schools.csv", GOOD_ROW.encode(), django_capture_on_commit_callbacks)
    assert "Rows that were skipped" in response.text
    assert "Easting must be a whole number of metres" in response.text
    assert "<td>3</td>" in response.text
    assert Organisation.objects.filter(urn="100001").exists()


def test_an_unreadable_file_fails_with_its_reason(
    client, coordinator, django_capture_on_commit_callbacks
):
    client.force_login(coordinator)
    response = upload(
        client, "schools.csv", b"PK\x03\x04not really csv", django_capture_on_commit_callbacks
    )
    assert "Could not be imported" in response.text
    assert "Excel workbook" in response.text
    assert not Organisation.objects.schools().exists()


@pytest.mark.parametrize(
    "name,content,message",
    [
        ("schools.xlsx", b"PK\x03\x04", "Choose a .csv file"),
        ("schools.csv", b"", "The submitted file is empty"),
        ("<script>alert(1)</script>.exe", b"x", "Choose a .csv file"),
    ],
)
def test_bad_uploads_are_explained_and_nothing_is_started(
    client, coordinator, name, content, message, django_capture_on_commit_callbacks
):
    client.force_login(coordinator)
    response = upload(client, name, content, django_capture_on_commit_callbacks)
    assert response.status_code == 200
    assert message in response.text
    assert "<script>alert(1)</script>" not in response.text
    assert not SchoolImport.objects.exists()


def test_a_very_long_file_name_is_shortened_not_refused(
    client, coordinator, django_capture_on_commit_callbacks
):
    client.force_login(coordinator)
    upload(client, "a" * 300 + ".csv", GOOD_ROW.encode(), django_capture_on_commit_callbacks)
    assert len(SchoolImport.objects.get().file_name) == 255


def test_coordinator_of_two_hubs_chooses_the_hub(
    client, coordinator, hub, django_capture_on_commit_callbacks
):
    from trust.models import Membership, Role
    from trust.tests.factories import HubFactory

    second = HubFactory(name="Second Hub")
    Membership.objects.create(user=coordinator, organisation=second, role=Role.HUB_COORDINATOR)
    client.force_login(coordinator)
    assert "Second Hub" in client.get(URL).text
    from django.core.files.uploadedfile import SimpleUploadedFile

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            URL, {"hub": second.pk, "file": SimpleUploadedFile("s.csv", GOOD_ROW.encode())}
        )
    assert Organisation.objects.get(urn="100001").hub == second


def test_posting_without_a_file_asks_for_one(client, coordinator):
    client.force_login(coordinator)
    response = client.post(URL, {})
    assert "This field is required" in response.text
    assert not SchoolImport.objects.exists()


def test_a_file_over_the_limit_is_refused(
    client, coordinator, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(SchoolImportForm, "MAX_BYTES", 1024 * 1024)
    client.force_login(coordinator)
    response = upload(
        client, "big.csv", b"x" * (2 * 1024 * 1024), django_capture_on_commit_callbacks
    )
    assert "the limit is 1 MB" in response.text
    assert not SchoolImport.objects.exists()


def test_upload_without_csrf_token_is_refused(coordinator):
    from django.core.files.uploadedfile import SimpleUploadedFile

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(coordinator)
    response = strict.post(URL, {"file": SimpleUploadedFile("s.csv", b"URN\r\n")})
    assert response.status_code == 403
    assert not SchoolImport.objects.exists()


@pytest.mark.parametrize(
    "person", ["qa_lead", "trust_lead", "leader", "school_contact", "funder_viewer", "outsider"]
)
def test_only_the_hubs_coordinators_see_its_imports(client, coordinator, hub, person, request):
    school_import = school_import_start(
        hub=hub, user=coordinator, file_name="s.csv", data=b"URN\r\n"
    )
    client.force_login(request.getfixturevalue(person))
    assert client.get(school_import.get_absolute_url()).status_code == 404
    if person != "outsider":
        assert client.get(URL).status_code == 404


def test_anonymous_visitors_are_asked_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_a_second_delivery_of_the_task_does_nothing(coordinator, hub):
    school_import = school_import_start(
        hub=hub, user=coordinator, file_name="s.csv", data=GOOD_ROW.encode()
    )
    first = school_import_run(import_id=school_import.pk)
    assert first.status == SchoolImport.Status.DONE
    assert school_import_run(import_id=school_import.pk) is None
    school_import.refresh_from_db()
    assert school_import.created == 1


def test_an_import_abandoned_by_a_dead_worker_is_taken_over(coordinator, hub):
    school_import = school_import_start(
        hub=hub, user=coordinator, file_name="s.csv", data=GOOD_ROW.encode()
    )
    SchoolImport.objects.filter(pk=school_import.pk).update(
        status=SchoolImport.Status.RUNNING, started_at=timezone.now()
    )
    assert school_import_run(import_id=school_import.pk) is None  # still being worked on
    SchoolImport.objects.filter(pk=school_import.pk).update(
        started_at=timezone.now() - datetime.timedelta(hours=1)
    )
    assert school_import_run(import_id=school_import.pk).status == SchoolImport.Status.DONE


def test_a_pending_import_page_refreshes_itself(client, coordinator, hub):
    school_import = school_import_start(
        hub=hub, user=coordinator, file_name="s.csv", data=GOOD_ROW.encode()
    )
    client.force_login(coordinator)
    response = client.get(school_import.get_absolute_url())
    assert 'http-equiv="refresh"' in response.text
    assert "Waiting to start" in response.text


def test_import_page_queries_do_not_grow_with_imports(
    client, coordinator, hub, django_assert_max_num_queries
):
    for n in range(12):
        school_import_start(hub=hub, user=coordinator, file_name=f"{n}.csv", data=b"x")
    client.force_login(coordinator)
    with django_assert_max_num_queries(9):  # with the header's unread count
        response = client.get(URL)
    assert response.text.count(".csv</a>") == 10


def test_a_coordinator_cannot_change_another_hubs_schools_by_upload(
    client, outsider, trust_school, django_capture_on_commit_callbacks
):
    """The national file lists every school; an upload changes only the uploader's hub."""
    row = (
        GOOD_ROW.splitlines()[0]
        + "\r\n"
        + (
            f"{trust_school.urn},Hacked Name,Leeds,Community school,Primary,Closed,LS9 8AB,"
            "430000,433000,Evil Trust\r\n"
        )
    )
    client.force_login(outsider)
    response = upload(client, "s.csv", row.encode(), django_capture_on_commit_callbacks)
    assert "in another hub&#x27;s area" in response.text
    trust_school.refresh_from_db()
    assert trust_school.name == "Beck Primary"
    assert trust_school.is_open
    assert not Organisation.objects.filter(name="Evil Trust").exists()


def test_an_upload_is_kept_when_the_broker_is_down(
    client, coordinator, settings, django_capture_on_commit_callbacks
):
    """A broker that refuses connections must not turn the upload into an error page; the
    import waits, pending, for a worker."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from config.celery import app

    names = ("task_always_eager", "broker_url", "broker_connection_timeout")
    saved = {name: app.conf[name] for name in names}
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.update(
        task_always_eager=False, broker_url="redis://127.0.0.1:1/0", broker_connection_timeout=1
    )
    app.pool.force_close_all()
    client.force_login(coordinator)
    try:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            response = client.post(URL, {"file": SimpleUploadedFile("s.csv", GOOD_ROW.encode())})
    finally:
        from kombu import pools

        app.conf.update(saved)
        # Later tests get fresh connection and producer pools, not these closed ones.
        pools.reset()
        app._pool = None
        app.amqp._producer_pool = None
    assert len(callbacks) == 1  # the task was offered to the (absent) broker
    assert response.status_code == 302
    assert SchoolImport.objects.get().status == SchoolImport.Status.PENDING


def test_an_upload_left_waiting_by_the_broker_is_imported_by_the_sweeper(coordinator, hub):
    """Queued while the broker was down (the request's task never arrived): beat's sweeper
    sends it again once it is a few minutes old, and a second sweep finds nothing."""
    from django_celery_beat.models import PeriodicTask

    from trust.services import school_imports_sweep

    school_import = school_import_start(
        hub=hub, user=coordinator, file_name="s.csv", data=GOOD_ROW.encode()
    )  # on_commit never runs here: as if the broker had been down
    assert school_imports_sweep() == 0  # too fresh: its own task may still come
    later = timezone.now() + datetime.timedelta(minutes=5)
    assert school_imports_sweep(now=later) == 1  # eager: imported here
    school_import.refresh_from_db()
    assert (school_import.status, school_import.created) == (SchoolImport.Status.DONE, 1)
    assert school_imports_sweep(now=later) == 0
    task = PeriodicTask.objects.get(task="trust.tasks.sweep_school_imports")
    assert (task.interval.every, task.interval.period) == (5, "minutes")
