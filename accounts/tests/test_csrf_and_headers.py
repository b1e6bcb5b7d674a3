"""A form posted with a stale token keeps what was typed; every page carries the security
headers (CSP, frame, referrer, permissions, opener; HSTS over HTTPS in production)."""

import html
import re

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from deployments.models import Visit
from deployments.tests.factories import lead_deployment, visit_post

pytestmark = pytest.mark.django_db

NOTE = 'Year 6 read <b>"aloud"</b> & worked on fluency\nSecond line'
ESCAPED_NOTE = "Year 6 read &lt;b&gt;&quot;aloud&quot;&lt;/b&gt; &amp; worked on fluency"


@pytest.fixture
def strict():
    return Client(enforce_csrf_checks=True)


def test_a_visit_note_survives_a_stale_form_and_can_be_sent_again(strict, leader, commission):
    deployment = lead_deployment(commission)
    url = reverse("deployments:visit_create", args=[deployment.pk])
    strict.force_login(leader)
    data = visit_post(summary=NOTE, csrfmiddlewaretoken="stale-token-from-yesterday")
    origin = {"HTTP_ORIGIN": "http://testserver", "HTTP_REFERER": f"http://testserver{url}"}

    page = strict.post(url, data, **origin)

    assert page.status_code == 403
    assert "Your form was not sent" in page.text
    assert ESCAPED_NOTE in page.text
    assert "<b>" not in page.text.split('id="kept-values"')[1]
    assert "stale-token-from-yesterday" not in page.text
    fresh = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    assert page.cookies["csrftoken"].value
    form = page.text[page.text.index(f'action="{url}"') :]
    assert 'name="summary"' in form and "Send it again" in form
    assert Visit.objects.count() == 0

    # Sending it again, as the page's button does (its hidden inputs, unescaped as a browser
    # would), records the visit with the note intact.
    form = form[: form.index("</form>")]
    resent = {
        html.unescape(name): html.unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)"', form)
    }
    assert resent["csrfmiddlewaretoken"] == fresh
    assert resent["summary"] == NOTE
    response = strict.post(url, resent, **origin)
    assert response.status_code == 302
    assert Visit.objects.get().summary == NOTE


def test_passwords_codes_and_files_are_never_shown_back(strict, coordinator):
    strict.force_login(coordinator)
    page = strict.post(
        reverse("two_factor_setup"),
        {"code": "123456", "new_password1": "hunter2-secret", "api_token": "abc", "note": "kept"},
        HTTP_ORIGIN="http://testserver",
    )
    assert page.status_code == 403
    for hidden in ("123456", "hunter2-secret", "abc"):
        assert hidden not in page.text
    assert "kept" in page.text


def test_a_post_from_another_site_is_shown_but_not_offered_again(strict, leader, commission):
    deployment = lead_deployment(commission)
    url = reverse("deployments:visit_create", args=[deployment.pk])
    strict.force_login(leader)
    page = strict.post(url, visit_post(summary="planted"), HTTP_ORIGIN="https://evil.example")
    assert page.status_code == 403
    assert "planted" in page.text
    assert "Send it again" not in page.text


def test_a_signed_out_person_is_asked_to_sign_in_again(strict, coordinator):
    page = strict.post(
        reverse("login"),
        {"username": coordinator.email, "password": "correct-horse-battery"},
        HTTP_ORIGIN="http://testserver",
    )
    assert page.status_code == 403
    assert "Sign in again" in page.text
    assert coordinator.email in page.text
    assert "correct-horse-battery" not in page.text
    assert "Send it again" not in page.text


def test_pages_carry_the_security_headers(client, coordinator):
    client.force_login(coordinator)
    response = client.get(reverse("trust:hub_home"))
    assert response.status_code == 200
    csp = {
        part.split()[0]: part.split()[1:]
        for part in response.headers["Content-Security-Policy"].split("; ")
    }
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["img-src"] == ["'self'", "data:"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["form-action"] == ["'self'"]
    assert csp["base-uri"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in response.headers["Permissions-Policy"]


def test_the_sign_in_page_has_them_too_and_no_inline_style_or_script(client):
    response = client.get(reverse("login"))
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert " style=" not in response.text
    assert re.search(r"<script(?![^>]*\bsrc=)", response.text) is None


@override_settings(SECURE_HSTS_SECONDS=31_536_000, SECURE_HSTS_INCLUDE_SUBDOMAINS=True)
def test_https_responses_carry_hsts(client):
    response = client.get(reverse("login"), secure=True)
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
