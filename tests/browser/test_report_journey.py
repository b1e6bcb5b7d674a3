"""An impact report from first draft to approved PDF, in Chromium: the Lead System Leader
drafts, the trust lead submits, the hub's QA lead returns it with comments, the authors see
them and resubmit, the QA lead approves with judgements and the trust lead downloads the PDF.

Celery runs eagerly here, and the live server's transactional database fires on_commit
hooks, so each PDF is rendered in the request that asked for it.
"""

import re
import time

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from brokerage.models import ReportingDeadline
from brokerage.tests.factories import commission_via_services, request_via_services
from reporting.models import ImpactReport, PdfJob, ReportFile
from trust.models import Role
from trust.tests.factories import HubFactory, SchoolFactory, TrustFactory, member, system_leader

from .conftest import DESKTOP

pytestmark = pytest.mark.browser
PASSWORD = "correct-horse-battery"
SCHOOL = "Moorside Primary School"
LEADER = "priya@example.test"
TRUST_LEAD = "sarah@example.test"
QA_LEAD = "tom@example.test"
SCHOOL_CONTACT = "gareth@example.test"
OUTSIDER = "olly@example.test"

DRAFT = {
    "evidence": "Termly fluency checks; lesson observations with the English lead.",
    "barriers": "Staff absence in November delayed the second cycle.",
    "next_steps": "Embed daily fluency practice in Year 5.",
    "sustainability": "The English lead now coaches two colleagues.",
}
SUMMARY = "Year 6 reading fluency rose from 62% to 78% across the two terms."
REVISED_SUMMARY = (
    "Year 6 reading fluency rose from 62% to 78%; the greatest gains were for disadvantaged "
    "pupils."
)
RETURN_COMMENTS = "Say which pupils gained most, and how the gap for disadvantaged pupils moved."


