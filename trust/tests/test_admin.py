import pytest
from django.contrib import admin
from django.urls import reverse

from trust.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TRUST_MODELS = [m for m in admin.site._registry if m._meta.app_label == "trust"]


@pytest.fixture
def site_admin(client):
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


@pytest.mark.parametrize("model", TRUST_MODELS, ids=lambda m: m.__name__)
def test_admin_lists_search_and_filter_every_trust_model(
    client, site_admin, model, supported_school, leader_profile, cluster
):
    url = reverse(f"admin:trust_{model._meta.model_name}_changelist")
    assert client.get(url).status_code == 200
    assert client.get(url, {"q": "<script>x</script>' OR 1=1"}).status_code == 200


def test_admin_edits_a_school_and_its_people(client, site_admin, supported_school, school_contact):
    url = reverse("admin:trust_organisation_change", args=[supported_school.pk])
    response = client.get(url)
    assert response.status_code == 200
    assert school_contact.full_name in response.text


def test_admin_adds_a_user_by_email(client, site_admin):
    response = client.post(
        reverse("admin:trust_user_add"),
        {
            "email": "New.Person@School.test",
            "full_name": "New Person",
            "password1": "a-long-enough-passphrase",
            "password2": "a-long-enough-passphrase",
            "usable_password": "true",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
            "leader_profile-TOTAL_FORMS": "0",
            "leader_profile-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    from trust.models import User

    assert User.objects.get(email__iexact="new.person@school.test").full_name == "New Person"


def test_people_who_are_not_site_admins_cannot_open_the_admin(client, coordinator):
    client.force_login(coordinator)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
