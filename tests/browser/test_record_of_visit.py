"""The Record of Visit on a phone: logged end to end, drafts kept, offline queue, double taps,
thumb-sized targets, and the plain form with JavaScript off."""

import re
import time

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from brokerage.tests.factories import commission_via_services, request_via_services
from deployments import services
from deployments.models import Deployment, Visit
from trust.models import Role
from trust.tests.factories import (
    HubFactory,
    SchoolFactory,
    TrustFactory,
    member,
    system_leader,
)

from .conftest import PHONE

pytestmark = pytest.mark.browser
PASSWORD = "correct-horse-battery"
LEADER_EMAIL = "priya@example.test"
SCHOOL = "Moorside Primary School"
OBJECTIVE = "Raise attainment in Year 6 maths"


@pytest.fixture
def scene(transactional_db):
    """Priya, Lead System Leader on a 6-day commission at Moorside, with a two-objective plan."""
    hub = HubFactory(name="Three Rivers Hub")
    trust = TrustFactory(hub=hub, name="Aire Valley Learning Trust")
    home = SchoolFactory(hub=hub, parent_trust=trust, name="Beck Primary", phase="primary")
    school = SchoolFactory(hub=hub, name=SCHOOL, phase="primary")
    coordinator = member(Role.HUB_COORDINATOR, hub, full_name="Helen Marsh")
    trust_lead = member(Role.TRUST_LEAD, trust, full_name="Sarah Whitaker")
    leader = system_leader(home)
    leader.user.email = LEADER_EMAIL
    leader.user.full_name = "Priya Patel"
    leader.user.save()
    request = request_via_services(actor=coordinator, school=school, status="brokering")
    commission = commission_via_services(
        coordinator=coordinator,
        trust_lead=trust_lead,
        request=request,
        trust=trust,
        leader=leader,
        days="6",
    )
    for title in [OBJECTIVE, "Strengthen subject leadership"]:
        services.objective_save(
            commission=commission,
            actor=leader.user,
            title=title,
            success_criteria="Evidence in books and in the next data drop.",
            baseline="",
            target="",
            owner="",
            due=None,
            rag="",
        )
    deployment = Deployment.objects.get(commission=commission, leader=leader)
    return {"deployment": deployment, "form_path": f"/deployments/{deployment.pk}/visits/new/"}


def sign_in(page, base_url, email=LEADER_EMAIL):
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}/leader/")


def visits_of(deployment):
    return Visit.objects.filter(deployment_id=deployment.pk)


def choose(page, text):
    """Tap the label a radio or checkbox sits under, as a thumb does."""
    page.locator("#visit-form .choice-row label, #visit-form .choice-col label").filter(
        has_text=text
    ).tap()


def fill_visit(page, summary="Observed two Year 6 lessons; fed back to the maths lead."):
    choose(page, "Video call")
    choose(page, "3 hours")
    choose(page, OBJECTIVE)
    page.get_by_label("What happened").fill(summary)
    page.get_by_label("Next steps").fill("Book a joint learning walk for next month.")


