"""A whole programme in Chromium, each role in its own browser: the school raises a request on
a phone; the hub coordinator triages, shortlists and offers; the trust lead accepts; the
Lead System Leader writes the action plan and logs three visits on a phone (one of them with
no signal); the school acknowledges one; the leader drafts the interim report; the trust
lead submits it; the QA lead returns it and then approves it; the trust lead downloads the
PDF; the funder exports the funding return; the coordinator looks through the lists and
settings the journey has not passed through.

Every page each person sees is checked with axe-core at WCAG 2.2 A and AA, and for one h1
and a skip link; the phone pages also for sideways scrolling at 320 px and 44 px targets
(see a11y.py). The problems are listed together at the end.

Celery runs eagerly here and the live server's transactional database fires on_commit
hooks, so each PDF is rendered in the request that asked for it.
"""

import csv
import datetime
import io
import re
import time
from decimal import Decimal
from urllib.parse import urljoin

import pytest
from django.utils import timezone
from playwright.sync_api import expect
from pypdf import PdfReader

from brokerage import services as brokerage_services
from brokerage.models import Commission, ReportingDeadline, SupportRequest
from brokerage.tests.factories import FundingStreamFactory
from deployments.models import Deployment, Visit
from reporting.models import ImpactReport, ReportFile
from trust.models import Role
from trust.tests.factories import (
    FunderFactory,
    HubFactory,
    SchoolFactory,
    TrustFactory,
    member,
    system_leader,
)

from .a11y import Audit
from .conftest import DESKTOP, PHONE

pytestmark = pytest.mark.browser
PASSWORD = "correct-horse-battery"
SCHOOL = "Moorside Primary School"
TRUST = "Aire Valley Learning Trust"
TITLE = "Year 6 reading fluency"
OBJECTIVE = "Raise reading fluency in Year 6"
PEOPLE = {
    "school": "gareth@example.test",
    "coordinator": "helen@example.test",
    "trust": "sarah@example.test",
    "leader": "priya@example.test",
    "qa": "tom@example.test",
    "funder": "fiona@example.test",
}
VISITS = [
    ("In person", "3 hours", "Observed two Year 6 reading lessons with the English lead."),
    ("Video call", "1 hour", "Planned the fluency sessions with the Year 6 team."),
    ("Telephone", "2 hours", "Checked the first fluency data drop; no signal at school."),
]
RETURN_COMMENTS = "Say which pupils gained most, and how the gap for disadvantaged pupils moved."


