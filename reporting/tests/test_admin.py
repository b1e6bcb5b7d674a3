import pytest
from django.contrib import admin
from django.urls import reverse

from reporting.models import CalendarFeed, Reminder
from reporting.reminders import reminders_run
from reporting.tests.factories import submitted_report
from trust.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

MODELS = [m for m in admin.site._registry if m._meta.app_label == "reporting"]


@pytest.fixture
def site_admin(client):
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_the_site_team_can_list_search_and_open_every_reporting_record(
    client, site_admin, model, commission, leader, trust_lead, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        submitted_report(commission, leader, trust_lead)
    reminders_run(commission.deadlines.get(kind="final").due)  # the final report is due
    CalendarFeed.objects.create(user=trust_lead, token="secret-token-value")
    changelist = reverse(f"admin:reporting_{model._meta.model_name}_changelist")
    assert client.get(changelist).status_code == 200
    assert client.get(changelist, {"q": "<script>x</script>' OR 1=1"}).status_code == 200
    row = model.objects.first()
    if row is not None:
        page = client.get(reverse(f"admin:reporting_{model._meta.model_name}_change",
                                  args=[row.pk]))  # fmt: skip
        assert page.status_code == 200
        assert "secret-token-value" not in page.content.decode()
    assert Reminder.objects.exists()
