"""Two-factor sign-in with an authenticator app (TOTP): set-up, the second step, removal,
and the requirement for hub staff when TWO_FACTOR_REQUIRED is on."""

import base64
import re

import pytest
from django.test import override_settings
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"
LOGIN = "/accounts/login/"


def sign_in(client, user, next_url=None):
    data = {"username": user.email, "password": PASSWORD}
    if next_url:
        data["next"] = next_url
    return client.post(LOGIN, data)


def code_for(device, offset=0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = totp.time + offset * device.step
    return f"{totp.token():06d}"


def confirmed_device(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="Phone", confirmed=True)


def test_anyone_can_turn_it_on_with_a_qr_code_made_here(client, trust_lead):
    client.force_login(trust_lead)
    page = client.get(reverse("two_factor_setup"))
    assert page.status_code == 200
    qr = re.search(r'class="qr-code[^"]*" src="data:image/svg\+xml;base64,([^"]+)"', page.text)
    svg = base64.b64decode(qr.group(1)).decode()
    assert svg.startswith("<?xml") and "<svg" in svg and "<path" in svg
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page.text).group(1)
    device = TOTPDevice.objects.get(user=trust_lead, confirmed=False)
    assert base64.b32decode(secret.replace(" ", "")) == device.bin_key
    # Reloading keeps the same secret: someone half-way through is not thrown off.
    assert secret in client.get(reverse("two_factor_setup")).text

    wrong = client.post(reverse("two_factor_setup"), {"code": "000000"})
    assert "That code is not right" in wrong.text
    assert not TOTPDevice.objects.filter(user=trust_lead, confirmed=True).exists()
    device.refresh_from_db()
    device.throttle_reset()
    response = client.post(reverse("two_factor_setup"), {"code": code_for(device)}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("trust:trust_home")
    assert "Two-factor sign-in is on. You will be asked for a code" in response.text
    assert TOTPDevice.objects.filter(user=trust_lead, confirmed=True).count() == 1


def test_with_a_device_signing_in_asks_for_a_code_before_any_page(client, trust_lead, lead_trust):
    device = confirmed_device(trust_lead)
    wanted = reverse("trust:organisation_detail", args=[lead_trust.pk])
    response = sign_in(client, trust_lead, next_url=wanted)
    assert response.status_code == 302

    # The password alone opens nothing.
    for url in (wanted, reverse("trust:trust_home"), reverse("brokerage:commission_list")):
        blocked = client.get(url)
        assert blocked.status_code == 302
        assert blocked.url.startswith(reverse("two_factor_verify")), url
    step = client.get(client.get(wanted).url)
    assert "Enter your code" in step.text
    assert "Commissions" not in step.text  # no menu before the second step

    assert "not right" in client.post(step.request["PATH_INFO"], {"code": "123456"}).text
    device.refresh_from_db()
    device.throttle_reset()
    response = client.post(
        reverse("two_factor_verify"), {"code": code_for(device), "next": wanted}
    )
    assert response.status_code == 302
    assert response.url == wanted
    assert client.get(wanted).status_code == 200


def test_a_code_is_not_accepted_twice(client, trust_lead):
    device = confirmed_device(trust_lead)
    code = code_for(device)
    sign_in(client, trust_lead)
    assert client.post(reverse("two_factor_verify"), {"code": code}).status_code == 302
    client.post(reverse("logout"))
    sign_in(client, trust_lead)
    replay = client.post(reverse("two_factor_verify"), {"code": code})
    assert replay.status_code == 200
    assert client.get(reverse("trust:trust_home")).status_code == 302


def test_guessing_codes_is_slowed_down(client, trust_lead):
    device = confirmed_device(trust_lead)
    sign_in(client, trust_lead)
    client.post(reverse("two_factor_verify"), {"code": "000000"})
    right_but_too_soon = client.post(reverse("two_factor_verify"), {"code": code_for(device)})
    assert "Too many wrong codes" in right_but_too_soon.text


def test_turning_it_off_needs_a_current_code(client, trust_lead):
    device = confirmed_device(trust_lead)
    sign_in(client, trust_lead)
    client.post(reverse("two_factor_verify"), {"code": code_for(device)})
    page = client.get(reverse("two_factor_setup"))
    assert "Two-factor sign-in is on" in page.text

    refused = client.post(reverse("two_factor_remove"), {"code": "not-a-code"})
    assert refused.status_code == 400
    assert TOTPDevice.objects.filter(user=trust_lead).exists()

    device.refresh_from_db()
    device.throttle_reset()
    done = client.post(reverse("two_factor_remove"), {"code": code_for(device, offset=1)})
    assert done.status_code == 302
    assert not TOTPDevice.objects.filter(user=trust_lead).exists()
    client.post(reverse("logout"))
    assert sign_in(client, trust_lead).status_code == 302
    assert client.get(reverse("trust:trust_home")).status_code == 200


@override_settings(TWO_FACTOR_REQUIRED=True)
@pytest.mark.parametrize("person", ["coordinator", "qa_lead"])
def test_when_required_hub_staff_must_set_it_up_before_using_the_service(client, person, request):
    user = request.getfixturevalue(person)
    sign_in(client, user)
    hub_home = reverse("trust:hub_home")
    response = client.get(hub_home)
    assert response.status_code == 302
    assert response.url.startswith(reverse("two_factor_setup"))
    page = client.get(response.url)
    assert "Your role at the hub needs two-factor sign-in" in page.text
    assert "Pipeline" not in page.text  # no menu until it is set up

    device = TOTPDevice.objects.get(user=user, confirmed=False)
    response = client.post(
        reverse("two_factor_setup"), {"code": code_for(device), "next": hub_home}
    )
    assert response.url == hub_home
    assert client.get(hub_home).status_code == 200

    # Next time: password, then code.
    client.post(reverse("logout"))
    sign_in(client, user)
    assert client.get(hub_home).url.startswith(reverse("two_factor_verify"))


@override_settings(TWO_FACTOR_REQUIRED=True)
@pytest.mark.parametrize("person", ["trust_lead", "leader", "school_contact", "funder_viewer"])
def test_when_required_other_roles_may_still_sign_in_with_a_password(client, person, request):
    user = request.getfixturevalue(person)
    response = client.post(LOGIN, {"username": user.email, "password": PASSWORD}, follow=True)
    assert response.status_code == 200
    assert not response.redirect_chain[-1][0].startswith("/accounts/two-factor/")


def test_by_default_in_tests_hub_staff_are_not_forced(client, coordinator, settings):
    assert settings.TWO_FACTOR_REQUIRED is False
    sign_in(client, coordinator)
    assert client.get(reverse("trust:hub_home")).status_code == 200


def test_pages_after_sign_in_cost_no_extra_query_for_two_factor(client, coordinator):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    sign_in(client, coordinator)
    with CaptureQueriesContext(connection) as ctx:
        client.get(reverse("trust:hub_home"))
    assert not [q for q in ctx.captured_queries if "otp_totp" in q["sql"]]


def test_an_admin_can_remove_a_lost_authenticator_but_never_sees_its_secret(client, trust_lead):
    from trust.tests.factories import UserFactory

    device = confirmed_device(trust_lead)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    url = reverse("admin:otp_totp_totpdevice_change", args=[device.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert device.key not in page.text
    secret = base64.b32encode(device.bin_key).decode()
    assert secret not in page.text
    response = client.post(
        reverse("admin:otp_totp_totpdevice_delete", args=[device.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=trust_lead).exists()
