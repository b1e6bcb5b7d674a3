"""The Content Security Policy blocks nothing the service itself uses.

Each demo account signs in through the form and walks the pages linked from its home page
and menu; the browser must report no CSP violation (the `securitypolicyviolation` event,
recorded from before any page script runs, and Chromium's console messages).
"""

from urllib.parse import urlsplit

import pytest
from django.core.management import call_command

from trust.demo import DEMO_PASSWORD

pytestmark = pytest.mark.browser

RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} `
    + `at ${e.sourceFile}:${e.lineNumber} ${e.sample}`);
});
"""
# Links not worth following here: downloads, feeds, the admin, and anything that signs out.
SKIP = (
    "/admin/",
    "/pdf",
    ".pdf",
    ".ics",
    ".csv",
    ".xlsx",
    "/export",
    "/feed",
    "/download",
    "logout",
)
PAGES_PER_PERSON = 10
PEOPLE = [
    "coordinator@demo.test",
    "qa@demo.test",
    "trustlead@demo.test",
    "leader@demo.test",
    "school@demo.test",
    "funder@demo.test",
]


@pytest.fixture
def demo(transactional_db):
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115


def links_on(page, base_url) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    found = []
    for href in hrefs:
        parts = urlsplit(href)
        if f"{parts.scheme}://{parts.netloc}" != base_url or any(s in href for s in SKIP):
            continue
        url = f"{base_url}{parts.path}" + (f"?{parts.query}" if parts.query else "")
        if url not in found:
            found.append(url)
    return found


def pages_with_their_own_scripts() -> list[str]:
    """The Record of Visit form (visit-form.js) and a report (report-pdf.js); a 404 for
    people who may not see them, which must not break the policy either."""
    from django.urls import reverse

    from deployments.models import Deployment
    from reporting.models import ImpactReport

    paths = []
    deployment = Deployment.objects.filter(leader__user__email="leader@demo.test").first()
    if deployment:
        paths.append(reverse("deployments:visit_create", args=[deployment.pk]))
    report = ImpactReport.objects.order_by("pk").first()
    if report:
        paths.append(report.get_absolute_url())
    assert paths, "the demo data has a deployment and a report"
    return paths


@pytest.mark.parametrize("email", PEOPLE)
def test_no_page_breaks_the_content_security_policy(chromium, live_server, demo, email):
    context = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    page.set_default_timeout(20_000)
    console = []
    page.on(
        "console",
        lambda m: console.append(m.text) if "Content Security Policy" in m.text else None,
    )
    violations = {}
    statuses = {}

    def visit(url):
        response = page.goto(url)
        statuses[url] = response.status
        assert response.status < 500, url
        assert "default-src 'self'" in response.headers.get("content-security-policy", "")
        found = page.evaluate("window.__cspViolations")
        if found:
            violations[url] = found

    base = live_server.url
    visit(f"{base}/accounts/password-reset/")
    visit(f"{base}/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    home = page.url
    assert "/accounts/login/" not in home
    # Bootstrap's menu script runs too: open the phone menu.
    page.get_by_role("button", name="Menu").click()
    if found := page.evaluate("window.__cspViolations"):
        violations[home] = found

    to_visit = [u for u in links_on(page, base) if u != home][:PAGES_PER_PERSON]
    scripted = [f"{base}{path}" for path in pages_with_their_own_scripts()]
    to_visit += scripted
    to_visit.append(f"{base}/accounts/two-factor/")
    for url in to_visit:
        visit(url)
    context.close()

    if email == "leader@demo.test":  # the leader opens both pages with their scripts
        assert [statuses[url] for url in scripted] == [200, 200]
    assert violations == {}, violations
    assert console == [], console