@pytest.fixture
def scene(transactional_db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    hub = HubFactory(name="Three Rivers Hub")
    trust = TrustFactory(hub=hub, name=TRUST)
    home = SchoolFactory(hub=hub, parent_trust=trust, name="Beck Primary", phase="primary")
    school = SchoolFactory(hub=hub, name=SCHOOL, phase="primary")
    funder = FunderFactory(hub=hub, name="Northern Education Fund")
    member(Role.SCHOOL_CONTACT, school, email=PEOPLE["school"], full_name="Gareth Hughes")
    coordinator = member(
        Role.HUB_COORDINATOR, hub, email=PEOPLE["coordinator"], full_name="Helen Marsh"
    )
    member(Role.TRUST_LEAD, trust, email=PEOPLE["trust"], full_name="Sarah Whitaker")
    member(Role.QA_LEAD, hub, email=PEOPLE["qa"], full_name="Tom Okafor")
    member(Role.FUNDER_VIEWER, funder, email=PEOPLE["funder"], full_name="Fiona Grant")
    leader = system_leader(home, capacity_days_per_term=10)
    leader.user.email = PEOPLE["leader"]
    leader.user.full_name = "Priya Patel"
    leader.user.save()
    return {"hub": hub, "funder": funder, "coordinator": coordinator}


class Cast:
    """One browser context per person, phone or desktop, signed in on first use."""

    def __init__(self, chromium, base):
        self.chromium, self.base, self.pages = chromium, base, {}

    def __call__(self, who, *, phone=False):
        if who not in self.pages:
            if phone:
                context = self.chromium.new_context(
                    viewport=PHONE, is_mobile=True, has_touch=True, accept_downloads=True
                )
            else:
                context = self.chromium.new_context(viewport=DESKTOP, accept_downloads=True)
            page = context.new_page()
            page.set_default_timeout(20_000)
            self.pages[who] = page
        return self.pages[who]

    def close(self):
        for page in self.pages.values():
            page.context.close()


def sign_in(page, audit, base, email, *, phone=False):
    page.goto(f"{base}/accounts/login/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    audit.check(page, phone=phone)
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def main(page):
    return page.locator("main")


def test_a_programme_from_request_to_funding_return(chromium, live_server, scene):
    base = live_server.url
    audit = Audit()
    cast = Cast(chromium, base)
    started = time.perf_counter()
    try:
        _run(cast, audit, base, scene)
    finally:
        cast.close()
    print(
        f"\nWhole programme in {time.perf_counter() - started:.1f} s; "
        f"{len(audit.pages)} pages checked ({len(set(audit.pages))} distinct)"
    )
    audit.assert_clean()


def _run(cast, audit, base, scene):
    today = timezone.localdate()

    # --- The school contact, on a phone, asks for support; a first try misses the need.
    school = cast("school", phone=True)
    school.goto(f"{base}/accounts/login/")
    email = school.get_by_label("Email address")
    assert email.get_attribute("type") == "email"  # the phone shows its email keyboard
    assert email.get_attribute("autocomplete") == "email"
    email.fill(PEOPLE["school"])
    school.get_by_label("Password").fill("not-my-password")
    school.get_by_role("button", name="Sign in").tap()
    expect(school.get_by_role("alert")).to_contain_text("do not match an account")
    audit.check(school, phone=True)
    sign_in(school, audit, base, PEOPLE["school"], phone=True)
    expect(school.get_by_role("heading", level=1)).to_have_text(SCHOOL)
    expect(main(school)).to_contain_text("You have not asked for support yet.")
    audit.check(school, phone=True)
    school.get_by_role("link", name="Ask for support").tap()
    expect(school.get_by_role("heading", level=1)).to_have_text("New support request")
    audit.check(school, phone=True)
    school.get_by_label("Title").fill(TITLE)
    school.get_by_role("button", name="Submit to the hub").tap()
    summary = school.locator("#error-summary")
    expect(summary).to_contain_text("Choose at least one area of need.")
    expect(summary).to_be_focused()
    _errors_are_linked_to_their_fields(school)
    audit.check(school, phone=True)

    school.get_by_label("Curriculum", exact=True).check()
    school.get_by_label("Context").fill("Reading fluency in Year 6 fell to 62% this summer.")
    days = school.get_by_label("Days of support sought")
    assert days.get_attribute("inputmode") == "decimal"
    days.fill("6")
    school.get_by_label("Funding sought").fill("3000")
    start_wanted = school.get_by_label("Start wanted by")
    assert start_wanted.get_attribute("type") == "date"
    start_wanted.fill(today.isoformat())
    school.get_by_role("button", name="Submit to the hub").tap()
    expect(school.get_by_role("status")).to_contain_text("Request submitted to the hub.")
    expect(school.get_by_role("heading", level=1)).to_contain_text(TITLE)
    audit.check(school, phone=True)

    # --- The hub coordinator triages, shortlists Priya and offers the work to the trust.
    coordinator = cast("coordinator")
    sign_in(coordinator, audit, base, PEOPLE["coordinator"])
    audit.check(coordinator)
    coordinator.get_by_role("link", name="Pipeline").first.click()
    expect(coordinator).to_have_url(re.compile(r"/pipeline/$"))
    audit.check(coordinator)
    coordinator.get_by_role("link", name=SCHOOL).first.click()
    expect(coordinator).to_have_url(re.compile(r"/requests/\d+/$"))
    audit.check(coordinator)
    coordinator.get_by_role("button", name="Start triage").click()
    expect(main(coordinator)).to_contain_text("Triage started")
    coordinator.get_by_role("button", name="Start brokering").click()
    ranked = coordinator.get_by_role("table", name="System leaders ranked by how well they match")
    expect(ranked).to_contain_text("Priya Patel")
    audit.check(coordinator)
    coordinator.get_by_role("button", name="Shortlist Priya Patel").click()
    expect(main(coordinator)).to_contain_text("Priya Patel is on the shortlist")
    audit.check(coordinator)
    coordinator.get_by_role("link", name="Offer to a lead organisation").click()
    expect(coordinator).to_have_url(re.compile(r"/requests/\d+/offer/$"))
    audit.check(coordinator)
    coordinator.get_by_label("Lead organisation").select_option(label=TRUST)
    coordinator.get_by_label("Start").fill(today.isoformat())
    coordinator.get_by_label("End").fill((today + datetime.timedelta(days=150)).isoformat())
    coordinator.get_by_label("Message to the trust").fill("Could Priya lead this?")
    coordinator.get_by_role("button", name="Send the offer").click()
    expect(main(coordinator)).to_contain_text(f"Offered to {TRUST}")
    audit.check(coordinator)

    # --- The trust lead accepts; the commission is set up with an interim report.
    trust = cast("trust")
    sign_in(trust, audit, base, PEOPLE["trust"])
    audit.check(trust)
    trust.get_by_role("link", name="Offers", exact=True).click()
    expect(trust).to_have_url(re.compile(r"/offers/$"))
    audit.check(trust)
    trust.get_by_role("link", name=SCHOOL).first.click()
    expect(main(trust)).to_contain_text("Could Priya lead this?")
    audit.check(trust)
    trust.get_by_label("Their home headteacher has agreed their release").check()
    trust.get_by_role("button", name="Accept and commission").click()
    expect(main(trust)).to_contain_text("Accepted: the commission is set up.")
    expect(main(trust)).to_contain_text("Interim report")
    audit.check(trust)
    commission = Commission.objects.get(request__title=TITLE)
    assert commission.request.status == SupportRequest.Status.COMMISSIONED

    # The coordinator funds it from the funder's stream (set-up, not part of the journeys).
    stream = FundingStreamFactory(
        hub=scene["hub"],
        funder=scene["funder"],
        name="Reading recovery",
        academic_year=commission.academic_year,
    )
    brokerage_services.commission_set_funding(
        commission=commission,
        actor=scene["coordinator"],
        allocations=[(stream, Decimal("3000"))],
    )

    # --- Priya, on a phone, writes the action plan and logs three visits, one offline.
    leader = cast("leader", phone=True)
    sign_in(leader, audit, base, PEOPLE["leader"], phone=True)
    expect(leader.get_by_role("heading", level=1)).to_have_text("Hello, Priya")
    card = leader.locator("article", has_text=SCHOOL)
    expect(card).to_contain_text("0.0 of 6")
    audit.check(leader, phone=True)
    _can_be_added_to_the_home_screen(leader)
    card.get_by_role("link", name=SCHOOL).tap()
    expect(leader).to_have_url(re.compile(r"/deployments/\d+/$"))
    audit.check(leader, phone=True)
    leader.goto(f"{base}/commissions/{commission.pk}/plan/")
    expect(main(leader)).to_contain_text("No objectives yet.")
    audit.check(leader, phone=True)
    leader.get_by_role("link", name="Add an objective").tap()
    expect(leader).to_have_url(re.compile(r"/objectives/new/$"))
    audit.check(leader, phone=True)
    leader.get_by_label("Title").fill(OBJECTIVE)
    leader.get_by_label("Success criteria").fill("78% of Year 6 read at 90 words a minute.")
    leader.get_by_role("button", name="Save").tap()
    expect(main(leader).get_by_role("link", name=OBJECTIVE, exact=True)).to_be_visible()
    audit.check(leader, phone=True)

    form_path = f"/deployments/{Deployment.objects.get(commission=commission).pk}/visits/new/"
    for number, (mode, duration, summary) in enumerate(VISITS, start=1):
        leader.goto(f"{base}/leader/")
        leader.locator("article", has_text=SCHOOL).get_by_role("link", name="Log a visit").tap()
        expect(leader).to_have_url(f"{base}{form_path}")
        audit.check(leader, phone=True)
        _fill_visit(leader, mode, duration, summary)
        offline = number == 3
        if offline:
            leader.context.set_offline(True)
        leader.get_by_role("button", name="Save the visit").tap()
        if offline:
            status = leader.get_by_role("status").filter(has_text="saved on this phone")
            expect(status).to_be_visible()
            assert Visit.objects.filter(summary=summary).count() == 0
            leader.context.set_offline(False)  # the page's `online` event sends the queue
            expect(leader.locator("#visit-status")).to_contain_text("sent and saved")
            assert Visit.objects.filter(summary=summary).count() == 1
        else:
            expect(leader).to_have_url(re.compile(rf"{re.escape(base)}/visits/\d+/$"))
            expect(leader.get_by_role("heading", level=1)).to_contain_text(f"{mode} visit")
            expect(main(leader)).to_contain_text(summary)
            audit.check(leader, phone=True)
    leader.goto(f"{base}/leader/")
    expect(leader.locator("article", has_text=SCHOOL)).to_contain_text("0.9 of 6")
    audit.check(leader, phone=True)

    # --- The school acknowledges the first visit from its phone.
    first = Visit.objects.get(summary=VISITS[0][2])
    school.goto(f"{base}/school/")
    audit.check(school, phone=True)
    school.goto(f"{base}/commissions/{commission.pk}/visits/")
    audit.check(school, phone=True)
    school.get_by_role("link", name=re.compile(r", in person, 3 h$")).tap()
    expect(school).to_have_url(f"{base}/visits/{first.pk}/")
    expect(main(school)).to_contain_text(VISITS[0][2])
    audit.check(school, phone=True)
    school.get_by_label("Yes, it is accurate").check()
    school.get_by_role("button", name="Send response").tap()
    expect(main(school)).to_contain_text("Thank you: your response is recorded.")
    expect(main(school)).to_contain_text("Gareth Hughes")
    audit.check(school, phone=True)

    # --- Priya drafts the interim report.
    leader.goto(f"{base}/reports/")
    audit.check(leader, phone=True)
    row = leader.get_by_role("row").filter(has_text="Interim report")
    expect(row).to_contain_text("Not started")
    row.get_by_role("button", name="Start").tap()
    expect(leader.locator("#report-status")).to_have_text("Draft")
    audit.check(leader, phone=True)
    report = ImpactReport.objects.get(deadline__kind=ReportingDeadline.Kind.INTERIM)
    detail = f"{base}/reports/{report.pk}/"
    leader.get_by_role("link", name="Edit the narrative").tap()
    expect(leader).to_have_url(re.compile(r"/reports/\d+/edit/$"))
    audit.check(leader, phone=True)
    leader.locator("textarea[name=summary]").fill("Year 6 reading fluency rose from 62% to 71%.")
    leader.locator("textarea[name=evidence]").fill("Termly fluency checks; three visits.")
    leader.locator("textarea[name=barriers]").fill("Staff absence delayed the second cycle.")
    leader.locator("textarea[name=next_steps]").fill("Embed daily fluency practice.")
    leader.locator("textarea[name=sustainability]").fill("The English lead coaches two others.")
    leader.get_by_role("button", name="Save").tap()
    expect(main(leader)).to_contain_text("Report saved.")
    audit.check(leader, phone=True)

    # --- The trust lead submits it to the hub.
    trust.goto(detail)
    audit.check(trust)
    trust.get_by_role("button", name="Submit to the hub for QA").click()
    expect(main(trust)).to_contain_text("Submitted to the hub for quality assurance")
    expect(trust.locator("#report-status")).to_have_text("Submitted for QA")
    audit.check(trust)

    # --- The QA lead returns it with comments; the trust lead resubmits; QA approves.
    qa = cast("qa")
    sign_in(qa, audit, base, PEOPLE["qa"])
    audit.check(qa)
    qa.goto(f"{base}/reports/")
    audit.check(qa)
    qa.goto(detail)
    qa.get_by_role("link", name="Review: approve or return").click()
    expect(qa).to_have_url(re.compile(r"/reports/\d+/review/$"))
    audit.check(qa)
    qa.get_by_label("Return it for changes").check()
    qa.locator("textarea[name=comments]").fill(RETURN_COMMENTS)
    qa.get_by_role("button", name="Record the decision").click()
    expect(main(qa)).to_contain_text("Returned to the authors with your comments.")
    expect(qa.locator("#report-status")).to_have_text("Returned for changes")
    audit.check(qa)

    leader.goto(detail)
    expect(leader.locator(".alert-warning")).to_contain_text(RETURN_COMMENTS)
    audit.check(leader, phone=True)
    leader.get_by_role("link", name="Edit the narrative").tap()
    leader.locator("textarea[name=summary]").fill(
        "Year 6 reading fluency rose from 62% to 71%; disadvantaged pupils gained most."
    )
    leader.get_by_role("button", name="Save").tap()
    expect(main(leader)).to_contain_text("Report saved.")
    trust.goto(detail)
    trust.get_by_role("button", name="Submit to the hub for QA").click()
    expect(trust.locator("#report-status")).to_have_text("Submitted for QA")

    qa.goto(detail)
    qa.get_by_role("link", name="Review: approve or return").click()
    qa.get_by_label("Approve the report").check()
    qa.get_by_role("button", name="Record the decision").click()
    expect(qa.locator("#error-summary")).to_contain_text("Judge the impact")
    _errors_are_linked_to_their_fields(qa)
    audit.check(qa)
    qa.get_by_label("Approve the report").check()
    qa.locator("select[name=impact]").select_option("strong")
    qa.locator("select[name=value_for_money]").select_option(label="Good value for money")
    qa.get_by_role("button", name="Record the decision").click()
    expect(main(qa)).to_contain_text("Approved.")
    expect(qa.locator("#report-status")).to_have_text("Approved")
    audit.check(qa)

    # --- The trust lead downloads the approved PDF.
    _wait_for_files(report, 3)
    trust.goto(f"{base}/reports/")
    audit.check(trust)
    row = trust.get_by_role("row").filter(has_text="Interim report")
    expect(row).to_contain_text("Approved")
    with trust.expect_download() as download_info:
        row.get_by_role("link", name="Download v3").click()
    reader = PdfReader(download_info.value.path())
    text = re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))
    assert SCHOOL in text
    assert "disadvantaged pupils gained most" in text

    # --- The funder exports the funding return.
    funder = cast("funder")
    sign_in(funder, audit, base, PEOPLE["funder"])
    expect(main(funder)).to_contain_text("Reading recovery")
    audit.check(funder)
    funder.get_by_role("link", name="Your funding streams").click()
    expect(funder.get_by_role("heading", level=1)).to_have_text("Funding streams")
    audit.check(funder)
    with funder.expect_download() as download_info:
        funder.get_by_role("link", name="Funding return (CSV)").click()
    rows = list(csv.reader(io.StringIO(download_info.value.path().read_text("utf-8-sig"))))
    flat = " ".join(" ".join(r) for r in rows)
    assert SCHOOL in flat
    assert "Reading recovery" in flat
    funder.get_by_role("link", name="Dashboard").click()
    expect(funder.get_by_role("heading", level=1)).to_have_text("Programme dashboard")
    expect(main(funder)).to_contain_text("your money only")
    audit.check(funder)

    # --- The rest of the coordinator's week: the lists and settings they look through.
    for path, heading in [
        ("/dashboard/", "Programme dashboard"),
        ("/dashboard/?year=&la=&refresh=1", "Programme dashboard"),
        ("/deployments/", "Deployments"),
        ("/visits/", "Visits"),
        ("/account/data/", "Your data"),
        ("/commissions/", "Commissions"),
        (f"/commissions/{commission.pk}/visits/", f"Visits to {SCHOOL}"),
        (f"/commissions/{commission.pk}/spend/", f"Spend: {SCHOOL}"),
        ("/system-leaders/", "System leaders"),
        ("/organisations/", "Organisations"),
        ("/funding/", "Funding streams"),
        (f"/funding/{stream.pk}/", "Reading recovery"),
        ("/notifications/", "Notifications"),
        ("/calendar/", "Your calendar"),
    ]:
        coordinator.goto(f"{base}{path}")
        expect(coordinator.get_by_role("heading", level=1)).to_contain_text(heading)
        audit.check(coordinator)


