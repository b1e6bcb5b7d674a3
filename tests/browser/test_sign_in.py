"""Every demo account signs in on a phone-sized screen and sees its own home page."""

import pytest
from django.core.management import call_command

from trust.demo import DEMO_PASSWORD

pytestmark = pytest.mark.browser

# email, where they land, what they must see there
DEMO_HOMES = [
    ("coordinator@demo.test", "/hub/", "Three Rivers Teaching School Hub"),
    ("qa@demo.test", "/hub/", "System leaders"),
    ("trustlead@demo.test", "/trust/", "Aire Valley Learning Trust"),
    ("leader@demo.test", "/leader/", "National Leader of Education"),
    ("school@demo.test", "/school/", "Your hub contacts"),
    ("funder@demo.test", "/funder/", "Bradford Opportunity Area"),
]


@pytest.fixture
def demo(transactional_db):
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115


def sign_in(page, base_url, email, password=DEMO_PASSWORD):
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


@pytest.mark.parametrize("email,home,expected", DEMO_HOMES)
def test_demo_account_signs_in_on_a_phone_and_sees_its_home(
    phone, live_server, demo, email, home, expected
):
    sign_in(phone, live_server.url, email)
    phone.wait_for_url(f"{live_server.url}{home}")
    assert expected in phone.locator("main").inner_text()
    assert phone.locator("h1").count() >= 1
    # Phone-first: nothing wider than the screen.
    scroll_width = phone.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= 390, f"{email}'s home scrolls sideways ({scroll_width}px)"


def test_wrong_password_is_explained_on_the_phone(phone, live_server, demo):
    sign_in(phone, live_server.url, "coordinator@demo.test", "wrong-password")
    assert "do not match an account" in phone.locator("main").inner_text()
    assert phone.get_by_label("Email address").input_value() == "coordinator@demo.test"


def test_phone_menu_opens_and_signs_out(phone, live_server, demo):
    sign_in(phone, live_server.url, "coordinator@demo.test")
    phone.wait_for_url(f"{live_server.url}/hub/")
    phone.get_by_role("button", name="Menu").click()
    phone.get_by_role("button", name="Sign out").click()
    phone.wait_for_url(f"{live_server.url}/accounts/login/")
    phone.goto(f"{live_server.url}/hub/")
    assert "/accounts/login/" in phone.url