def wait_for_count(deployment, expected, seconds=8.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if visits_of(deployment).count() == expected:
            return True
        time.sleep(0.1)
    return visits_of(deployment).count() == expected


def test_leader_logs_a_visit_on_a_phone_and_days_used_go_up(phone, live_server, scene):
    base = live_server.url
    sign_in(phone, base)
    card = phone.locator("article", has_text=SCHOOL)
    assert "0.0 of 6" in card.inner_text()

    started = time.perf_counter()
    card.get_by_role("link", name="Log a visit").tap()
    phone.wait_for_url(f"{base}{scene['form_path']}")
    form_loaded = time.perf_counter()

    date = phone.get_by_label("Date")
    assert date.get_attribute("type") == "date"
    assert date.input_value() == timezone.localdate().isoformat()
    fill_visit(phone)
    assert phone.get_by_label("Video call").is_checked()
    assert phone.get_by_label("3 hours").is_checked()
    assert phone.get_by_label(OBJECTIVE, exact=True).is_checked()

    saving = time.perf_counter()
    phone.get_by_role("button", name="Save the visit").tap()
    phone.wait_for_url(f"{base}/visits/*/")
    phone.wait_for_load_state()
    landed = time.perf_counter()

    main = phone.locator("main").inner_text()
    assert "Observed two Year 6 lessons; fed back to the maths lead." in main
    assert "Video call visit" in main
    assert OBJECTIVE in main
    visit = visits_of(scene["deployment"]).get()
    assert visit.duration_hours == 3
    assert phone.url == f"{base}/visits/{visit.pk}/"
    print(
        f"\nRecord of Visit timings: form opened in {(form_loaded - started) * 1000:.0f} ms; "
        f"save to visit page {(landed - saving) * 1000:.0f} ms; "
        f"open form to visit page {(landed - started) * 1000:.0f} ms"
    )

    phone.goto(f"{base}/leader/")
    card = phone.locator("article", has_text=SCHOOL)
    # 3 hours at 6.5 hours a day is 0.46 days, shown to one place.
    assert "0.5 of 6" in card.inner_text()


def test_draft_survives_a_reload(phone, live_server, scene):
    sign_in(phone, live_server.url)
    phone.goto(f"{live_server.url}{scene['form_path']}")
    phone.get_by_label("What happened").fill("Met the head; half-written on the bus.")
    phone.get_by_label("Next steps").fill("Call the maths lead on Friday.")
    phone.reload()
    assert phone.get_by_label("What happened").input_value() == (
        "Met the head; half-written on the bus."
    )
    assert phone.get_by_label("Next steps").input_value() == "Call the maths lead on Friday."
    status = phone.locator("#visit-status")
    assert "draft has been restored" in status.inner_text()
    assert visits_of(scene["deployment"]).count() == 0


def test_visit_saved_offline_is_sent_once_when_back_online(phone, live_server, scene):
    deployment = scene["deployment"]
    sign_in(phone, live_server.url)
    phone.goto(f"{live_server.url}{scene['form_path']}")
    fill_visit(phone, summary="Visited with no signal in the valley.")

    phone.context.set_offline(True)
    phone.get_by_role("button", name="Save the visit").tap()
    status = phone.locator("#visit-status")
    status.filter(has_text="saved on this phone").wait_for()
    assert visits_of(deployment).count() == 0
    assert phone.url == f"{live_server.url}{scene['form_path']}"

    phone.context.set_offline(False)  # the page's `online` event sends the queue
    assert wait_for_count(deployment, 1), "the queued visit never reached the server"
    status.filter(has_text="sent and saved").wait_for()
    time.sleep(0.5)
    assert visits_of(deployment).count() == 1
    assert visits_of(deployment).get().summary == "Visited with no signal in the valley."
    assert phone.evaluate("localStorage.getItem('visit-queue')") == "[]"

    # The form is ready for the next visit, which is a new record, not a clash with the first.
    assert phone.get_by_label("What happened").input_value() == ""
    fill_visit(phone, summary="Second visit, logged on the same page.")
    phone.get_by_role("button", name="Save the visit").tap()
    phone.wait_for_url(f"{live_server.url}/visits/*/")
    assert visits_of(deployment).count() == 2


def test_visit_queued_offline_is_sent_when_the_form_is_next_opened(chromium, live_server, scene):
    """The leader saves offline and closes the page; next time they open the form online the
    queue goes, and the form does not come back holding the visit already sent."""
    deployment = scene["deployment"]
    context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.set_default_timeout(20_000)
        sign_in(page, live_server.url)
        page.goto(f"{live_server.url}{scene['form_path']}")
        fill_visit(page, summary="Queued in the valley.")
        context.set_offline(True)
        page.get_by_role("button", name="Save the visit").tap()
        page.locator("#visit-status").filter(has_text="saved on this phone").wait_for()
        page.close()
        context.set_offline(False)
        assert visits_of(deployment).count() == 0

        page = context.new_page()
        page.set_default_timeout(20_000)
        page.goto(f"{live_server.url}{scene['form_path']}")
        page.locator("#visit-status").filter(has_text="sent and saved").wait_for()
        assert visits_of(deployment).count() == 1
        assert page.get_by_label("What happened").input_value() == ""
        fill_visit(page, summary="The next visit.")
        page.get_by_role("button", name="Save the visit").tap()
        page.wait_for_url(f"{live_server.url}/visits/*/")
        assert visits_of(deployment).count() == 2
    finally:
        context.close()


def test_double_tap_on_save_makes_one_visit(phone, live_server, scene):
    deployment = scene["deployment"]
    sign_in(phone, live_server.url)
    phone.goto(f"{live_server.url}{scene['form_path']}")
    fill_visit(phone)
    posts = []
    phone.on(
        "request",
        lambda r: posts.append(r.url) if r.method == "POST" and "/visits/new/" in r.url else None,
    )
    phone.get_by_role("button", name="Save the visit").dblclick()
    # Both answers send the page to the same visit; the second navigation may cut off the
    # first, so wait for where the page ends up rather than for one navigation.
    expect(phone).to_have_url(re.compile(rf"{re.escape(live_server.url)}/visits/\d+/$"))
    expect(phone.locator("main")).to_contain_text("Observed two Year 6 lessons")
    assert len(posts) >= 2, f"expected two sends from a double tap, saw {len(posts)}"
    time.sleep(0.5)
    assert visits_of(deployment).count() == 1


def test_the_same_key_sent_again_is_the_same_visit(phone, live_server, scene):
    """A retry returns the visit already saved; the key reused for other details is refused."""
    deployment = scene["deployment"]
    sign_in(phone, live_server.url)
    phone.goto(f"{live_server.url}{scene['form_path']}")
    fill_visit(phone)
    answers = phone.evaluate(
        """async () => {
          const form = document.getElementById("visit-form");
          const post = (body) => fetch(location.href, {
            method: "POST", credentials: "same-origin", body,
            headers: {"Accept": "application/json",
                      "Content-Type": "application/x-www-form-urlencoded"},
          }).then(async (r) => [r.status, await r.json()]);
          const data = new URLSearchParams(new FormData(form));
          const first = await post(data.toString());
          const again = await post(data.toString());
          data.set("summary", "Something else entirely");
          const other = await post(data.toString());
          return [first, again, other];
        }"""
    )
    (first, body), (again, body_again), (other, _) = answers
    assert (first, again, other) == (201, 200, 409)
    assert body["id"] == body_again["id"]
    assert body["created"] is True and body_again["created"] is False
    assert visits_of(deployment).count() == 1


def test_a_clash_does_not_trap_the_leader_in_a_refused_draft(phone, live_server, scene):
    """A draft on the phone holds the key of a visit already saved (say, sent by the plain
    form after a failed send). Changing it and saving is refused (409); the page says reload
    to start a new record, and that must work, not restore the spent key again."""
    deployment = scene["deployment"]
    sign_in(phone, live_server.url)
    phone.goto(f"{live_server.url}{scene['form_path']}")
    fill_visit(phone, summary="The first visit.")
    phone.get_by_role("button", name="Save the visit").tap()
    phone.wait_for_url(f"{live_server.url}/visits/*/")
    spent = str(visits_of(deployment).get().idempotency_key)
    objective = str(deployment.commission.action_plan.objectives.get(title=OBJECTIVE).pk)
    stale = {
        "key": [spent],
        "date": [timezone.localdate().isoformat()],
        "mode": ["virtual"],
        "duration": ["3"],
        "objectives": [objective],
        "summary": ["The first visit."],
        "next_steps": ["Book a joint learning walk for next month."],
    }
    phone.evaluate(
        "([name, draft]) => localStorage.setItem(name, JSON.stringify(draft))",
        [f"draft:visit-{deployment.pk}", stale],
    )
    phone.goto(f"{live_server.url}{scene['form_path']}")
    status = phone.locator("#visit-status")
    assert "draft has been restored" in status.inner_text()
    phone.get_by_label("What happened").fill("A second, different visit.")
    phone.get_by_role("button", name="Save the visit").tap()
    status.filter(has_text="already sent with different details").wait_for()
    assert visits_of(deployment).count() == 1

    phone.reload()
    assert phone.get_by_label("What happened").input_value() == "A second, different visit."
    phone.get_by_role("button", name="Save the visit").tap()
    phone.wait_for_url(f"{live_server.url}/visits/*/")
    assert "A second, different visit." in phone.locator("main").inner_text()
    assert visits_of(deployment).count() == 2


def test_visit_form_fits_a_phone_with_thumb_sized_targets(phone, live_server, scene):
    sign_in(phone, live_server.url)
    phone.goto(f"{live_server.url}{scene['form_path']}")
    phone.locator("#visit-form summary").tap()  # open "More" so its controls are measured

    scroll_width = phone.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= 390, f"the visit form scrolls sideways ({scroll_width}px)"

    targets = phone.locator(
        "#visit-form input[type=radio] + label, #visit-form input[type=checkbox] + label, "
        "#visit-form button, #visit-form summary"
    )
    measured = []
    for i in range(targets.count()):
        target = targets.nth(i)
        if not target.is_visible():
            continue
        box = target.bounding_box()
        measured.append((target.inner_text().strip()[:40], round(box["height"])))
    names = " | ".join(name for name, _ in measured)
    for expected in ["Video call", "3 hours", OBJECTIVE, "Save the visit", "safeguarding"]:
        assert expected in names, f"{expected!r} not among the measured targets: {names}"
    lowest = min(measured, key=lambda m: m[1])
    print(
        f"\nVisit form at 390px: scrollWidth {scroll_width}px; {len(measured)} tap targets, "
        f"lowest {lowest[1]}px ({lowest[0]!r})"
    )
    small = [m for m in measured if m[1] < 44]
    assert not small, f"tap targets under 44px high: {small}"

    fields = phone.locator(
        "#visit-form input:not([type=hidden]):not([type=radio]):not([type=checkbox]), "
        "#visit-form select, #visit-form textarea"
    )
    low_fields = []
    for i in range(fields.count()):
        box = fields.nth(i).bounding_box()
        if box["height"] < 44:
            low_fields.append((fields.nth(i).get_attribute("name"), round(box["height"])))
    assert fields.count() >= 8
    assert not low_fields, f"form fields under 44px high: {low_fields}"


def test_visit_form_works_without_javascript(chromium, live_server, scene):
    deployment = scene["deployment"]
    context = chromium.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, java_script_enabled=False
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        sign_in(page, live_server.url)
        page.goto(f"{live_server.url}{scene['form_path']}")
        assert page.get_by_label("Date").input_value() == timezone.localdate().isoformat()
        choose(page, "Telephone")
        choose(page, OBJECTIVE)
        objective = deployment.commission.action_plan.objectives.get(title=OBJECTIVE)
        page.locator("#visit-form summary").tap()  # <details> opens without scripts
        page.locator(f"#id_rag_{objective.pk}").select_option("green")
        page.get_by_label("What happened").fill("Logged from a phone with scripts blocked.")
        page.get_by_label("Next steps").fill("Send the maths lead the planning template.")
        page.get_by_role("button", name="Save the visit").tap()  # no duration chosen yet

        summary = page.locator("#error-summary")
        expect(summary).to_contain_text("Choose how long the visit took.")
        target = summary.get_by_role("link", name="How long").get_attribute("href")
        assert page.locator(target).count() == 1, f"error link {target!r} goes nowhere"
        assert page.get_by_label("What happened").input_value() == (
            "Logged from a phone with scripts blocked."
        )
        assert page.locator(f"#id_rag_{objective.pk}").input_value() == "green"
        assert visits_of(deployment).count() == 0

        choose(page, "2 hours")
        page.get_by_role("button", name="Save the visit").tap()
        page.wait_for_url(f"{live_server.url}/visits/*/")
        main = page.locator("main").inner_text()
        assert "Visit recorded." in main
        assert "Logged from a phone with scripts blocked." in main
        visit = visits_of(deployment).get()
        assert visit.duration_hours == 2
        assert visit.mode == Visit.Mode.TELEPHONE
        assert "Green: on track" in main
        objective.refresh_from_db()
        assert objective.rag == "green"
    finally:
        context.close()


@pytest.mark.parametrize("cookies", ["sessionid", "all"])
def test_a_visit_sent_after_the_session_ended_is_kept_and_sent_after_signing_in(
    phone, live_server, scene, cookies
):
    deployment = scene["deployment"]
    sign_in(phone, live_server.url)
    phone.goto(f"{live_server.url}{scene['form_path']}")
    fill_visit(phone, summary="Typed while my session quietly expired.")

    # The session ends while the form is open (with "all", the CSRF cookie goes too).
    if cookies == "all":
        phone.context.clear_cookies()
    else:
        phone.context.clear_cookies(name=cookies)
    phone.get_by_role("button", name="Save the visit").tap()
    phone.locator("#visit-status").filter(has_text="Your session has ended").wait_for()
    assert visits_of(deployment).count() == 0

    sign_in(phone, live_server.url)
    phone.goto(f"{live_server.url}{scene['form_path']}")  # opening the form sends the queue
    assert wait_for_count(deployment, 1), "the kept visit was not sent after signing in"
    assert visits_of(deployment).get().summary == "Typed while my session quietly expired."


def test_pupil_data_in_a_visit_is_questioned_then_saved_once_confirmed(phone, live_server, scene):
    """With JavaScript on, the send answers 400; the page then shows the warning the
    ordinary way, with what was typed, and the leader confirms."""
    sign_in(phone, live_server.url)
    phone.goto(f"{live_server.url}{scene['form_path']}")
    fill_visit(phone, summary="Heard pupil A123456789012 read; fluent now.")
    phone.get_by_role("button", name="Save the visit").tap()
    expect(phone.locator("#error-summary")).to_contain_text("This looks like pupil data")
    assert not visits_of(scene["deployment"]).exists()
    assert phone.get_by_label("What happened").input_value() == (
        "Heard pupil A123456789012 read; fluent now."
    )
    phone.get_by_label("This is not pupil data: save it as it is").check()
    phone.get_by_role("button", name="Save the visit").tap()
    phone.wait_for_url(f"{live_server.url}/visits/*/")
    assert visits_of(scene["deployment"]).count() == 1
