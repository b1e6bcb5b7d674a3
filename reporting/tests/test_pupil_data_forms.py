"""The pupil-data warning on every form where people write free text about a school: the
Record of Visit (page and phone queue), the support request, objectives and the report
narrative. A warning, then saved as typed once the person confirms."""

import datetime
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from brokerage.models import SupportRequest
from deployments.models import Objective, Visit
from deployments.tests.factories import add_objective, lead_deployment, visit_post
from reporting.tests.factories import NARRATIVE, drafted_report

pytestmark = pytest.mark.django_db

UPN = "A123456789012"
JSON = {"HTTP_ACCEPT": "application/json"}
WARNING = "This looks like pupil data"


def test_the_visit_form_warns_then_saves_when_the_leader_confirms(client, leader, commission):
    deployment = lead_deployment(commission)
    client.force_login(leader)
    url = reverse("deployments:visit_create", args=[deployment.pk])
    data = visit_post(summary=f"Read with pupil {UPN}.", people_met="Tom, DOB 12/03/2015")

    response = client.post(url, data)
    assert response.status_code == 400
    assert WARNING in response.text
    assert "a unique pupil number (UPN)" in response.text and "a date of birth" in response.text
    assert 'name="not_pupil_data"' in response.text
    assert f"Read with pupil {UPN}." in response.text  # nothing typed is lost
    assert not Visit.objects.exists()

    response = client.post(url, {**data, "not_pupil_data": "on"})
    assert response.status_code == 302
    assert Visit.objects.get().summary == f"Read with pupil {UPN}."


def test_the_phone_queue_gets_a_400_naming_the_pupil_data_warning(client, leader, commission):
    deployment = lead_deployment(commission)
    objective = add_objective(commission, leader)
    client.force_login(leader)
    url = reverse("deployments:visit_create", args=[deployment.pk])
    data = visit_post(objectives=[objective.pk], **{f"note_{objective.pk}": f"{UPN} improved"})

    response = client.post(url, data, **JSON)
    assert response.status_code == 400
    errors = json.loads(response.content)["errors"]
    assert errors[f"note_{objective.pk}"][0]["code"] == "pupil_data"

    response = client.post(url, {**data, "not_pupil_data": "on"}, **JSON)
    assert response.status_code == 201


def test_a_visit_without_pupil_data_saves_first_time_with_no_confirmation_box(
    client, leader, commission
):
    deployment = lead_deployment(commission)
    client.force_login(leader)
    url = reverse("deployments:visit_create", args=[deployment.pk])
    page = client.get(url)
    assert 'name="not_pupil_data"' not in page.text
    response = client.post(url, visit_post(summary="Meeting on 12/03/2026 with the head."))
    assert response.status_code == 302


def test_the_request_form_warns(client, school_contact, supported_school):
    client.force_login(school_contact)
    data = {
        "school": supported_school.pk,
        "title": "Reading",
        "need_areas": ["leadership"],
        "subject": "",
        "context": "Child born 3 March 2016 is struggling.",
        "priority": "high",
        "days_sought": "6",
        "funding_sought": "0",
        "desired_start": (timezone.localdate() + datetime.timedelta(days=30)).isoformat(),
        "draft": "",
    }
    response = client.post(reverse("brokerage:request_create"), data)
    assert WARNING in response.text
    assert not SupportRequest.objects.exists()
    response = client.post(reverse("brokerage:request_create"), {**data, "not_pupil_data": "on"})
    assert response.status_code == 302
    assert SupportRequest.objects.get().context == "Child born 3 March 2016 is struggling."


def test_the_objective_form_warns(client, leader, commission):
    client.force_login(leader)
    url = reverse("deployments:objective_create", args=[commission.pk])
    data = {
        "title": "Reading",
        "success_criteria": f"{UPN} reads at age-related fluency",
        "baseline": "",
        "target": "",
        "owner": "",
        "due": "",
        "rag": "",
    }
    response = client.post(url, data)
    assert WARNING in response.text
    assert not Objective.objects.exists()
    client.post(url, {**data, "not_pupil_data": "on"})
    assert Objective.objects.get().success_criteria.startswith(UPN)


def test_the_report_narrative_warns(client, leader, commission):
    report = drafted_report(commission, leader)
    client.force_login(leader)
    url = reverse("reporting:report_edit", args=[report.pk])
    data = {**NARRATIVE, "evidence": "Case study: DOB 01/09/2014, now at expected."}
    response = client.post(url, data)
    assert WARNING in response.text
    report.refresh_from_db()
    assert report.evidence == NARRATIVE["evidence"]
    client.post(url, {**data, "not_pupil_data": "on"})
    report.refresh_from_db()
    assert report.evidence == data["evidence"]
