"""With a keyboard alone: the skip link comes first and moves focus to the content, signing
in needs no mouse, every control on the busiest pages is reached with Tab and shows where
focus is, and a visit can be logged with Tab, the arrow keys and the space bar."""

import re

import pytest
from playwright.sync_api import expect

from brokerage.tests.factories import commission_via_services, request_via_services
from deployments import services
from deployments.models import Deployment, Visit
from trust.models import Role
from trust.tests.factories import HubFactory, SchoolFactory, TrustFactory, member, system_leader

from .conftest import DESKTOP

pytestmark = pytest.mark.browser
PASSWORD = "correct-horse-battery"
LEADER = "priya@example.test"
SCHOOL = "Moorside Primary School"
OBJECTIVE = "Raise attainment in Year 6 maths"

# What the focused element looks like, and whether it is one a keyboard user can see: its
# own outline, or for the visit form's hidden radios and checkboxes, their label's.
FOCUS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const shown = (el.matches(".choice-row input, .choice-col input")
                 ? document.querySelector(`label[for="${el.id}"]`) : el);
  const style = getComputedStyle(shown);
  const box = shown.getBoundingClientRect();
  return {
    key: el.id || el.name || el.getAttribute("href") || el.textContent.trim().slice(0, 30),
    tag: el.tagName.toLowerCase(),
    outline: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2,
    visible: box.width > 0 && box.height > 0,
    // Focus inside the browser's own part of a control (a date field's calendar button),
    // which draws its own ring: the element itself then does not match :focus.
    inner: !el.matches(":focus"),
  };
}"""

# Every control a keyboard must reach: one radio per group (the arrow keys move within it).
CONTROLS = """() => {
  const seen = new Set();
  const keys = [];
  for (const el of document.querySelectorAll(
      "a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex='0']")) {
    if (el.closest("[hidden], details:not([open]) > :not(summary)")) continue;
    const shown = (el.matches(".choice-row input, .choice-col input")
                   ? document.querySelector(`label[for="${el.id}"]`) : el);
    const box = shown.getBoundingClientRect();
    if (!box.width || !box.height || getComputedStyle(shown).visibility === "hidden") continue;
    if (el.type === "radio") { if (seen.has(el.name)) continue; seen.add(el.name); }
    keys.push(el.id || el.name || el.getAttribute("href") || el.textContent.trim().slice(0, 30));
  }
  return keys;
}"""


@pytest.fixture
def scene(transactional_db):
    hub = HubFactory(name="Three Rivers Hub")
    trust = TrustFactory(hub=hub, name="Aire Valley Learning Trust")
    home = SchoolFactory(hub=hub, parent_trust=trust, name="Beck Primary", phase="primary")
    school = SchoolFactory(hub=hub, name=SCHOOL, phase="primary")
    coordinator = member(Role.HUB_COORDINATOR, hub, full_name="Helen Marsh")
    trust_lead = member(Role.TRUST_LEAD, trust, full_name="Sarah Whitaker")
    leader = system_leader(home)
    leader.user.email = LEADER
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
    services.objective_save(
        commission=commission,
        actor=leader.user,
        title=OBJECTIVE,
        success_criteria="Evidence in books and in the next data drop.",
        baseline="",
        target="",
        owner="",
        due=None,
        rag="",
    )
    deployment = Deployment.objects.get(commission=commission, leader=leader)
    return {"deployment": deployment, "commission": commission}


@pytest.fixture
def keyboard(chromium):
    context = chromium.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def tab_until(page, predicate, limit=80):
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUS)
        if focused and predicate(focused):
            return focused
    raise AssertionError("never reached with Tab")


def sign_in_with_keys(page, base):
    page.goto(f"{base}/accounts/login/")
    # The sign-in page starts in the email field (the page's one task), so no Tab is needed.
    assert page.evaluate(FOCUS)["key"] == "id_username"
    page.keyboard.type(LEADER)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{base}/leader/")

    # Elsewhere the first Tab shows the skip link, and Enter moves focus past the menu.
    page.reload()
    page.keyboard.press("Tab")
    skip = page.evaluate(FOCUS)
    assert skip["key"] == "#main", f"the first Tab lands on {skip}, not the skip link"
    assert skip["visible"] and skip["outline"], "the skip link is not shown when focused"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('main') !== null")


def walk(page):
    """Tab from the top of a freshly loaded page to the end; every stop must show its
    focus."""
    reached, unseen = [], []
    for _ in range(200):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUS)
        if focused is None or (reached and focused["key"] == reached[0]):
            break
        reached.append(focused["key"])
        if not (focused["visible"] and (focused["outline"] or focused["inner"])):
            unseen.append(focused)
    return reached, unseen


def test_skip_link_sign_in_and_every_control_by_keyboard(keyboard, live_server, scene):
    base = live_server.url
    sign_in_with_keys(keyboard, base)
    pages = [
        "/leader/",
        f"/deployments/{scene['deployment'].pk}/visits/new/",
        f"/commissions/{scene['commission'].pk}/plan/",
        f"/commissions/{scene['commission'].pk}/",
    ]
    for path in pages:
        keyboard.goto(f"{base}{path}")
        # Open the visit form's "More" so its controls are walked too.
        keyboard.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        controls = keyboard.evaluate(CONTROLS)
        reached, unseen = walk(keyboard)
        missed = [c for c in controls if c not in reached]
        assert not missed, f"{path}: not reached with Tab: {missed}"
        assert not unseen, f"{path}: focus not visible on {unseen}"


def test_a_visit_logged_with_the_keyboard_alone(keyboard, live_server, scene):
    base = live_server.url
    sign_in_with_keys(keyboard, base)
    tab_until(keyboard, lambda f: f["key"].endswith("/visits/new/"))
    keyboard.keyboard.press("Enter")
    expect(keyboard.get_by_role("heading", level=1)).to_have_text("Log a visit")

    tab_until(keyboard, lambda f: f["key"].startswith("id_mode"))
    keyboard.keyboard.press("ArrowRight")  # In person -> Video call
    assert keyboard.get_by_label("Video call").is_checked()
    tab_until(keyboard, lambda f: f["key"].startswith("id_duration"))
    keyboard.keyboard.press("ArrowRight")
    keyboard.keyboard.press("ArrowRight")  # 1 hour -> 3 hours
    assert keyboard.get_by_label("3 hours").is_checked()
    tab_until(keyboard, lambda f: f["key"].startswith("id_objectives"))
    keyboard.keyboard.press("Space")
    assert keyboard.get_by_label(OBJECTIVE, exact=True).is_checked()
    tab_until(keyboard, lambda f: f["key"] == "id_summary")
    keyboard.keyboard.type("Planned the Year 6 maths sequence with the subject lead.")
    keyboard.keyboard.press("Tab")
    keyboard.keyboard.type("Observe the first lesson of the sequence.")
    tab_until(keyboard, lambda f: f["tag"] == "button" and "Save" in f["key"])
    keyboard.keyboard.press("Enter")
    expect(keyboard).to_have_url(re.compile(rf"{re.escape(base)}/visits/\d+/$"))
    visit = Visit.objects.get(deployment=scene["deployment"])
    assert visit.mode == Visit.Mode.VIRTUAL
    assert visit.duration_hours == 3
    assert visit.summary == "Planned the Year 6 maths sequence with the subject lead."