def _fill_visit(page, mode, duration, summary):
    form = page.locator("#visit-form")
    for text in (mode, duration, OBJECTIVE):
        form.locator(".choice-row label, .choice-col label").filter(
            has_text=re.compile(rf"^{re.escape(text)}$")
        ).tap()
    page.get_by_label("What happened").fill(summary)
    page.get_by_label("Next steps").fill("Share the fluency plan with the head.")


def _errors_are_linked_to_their_fields(page):
    """Each field with an error says so (aria-invalid) and points at its message, and each
    link in the error summary at the top goes to a field."""
    links = page.locator("#error-summary a")
    for i in range(links.count()):
        target = links.nth(i).get_attribute("href")
        assert page.locator(target).count() == 1, f"error link {target!r} goes nowhere"
    invalid = page.locator("main [aria-invalid=true]")
    assert invalid.count() >= 1, "no field is marked invalid"
    for i in range(invalid.count()):
        field = invalid.nth(i)
        # A group of radios or checkboxes is described by its fieldset.
        described = field.evaluate(
            "el => (el.getAttribute('aria-describedby')"
            " || el.closest('fieldset')?.getAttribute('aria-describedby') || '')"
        ).split()
        texts = [page.locator(f"[id='{ref}']").inner_text() for ref in described]
        assert any(t.strip() for t in texts), (
            f"{field.get_attribute('name')} is invalid but its error is not linked to it"
        )


def _can_be_added_to_the_home_screen(page):
    """The web app manifest a phone needs to offer "Add to Home screen"."""
    href = page.locator("link[rel=manifest]").get_attribute("href")
    manifest_url = urljoin(page.url, href)
    manifest = page.request.get(manifest_url).json()
    assert manifest["display"] == "standalone"
    assert manifest["start_url"] == "/"
    assert manifest["short_name"]
    sizes = set()
    for icon in manifest["icons"]:
        response = page.request.get(urljoin(manifest_url, icon["src"]))
        assert response.ok and response.headers["content-type"] == "image/png", icon
        sizes.add(icon["sizes"])
    assert {"192x192", "512x512"} <= sizes


def _wait_for_files(report, count, seconds=30):
    deadline = time.monotonic() + seconds
    while ReportFile.objects.filter(report=report).count() < count:
        assert time.monotonic() < deadline, f"report {report.pk} has no PDF v{count}"
        time.sleep(0.2)
