"""Signing in under attack: lockout by account and address, idle sessions, password reset."""

import datetime
import re

import pytest
from axes.models import AccessAttempt
from django.core import mail
from django.test import override_settings
from django.urls import reverse

from trust.models import Role
from trust.tests.factories import member

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"
LOGIN = "/accounts/login/"


def sign_in(client, email, password, **headers):
    return client.post(LOGIN, {"username": email, "password": password}, **headers)


# -------------------------------------------------------------------------- lockout


def test_five_wrong_passwords_lock_the_account_with_a_page_saying_how_long(client, coordinator):
    for _ in range(4):
        assert sign_in(client, coordinator.email, "wrong-guess").status_code == 200
    # Four wrong: the right password still works.
    assert sign_in(client, coordinator.email, PASSWORD).status_code == 302
    client.post(reverse("logout"))

    for _ in range(5):
        sign_in(client, coordinator.email, "wrong-guess")
    response = sign_in(client, coordinator.email, PASSWORD)
    assert response.status_code == 429
    assert "locked for 30 minutes" in response.text
    assert reverse("password_reset") in response.text
    assert "Signing in is paused" in response.text
    assert client.get(reverse("trust:hub_home")).status_code == 302  # not signed in


def test_a_forged_forwarded_for_header_cannot_reset_the_count(client, coordinator):
    """With no proxy trusted (the default), X-Forwarded-For is the client's own words."""
    for n in range(50):
        sign_in(client, coordinator.email, f"guess-{n}", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
    response = sign_in(client, coordinator.email, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.77")
    assert response.status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"127.0.0.1"}


def test_rotating_real_addresses_still_locks_the_account(client, coordinator):
    """Ten failures for one account from ten addresses lock it everywhere."""
    for n in range(10):
        sign_in(client, coordinator.email, f"guess-{n}", REMOTE_ADDR=f"203.0.113.{n}")
    assert sign_in(client, coordinator.email, PASSWORD, REMOTE_ADDR="192.0.2.1").status_code == 429


def test_one_address_failing_does_not_lock_colleagues_sharing_it(client, coordinator, qa_lead):
    """School staff often share one public address: one person's lockout is theirs."""
    for _ in range(6):
        sign_in(client, coordinator.email, "wrong-guess")
    assert sign_in(client, qa_lead.email, PASSWORD).status_code == 302


def test_the_email_counts_as_one_account_whatever_its_case(client, coordinator):
    for n in range(5):
        variant = coordinator.email.upper() if n % 2 else coordinator.email
        sign_in(client, f"  {variant}", "wrong-guess")
    assert sign_in(client, coordinator.email.title(), PASSWORD).status_code == 429


def test_the_lock_lifts_after_the_cool_off(client, coordinator, time_machine):
    time_machine.move_to(datetime.datetime(2026, 11, 30, 9, 0, tzinfo=datetime.UTC), tick=False)
    for _ in range(5):
        sign_in(client, coordinator.email, "wrong-guess")
    time_machine.shift(datetime.timedelta(minutes=29))
    assert sign_in(client, coordinator.email, PASSWORD).status_code == 429
    # Trying during the lock restarts it (django-axes' default), so wait it out fully.
    time_machine.shift(datetime.timedelta(minutes=31))
    assert sign_in(client, coordinator.email, PASSWORD).status_code == 302


@override_settings(
    # What TRUSTED_PROXY_COUNT=1 sets (see tests/test_settings.py for the mapping).
    AXES_IPWARE_META_PRECEDENCE_ORDER=("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"),
    AXES_IPWARE_PROXY_COUNT=0,
)
def test_behind_one_proxy_the_address_it_saw_counts_not_what_the_client_added(
    client, coordinator, qa_lead
):
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for n in range(50):
        forged = f"203.0.113.{n}, 198.51.100.{n}"
        sign_in(
            client,
            coordinator.email,
            f"guess-{n}",
            HTTP_X_FORWARDED_FOR=f"{forged}, 192.0.2.10",
            **proxy,
        )
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"192.0.2.10"}
    assert sign_in(client, coordinator.email, PASSWORD, **proxy).status_code == 429
    # Someone else behind the same proxy, from their own address, is not affected.
    assert (
        sign_in(client, qa_lead.email, PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.99", **proxy)
    ).status_code == 302


# ------------------------------------------------------------------ password reset


def test_the_sign_in_page_offers_a_password_reset(client):
    response = client.get(LOGIN)
    assert "Forgot your password?" in response.text
    assert reverse("password_reset") in response.text


@override_settings(SITE_URL="https://brokerage.example.org", DEFAULT_FROM_EMAIL="hub@example.org")
def test_a_locked_out_user_resets_their_password_by_email_and_signs_in(client, coordinator):
    for _ in range(5):
        sign_in(client, coordinator.email, "wrong-guess")
    assert sign_in(client, coordinator.email, PASSWORD).status_code == 429

    response = client.post(reverse("password_reset"), {"email": coordinator.email.upper()})
    assert response.status_code == 302
    assert "Check your email" in client.get(response.url).text
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == [coordinator.email]
    assert email.from_email == "hub@example.org"
    assert "Reset your Support brokerage password" in email.subject
    link = re.search(r"https://brokerage\.example\.org(/accounts/password-reset/\S+)", email.body)
    assert link, email.body

    form = client.get(link.group(1), follow=True)
    assert "Choose a new password" in form.text
    confirm_url = form.redirect_chain[-1][0]
    weak = client.post(confirm_url, {"new_password1": "short", "new_password2": "short"})
    assert "too short" in weak.text
    new = "quiet-lantern-orchard-41"
    done = client.post(confirm_url, {"new_password1": new, "new_password2": new}, follow=True)
    assert "Your password has been changed" in done.text

    # The new password lifts the lock; the old one no longer works; the link is spent.
    assert sign_in(client, coordinator.email, PASSWORD).status_code == 200
    assert sign_in(client, coordinator.email, new).status_code == 302
    client.post(reverse("logout"))
    assert "has been used already" in client.get(link.group(1), follow=True).text


def test_an_unknown_address_gets_the_same_page_and_no_email(client, db):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.org"})
    assert response.status_code == 302
    assert response.url == reverse("password_reset_done")
    assert mail.outbox == []


def test_a_host_header_cannot_redirect_the_reset_link(client, coordinator, settings):
    settings.ALLOWED_HOSTS = ["testserver", "evil.example"]
    settings.SITE_URL = "https://brokerage.example.org"
    client.post(reverse("password_reset"), {"email": coordinator.email}, HTTP_HOST="evil.example")
    assert "evil.example" not in mail.outbox[0].body
    assert "https://brokerage.example.org/accounts/password-reset/" in mail.outbox[0].body


@pytest.mark.parametrize(
    "password,message",
    [
        ("Tr0ub4dor&3", "too short"),
        ("123456789012345", "entirely numeric"),
        ("password12345", "too common"),
        ("Helen Marsh 2026", "too similar"),
    ],
)
def test_weak_new_passwords_are_refused(client, coordinator, password, message):
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    coordinator.email = "helen.marsh@example.org"
    with pytest.raises(ValidationError, match=message):
        validate_password(password, user=coordinator)


# ------------------------------------------------------------------- idle sessions


def test_a_session_idle_for_two_hours_is_signed_out(client, coordinator, time_machine):
    start = datetime.datetime(2026, 11, 30, 9, 0, tzinfo=datetime.UTC)
    time_machine.move_to(start, tick=False)
    assert sign_in(client, coordinator.email, PASSWORD).status_code == 302
    home = reverse("trust:hub_home")

    # Using the service keeps the session alive: each request restarts the two hours.
    for minutes in (60, 110, 220):
        time_machine.move_to(start + datetime.timedelta(minutes=minutes), tick=False)
        assert client.get(home).status_code == 200, minutes

    time_machine.move_to(start + datetime.timedelta(minutes=220 + 121), tick=False)
    response = client.get(home)
    assert response.status_code == 302
    assert response.url.startswith(LOGIN)


def test_session_cookie_lasts_two_hours_and_is_http_only(client, coordinator):
    response = sign_in(client, coordinator.email, PASSWORD)
    cookie = response.cookies["sessionid"]
    assert cookie["max-age"] == 2 * 60 * 60
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"


def test_members_of_other_roles_sign_in_as_before(client, hub):
    school_person = member(Role.FUNDER_VIEWER, hub)
    assert sign_in(client, school_person.email, PASSWORD).status_code == 302
