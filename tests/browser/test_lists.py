"""The lists on a phone: they fit the screen, the filter form narrows them into an address
that can be bookmarked, and "Export CSV" downloads what the filters select."""

import csv
import io
from urllib.parse import parse_qs, urlparse

import pytest
from django.core.management import call_command

from trust.demo import DEMO_PASSWORD

pytestmark = pytest.mark.browser

LISTS = [
    "/pipeline/",
    "/commissions/",
    "/deployments/",
    "/visits/",
    "/reports/",
    "/organisations/",
    "/system-leaders/",
]


@pytest.fixture
def demo(transactional_db):
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115


def sign_in(page, base_url, email="coordinator@demo.test"):
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}/hub/")


def test_every_list_fits_a_phone_with_its_filters_open(phone, live_server, demo):
    sign_in(phone, live_server.url)
    for path in LISTS:
        phone.goto(f"{live_server.url}{path}?q=zzz-nothing")
        assert phone.locator("h1").count() == 1, path
        assert phone.locator("details[open] form[role=search]").count() == 1, path
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} scrolls sideways ({width}px)"


def test_visits_filtered_on_a_phone_are_bookmarkable_and_exported(phone, live_server, demo):
    sign_in(phone, live_server.url)
    phone.goto(f"{live_server.url}/visits/")
    phone.get_by_text("Filter visits").click()
    phone.get_by_label("Mode").select_option("in_person")
    phone.get_by_role("button", name="Filter").click()
    phone.wait_for_url("**/visits/?*mode=in_person*")
    shown = phone.locator("main .list-group-item").count()
    assert shown >= 1
    listed = phone.locator("main .list-group").inner_text()
    assert "· in person ·" in listed and "· video call ·" not in listed

    # Opening the address again (a bookmark, a link sent to a colleague) shows the same.
    bookmark = phone.url
    phone.goto(f"{live_server.url}/hub/")
    phone.goto(bookmark)
    assert phone.locator("main .list-group-item").count() == shown
    assert phone.get_by_label("Mode").input_value() == "in_person"

    with phone.expect_download() as download:
        phone.get_by_role("link", name="Export CSV").click()
    href = phone.get_by_role("link", name="Export CSV").get_attribute("href")
    assert parse_qs(urlparse(href).query) == {"mode": ["in_person"], "format": ["csv"]}
    text = open(download.value.path(), encoding="utf-8-sig").read()  # noqa: SIM115
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows and {r["Mode"] for r in rows} == {"In person"}
    assert download.value.suggested_filename.startswith("visits-")