@pytest.fixture
def scene(transactional_db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    hub = HubFactory(name="Three Rivers Hub")
    trust = TrustFactory(hub=hub, name="Aire Valley Learning Trust")
    home = SchoolFactory(hub=hub, parent_trust=trust, name="Beck Primary", phase="primary")
    school = SchoolFactory(hub=hub, name=SCHOOL, phase="primary")
    coordinator = member(Role.HUB_COORDINATOR, hub, full_name="Helen Marsh")
    trust_lead = member(Role.TRUST_LEAD, trust, email=TRUST_LEAD, full_name="Sarah Whitaker")
    member(Role.QA_LEAD, hub, email=QA_LEAD, full_name="Tom Okafor")
    member(Role.SCHOOL_CONTACT, school, email=SCHOOL_CONTACT, full_name="Gareth Hughes")
    member(
        Role.HUB_COORDINATOR,
        HubFactory(name="Elsewhere Hub"),
        email=OUTSIDER,
        full_name="Olly Outsider",
    )
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
    return {"final": commission.deadlines.get(kind=ReportingDeadline.Kind.FINAL)}


def sign_in(chromium, base_url, email):
    """A fresh browser context for one person, signed in."""
    context = chromium.new_context(viewport=DESKTOP, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    assert "/accounts/login/" not in page.url, f"{email} could not sign in"
    return page


def wait_for_files(report, count, seconds=30):
    deadline = time.monotonic() + seconds
    while ReportFile.objects.filter(report=report).count() < count:
        assert time.monotonic() < deadline, f"report {report.pk} has no PDF v{count}"
        time.sleep(0.2)


def status_of(page):
    return page.locator("#report-status").inner_text()


def test_a_report_goes_from_draft_through_return_to_an_approved_pdf(chromium, live_server, scene):
    base = live_server.url
    contexts = []
    try:
        # The Lead System Leader starts the final report and drafts it, forgetting the summary.
        leader = sign_in(chromium, base, LEADER)
        contexts.append(leader.context)
        leader.goto(f"{base}/reports/")
        row = leader.get_by_role("row").filter(has_text="Final report")
        expect(row).to_contain_text(SCHOOL)
        expect(row).to_contain_text("Not started")
        row.get_by_role("button", name="Start").click()
        expect(leader).to_have_url(re.compile(rf"{re.escape(base)}/reports/\d+/$"))
        report = ImpactReport.objects.get(deadline=scene["final"])
        detail = f"{base}/reports/{report.pk}/"
        assert leader.url == detail
        assert status_of(leader) == "Draft"
        # Only the lead trust submits; the leader is told to ask them.
        expect(leader.get_by_role("button", name="Submit to the hub for QA")).to_have_count(0)
        expect(leader.locator("main")).to_contain_text("ask the lead trust to check and submit")

        leader.get_by_role("link", name="Edit the narrative").click()
        for name, text in DRAFT.items():
            leader.locator(f"textarea[name={name}]").fill(text)
        leader.get_by_role("button", name="Save").click()
        expect(leader.locator("main")).to_contain_text("Report saved.")
        assert leader.url == detail
        expect(leader.locator("main")).to_contain_text(DRAFT["evidence"])

        # The trust lead tries to submit it without a summary and is told what is missing.
        trust = sign_in(chromium, base, TRUST_LEAD)
        contexts.append(trust.context)
        trust.goto(f"{base}/reports/")
        trust.get_by_role("row").filter(has_text="Final report").get_by_role(
            "link", name="Draft"
        ).click()
        assert trust.url == detail
        trust.get_by_role("button", name="Submit to the hub for QA").click()
        alert = trust.locator(".alert-danger, .alert-error").filter(has_text="before submitting")
        expect(alert).to_contain_text("Write the summary of impact before submitting")
        assert status_of(trust) == "Draft"
        assert not PdfJob.objects.filter(report=report).exists()

        # The leader adds the summary; the trust lead submits.
        leader.get_by_role("link", name="Edit the narrative").click()
        assert leader.locator("textarea[name=evidence]").input_value() == DRAFT["evidence"]
        leader.locator("textarea[name=summary]").fill(SUMMARY)
        leader.get_by_role("button", name="Save").click()
        expect(leader.locator("main")).to_contain_text("Report saved.")

        trust.reload()
        trust.get_by_role("button", name="Submit to the hub for QA").click()
        expect(trust.locator("main")).to_contain_text("Submitted to the hub for quality assurance")
        assert status_of(trust) == "Submitted for QA"
        expect(trust.get_by_role("link", name="Edit the narrative")).to_have_count(0)
        wait_for_files(report, 1)

        # The QA lead returns it with comments.
        qa = sign_in(chromium, base, QA_LEAD)
        contexts.append(qa.context)
        qa.goto(detail)
        expect(qa.locator("main")).to_contain_text(SUMMARY)
        expect(qa.get_by_role("link", name="Edit the narrative")).to_have_count(0)
        qa.get_by_role("link", name="Review: approve or return").click()
        qa.get_by_label("Return it for changes").check()
        qa.locator("textarea[name=comments]").fill(RETURN_COMMENTS)
        qa.get_by_role("button", name="Record the decision").click()
        expect(qa.locator("main")).to_contain_text("Returned to the authors with your comments.")
        assert qa.url == detail
        assert status_of(qa) == "Returned for changes"

        # The authors see the comments; the leader revises the summary.
        for page in (trust, leader):
            page.goto(detail)
            assert status_of(page) == "Returned for changes"
            returned = page.locator(".alert-warning").filter(has_text="Returned by Tom Okafor")
            expect(returned).to_contain_text(RETURN_COMMENTS)
        leader.get_by_role("link", name="Edit the narrative").click()
        leader.locator("textarea[name=summary]").fill(REVISED_SUMMARY)
        leader.get_by_role("button", name="Save").click()
        expect(leader.locator("main")).to_contain_text(REVISED_SUMMARY)

        trust.reload()
        trust.get_by_role("button", name="Submit to the hub for QA").click()
        expect(trust.locator("main")).to_contain_text("Submitted to the hub for quality assurance")
        assert status_of(trust) == "Submitted for QA"
        wait_for_files(report, 2)

        # The QA lead approves: approving needs both judgements.
        qa.goto(detail)
        qa.get_by_role("link", name="Review: approve or return").click()
        qa.get_by_label("Approve the report").check()
        qa.get_by_role("button", name="Record the decision").click()
        errors = qa.locator("#error-summary")
        expect(errors).to_contain_text("Judge the impact to approve the report.")
        expect(errors).to_contain_text("Judge the value for money to approve.")
        assert ImpactReport.objects.get(pk=report.pk).status == ImpactReport.Status.SUBMITTED

        qa.get_by_label("Approve the report").check()
        impact = qa.locator("select[name=impact]")
        assert impact.locator("option").all_inner_texts() == [
            "Choose…",
            "Strong",
            "Some",
            "Limited",
        ]
        impact.select_option("strong")
        qa.locator("select[name=value_for_money]").select_option(label="Good value for money")
        qa.locator("textarea[name=comments]").fill("Clear evidence of impact. Well done.")
        qa.get_by_role("button", name="Record the decision").click()
        expect(qa.locator("main")).to_contain_text("Approved. The final PDF is being prepared.")
        assert status_of(qa) == "Approved"
        expect(qa.locator("main")).to_contain_text("Impact: Strong · Good value for money")
        wait_for_files(report, 3)

        timeline = qa.get_by_role("region", name="Timeline").inner_text()
        assert RETURN_COMMENTS in timeline
        assert "moved it from submitted for qa to approved" in timeline

        # The trust lead downloads the approved PDF from the list of reports.
        trust.goto(f"{base}/reports/")
        row = trust.get_by_role("row").filter(has_text="Final report")
        expect(row).to_contain_text("Approved")
        with trust.expect_download() as download_info:
            row.get_by_role("link", name="Download v3").click()
        download = download_info.value
        assert download.suggested_filename == "final-report-moorside-primary-school-v3.pdf"
        reader = PdfReader(download.path())
        text = re.sub(r"\s+", " ", " ".join(page.extract_text() for page in reader.pages))
        assert SCHOOL in text
        assert REVISED_SUMMARY in text
        assert "Approved" in text
        assert "Impact: Strong" in text
        assert SUMMARY not in text  # the first draft's summary is not in the final PDF

        # The PDF is the hub's and the lead trust's: anyone else gets a 404.
        pdf_url = f"{base}/reports/{report.pk}/pdf/"
        school_contact = sign_in(chromium, base, SCHOOL_CONTACT)
        contexts.append(school_contact.context)
        outsider = sign_in(chromium, base, OUTSIDER)
        contexts.append(outsider.context)
        for who, page in [
            ("the school contact", school_contact),
            ("a coordinator at another hub", outsider),
            ("the Lead System Leader", leader),
        ]:
            for url in (pdf_url, f"{base}/reports/{report.pk}/pdf/v3/"):
                response = page.request.get(url)
                assert response.status == 404, f"{who} got {response.status} for {url}"
                assert response.headers["content-type"].startswith("text/html")
        assert school_contact.goto(pdf_url).status == 404
        assert outsider.goto(detail).status == 404
        assert trust.request.get(pdf_url).status == 200
    finally:
        for context in contexts:
            context.close()
