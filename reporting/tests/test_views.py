"""The report pages through the real views: who may see and do what (another organisation's
report is a 404), hostile input, and a fixed number of queries however long the report."""

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import get_resolver, reverse

from brokerage import services as brokerage
from deployments.tests.factories import (
    add_objective,
    add_supporting_leader,
    lead_deployment,
    record_visit,
    started_offer,
)
from reporting import calendar
from reporting.models import ImpactReport, Notification, PdfJob, ReportFile, SpendLine
from reporting.tests.factories import NARRATIVE, deadline_of, drafted_report, submitted_report

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
LOGIN = "/accounts/login/"
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture(autouse=True)
def fixed_today(time_machine):
    time_machine.move_to(datetime.datetime(2026, 11, 30, 10, 0, tzinfo=LONDON), tick=False)


@pytest.fixture
def open_offer(coordinator, brokering_request, lead_trust, leader_profile):
    """Support that began on 1 September, so the interim report is already due."""
    return started_offer(
        coordinator=coordinator, request=brokering_request, trust=lead_trust, leader=leader_profile
    )


@pytest.fixture
def funded(commission, coordinator, oa_stream):
    brokerage.commission_set_funding(
        commission=commission, actor=coordinator, allocations=[(oa_stream, Decimal("2000"))]
    )
    return commission


@pytest.fixture
def supporting_leader(commission, lead_trust):
    return add_supporting_leader(commission, lead_trust).leader.user


@pytest.fixture
def submitted(funded, leader, trust_lead, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return submitted_report(funded, leader, trust_lead)


@pytest.fixture
def draft(funded, leader):
    return drafted_report(funded, leader, kind="final")


# ============================================================ permission matrix

ROLES = (
    "coordinator",
    "qa_lead",
    "trust_lead",
    "leader",
    "supporting_leader",
    "school_contact",
    "neighbour_contact",
    "funder_viewer",
    "outsider",
    "anonymous",
)
# What a GET answers. The world: a funded commission with an interim report submitted (its
# PDF made) and the final report in draft. The lead trust and the Lead System Leader write;
# the QA lead reviews; PDFs go to the lead trust and the hub; funders have the funding return.
# fmt: off
EXPECTED = {
    #                       coord qa   trust lead supp school neigh funder outsider anon
    # The outsider sees a dashboard too: their own hub's, never this one (test_dashboard.py).
    "dashboard":            (200, 200, 200, 404, 404, 404, 404, 200, 200, 302),
    "report_list":          (200, 200, 200, 200, 200, 200, 200, 200, 200, 302),
    "report_start":         (405, 405, 405, 405, 405, 405, 405, 405, 405, 302),
    "report_detail":        (200, 200, 200, 200, 404, 404, 404, 404, 404, 302),
    "report_edit":          (403, 403, 200, 200, 404, 404, 404, 404, 404, 302),
    "report_submit":        (405, 405, 405, 405, 405, 405, 405, 405, 405, 302),
    "report_review":        (403, 200, 403, 403, 404, 404, 404, 404, 404, 302),
    "report_pdf":           (200, 200, 200, 404, 404, 404, 404, 404, 404, 302),
    "report_pdf_version":   (200, 200, 200, 404, 404, 404, 404, 404, 404, 302),
    "report_pdf_status":    (200, 200, 200, 200, 404, 404, 404, 404, 404, 302),
    "report_pdf_retry":     (405, 405, 405, 405, 405, 405, 405, 405, 405, 302),
    "spend_list":           (200, 200, 200, 200, 404, 404, 404, 404, 404, 302),
    "spend_delete":         (405, 405, 405, 405, 405, 405, 405, 405, 405, 302),
    "funding_return_csv":   (200, 200, 404, 404, 404, 404, 404, 200, 200, 302),
    "funding_return_xlsx":  (200, 200, 404, 404, 404, 404, 404, 200, 200, 302),
    "notification_list":    (200, 200, 200, 200, 200, 200, 200, 200, 200, 302),
    "notification_read":    (405, 405, 405, 405, 405, 405, 405, 405, 405, 302),
    "notification_read_all": (405, 405, 405, 405, 405, 405, 405, 405, 405, 302),
    "notification_preferences": (200, 200, 200, 200, 200, 200, 200, 200, 200, 302),
    "calendar_settings":    (200, 200, 200, 200, 200, 200, 200, 200, 200, 302),
    "personal_data":        (200, 200, 200, 200, 200, 200, 200, 200, 200, 302),
    "personal_data_download": (200, 200, 200, 200, 200, 200, 200, 200, 200, 302),
    "personal_data_for":    (405, 405, 405, 405, 405, 405, 405, 405, 405, 302),
    # The secret address is the key: a calendar app fetches it without signing in.
    "calendar_feed":        (200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
}
# fmt: on


def reporting_url_names():
    _, resolver = get_resolver().namespace_dict["reporting"]
    return {key for key in resolver.reverse_dict if isinstance(key, str)}


def test_every_reporting_url_is_in_the_permission_matrix():
    assert reporting_url_names() == set(EXPECTED)


@pytest.fixture
def matrix_urls(submitted, draft, supporting_leader, trust_lead):
    from reporting import services

    line = services.spend_add(
        allocation=submitted.commission.allocations.get(),
        actor=trust_lead,
        date=datetime.date(2026, 11, 2),
        amount=Decimal("120"),
        description="Cover",
    )
    commission = submitted.commission
    notification = Notification.objects.create(
        user=trust_lead, kind="due", title="Interim report due today", url="/reports/"
    )
    feed_token = calendar.feed_for(trust_lead).token
    args = {
        "dashboard": [],
        "report_list": [],
        "report_start": [deadline_of(commission).pk],
        "report_detail": [submitted.pk],
        "report_edit": [draft.pk],
        "report_submit": [draft.pk],
        "report_review": [submitted.pk],
        "report_pdf": [submitted.pk],
        "report_pdf_version": [submitted.pk, 1],
        "report_pdf_status": [submitted.pk],
        "report_pdf_retry": [submitted.pk],
        "spend_list": [commission.pk],
        "spend_delete": [commission.pk, line.pk],
        "funding_return_csv": [],
        "funding_return_xlsx": [],
        "notification_list": [],
        "notification_read": [notification.pk],
        "notification_read_all": [],
        "notification_preferences": [],
        "calendar_settings": [],
        "calendar_feed": [feed_token],
        "personal_data": [],
        "personal_data_download": [],
        "personal_data_for": [],
    }
    return {name: reverse(f"reporting:{name}", args=args[name]) for name in sorted(EXPECTED)}


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_what_the_permission_matrix_says(client, role, matrix_urls, request):
    if role != "anonymous":
        client.force_login(request.getfixturevalue(role))
    column = ROLES.index(role)
    wrong = {}
    for name, url in matrix_urls.items():
        response = client.get(url)
        if response.status_code != EXPECTED[name][column]:
            wrong[name] = (response.status_code, EXPECTED[name][column])
        if response.status_code == 302:
            assert response.url.startswith(f"{LOGIN}?next="), name
    assert wrong == {}, "name: (got, expected)"


@pytest.mark.parametrize(
    "person", ["outsider", "neighbour_contact", "funder_viewer", "supporting_leader"]
)
def test_posting_to_another_organisations_report_answers_404(client, person, matrix_urls, request):
    client.force_login(request.getfixturevalue(person))
    for name in ("report_start", "report_edit", "report_submit", "report_review", "spend_list",
                 "spend_delete"):  # fmt: skip
        response = client.post(matrix_urls[name], {**NARRATIVE, "decision": "approve"})
        assert response.status_code == 404, name
    assert ImpactReport.objects.filter(status="approved").count() == 0
    assert SpendLine.objects.count() == 1


# ======================================================================= journeys


def test_the_leader_drafts_and_the_trust_lead_submits(
    client, funded, leader, trust_lead, django_capture_on_commit_callbacks
):
    deadline = deadline_of(funded)
    client.force_login(leader)
    response = client.post(reverse("reporting:report_start", args=[deadline.pk]))
    report = ImpactReport.objects.get(deadline=deadline)
    assert response.url == report.get_absolute_url()
    response = client.post(reverse("reporting:report_edit", args=[report.pk]), NARRATIVE)
    assert response.status_code == 302
    page = client.get(report.get_absolute_url()).content.decode()
    assert NARRATIVE["summary"] in page
    assert "Submit to the hub for QA" not in page  # the leader does not submit
    assert "ask the lead trust to check and submit" in page

    client.force_login(trust_lead)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("reporting:report_submit", args=[report.pk]), follow=True)
    assert "Submitted to the hub for quality assurance" in response.content.decode()
    report.refresh_from_db()
    assert report.status == "submitted"
    pdf = client.get(reverse("reporting:report_pdf", args=[report.pk]))
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"].startswith('attachment; filename="interim-report-')
    assert b"".join(pdf.streaming_content)[:5] == b"%PDF-"


def test_submitting_an_unfinished_report_says_what_is_missing(client, funded, leader, trust_lead):
    report = drafted_report(funded, leader, evidence="")
    client.force_login(trust_lead)
    response = client.post(reverse("reporting:report_submit", args=[report.pk]), follow=True)
    assert "Write the evidence before submitting" in response.content.decode()
    report.refresh_from_db()
    assert report.status == "draft"


def test_qa_returns_with_comments_that_the_authors_see(client, submitted, qa_lead, leader):
    client.force_login(qa_lead)
    url = reverse("reporting:report_review", args=[submitted.pk])
    response = client.post(url, {"decision": "return", "comments": ""})
    assert "Say what needs to change" in response.content.decode()
    response = client.post(url, {"decision": "return", "comments": f"Add KS2 data {SCRIPT}"})
    assert response.status_code == 302

    client.force_login(leader)
    page = client.get(submitted.get_absolute_url()).content.decode()
    assert "Returned by Tom Okafor" in page
    assert "Add KS2 data &lt;script&gt;" in page and SCRIPT not in page
    assert "Edit the narrative" in page


def test_approving_needs_judgements_and_keeps_what_was_typed(client, submitted, qa_lead):
    client.force_login(qa_lead)
    url = reverse("reporting:report_review", args=[submitted.pk])
    response = client.post(url, {"decision": "approve", "comments": "Strong evidence base."})
    page = response.content.decode()
    assert "Judge the impact to approve the report." in page
    assert "Strong evidence base." in page  # nothing entered is lost
    response = client.post(url, {"decision": "approve", "impact": "strong",
                                 "value_for_money": "good", "comments": ""})  # fmt: skip
    assert response.status_code == 302
    submitted.refresh_from_db()
    assert (submitted.status, submitted.impact) == ("approved", "strong")


@pytest.mark.parametrize(
    "data",
    [
        {"decision": "approve", "impact": "stellar", "value_for_money": "good"},
        {"decision": "publish", "impact": "strong", "value_for_money": "good"},
        {"decision": "return", "comments": "x" * 20_001},
        {"decision": ["approve", "return"], "impact": "\x00", "value_for_money": "good"},
        {},
    ],
)
def test_malformed_reviews_are_refused_clearly(client, submitted, qa_lead, data):
    client.force_login(qa_lead)
    response = client.post(reverse("reporting:report_review", args=[submitted.pk]), data)
    assert response.status_code == 200
    assert "Please check what you entered" in response.content.decode()
    submitted.refresh_from_db()
    assert submitted.status == "submitted"


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("summary", "x" * 20_001, "at most 20000 characters"),
        ("evidence", "\x00null byte", "Null characters are not allowed"),
    ],
)
def test_hostile_narrative_is_refused_and_the_rest_kept(
    client, draft, leader, field, value, message
):
    client.force_login(leader)
    data = {**NARRATIVE, "barriers": f"Barriers {SCRIPT}", field: value}
    response = client.post(reverse("reporting:report_edit", args=[draft.pk]), data)
    page = response.content.decode()
    assert message in page
    assert "Barriers &lt;script&gt;" in page  # what was typed is still there
    draft.refresh_from_db()
    assert draft.barriers == NARRATIVE["barriers"]


def test_narrative_with_markup_is_shown_as_text(client, draft, leader):
    client.force_login(leader)
    client.post(
        reverse("reporting:report_edit", args=[draft.pk]), {**NARRATIVE, "summary": SCRIPT}
    )
    page = client.get(draft.get_absolute_url()).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and SCRIPT not in page


def test_a_submitted_report_cannot_be_edited_through_the_form(client, submitted, leader):
    client.force_login(leader)
    response = client.post(
        reverse("reporting:report_edit", args=[submitted.pk]), {**NARRATIVE, "summary": "Changed"}
    )
    assert response.status_code == 302
    submitted.refresh_from_db()
    assert submitted.summary == NARRATIVE["summary"]


def test_the_pdf_page_says_being_prepared_until_it_exists(client, funded, leader, trust_lead):
    report = submitted_report(funded, leader, trust_lead)  # the job is queued, not yet run
    client.force_login(trust_lead)
    page = client.get(report.get_absolute_url()).content.decode()
    assert "A new PDF is being prepared" in page
    assert client.get(reverse("reporting:report_pdf", args=[report.pk])).status_code == 404
    status = client.get(reverse("reporting:report_pdf_status", args=[report.pk])).json()
    assert status == {"pending": True, "url": None, "version": None}

    from reporting import services

    services.pdf_job_run(job_id=PdfJob.objects.get(report=report).pk)
    status = client.get(reverse("reporting:report_pdf_status", args=[report.pk])).json()
    assert status["pending"] is False and status["version"] == 1
    page = client.get(report.get_absolute_url()).content.decode()
    assert "being prepared" not in page and "Version 1" in page


# ============================================================================ spend


@pytest.mark.parametrize(
    "amount, message",
    [
        ("abc", "Enter a number."),
        ("-5", "greater than or equal to 0.01"),
        ("0", "greater than or equal to 0.01"),
        ("1e9", "less than or equal to 10000000"),
        ("12.345", "no more than 2 decimal places"),
        ("2000.01", "over its £2,000.00 allocation"),
    ],
)
def test_bad_spend_is_refused_with_a_reason_and_kept(client, funded, trust_lead, amount, message):
    client.force_login(trust_lead)
    url = reverse("reporting:spend_list", args=[funded.pk])
    response = client.post(url, {"allocation": funded.allocations.get().pk, "date": "2026-11-02",
                                 "amount": amount, "description": "Supply cover"})  # fmt: skip
    page = response.content.decode()
    assert response.status_code == 200
    assert message in page
    assert 'value="Supply cover"' in page
    assert not SpendLine.objects.exists()


def test_spend_cannot_name_another_commissions_funding(client, funded, trust_lead, other_hub):
    from brokerage.models import FundingAllocation

    client.force_login(trust_lead)
    elsewhere = FundingAllocation.objects.exclude(commission=funded).first()
    response = client.post(reverse("reporting:spend_list", args=[funded.pk]),
                           {"allocation": elsewhere.pk if elsewhere else 999999,
                            "date": "2026-11-02", "amount": "5", "description": "x"})  # fmt: skip
    assert "Select a valid choice" in response.content.decode()
    assert not SpendLine.objects.exists()


def test_spend_recorded_and_removed(client, funded, coordinator):
    client.force_login(coordinator)
    url = reverse("reporting:spend_list", args=[funded.pk])
    client.post(url, {"allocation": funded.allocations.get().pk, "date": "2026-11-02",
                      "amount": "1,250.50".replace(",", ""), "description": "Cover"})  # fmt: skip
    line = SpendLine.objects.get()
    page = client.get(url).content.decode()
    assert "£1,250.50" in page and "£749.50" in page  # spent and remaining
    client.post(reverse("reporting:spend_delete", args=[funded.pk, line.pk]))
    assert not SpendLine.objects.exists()
    assert line.history.first().history_type == "-"


def test_the_leader_sees_spend_but_cannot_record_it(client, funded, leader):
    client.force_login(leader)
    url = reverse("reporting:spend_list", args=[funded.pk])
    assert "Record spend" not in client.get(url).content.decode()
    response = client.post(url, {"allocation": funded.allocations.get().pk, "date": "2026-11-02",
                                 "amount": "5", "description": "x"})  # fmt: skip
    assert response.status_code == 404
    assert not SpendLine.objects.exists()


# ====================================================================== the list


def test_the_list_puts_overdue_reports_first_and_filters(
    client, funded, coordinator, leader, trust_lead
):
    d = datetime.date
    brokerage.commission_set_deadlines(
        commission=funded,
        actor=coordinator,
        deadlines=[("interim", d(2026, 11, 2)), ("interim", d(2026, 11, 20)),
                   ("final", d(2027, 4, 1))],
    )  # fmt: skip
    submitted_report(funded, leader, trust_lead)  # the 2 November report is in on time
    client.force_login(coordinator)

    def rows_for(**query):
        page = client.get(reverse("reporting:report_list"), query).content.decode()
        return page[page.index("<tbody>") : page.index("</tbody>")]

    rows = rows_for()
    # The 20 November report is late, so it leads though the 2 November one was due first.
    assert rows.index("20 Nov 2026") < rows.index("2 Nov 2026") < rows.index("1 Apr 2027")
    assert rows.count("Overdue") == 1
    assert "20 Nov 2026" in rows_for(status="not_started")
    assert "2 Nov 2026" not in rows_for(status="not_started")
    assert "2 Nov 2026" in rows_for(status="submitted")
    assert "Final report" not in rows_for(status="submitted")
    assert "Final report" not in rows_for(kind="interim")
    assert "Interim report" not in rows_for(due_after="2027-01-01")


def test_the_list_rejects_a_malformed_filter_without_failing(client, funded, coordinator):
    client.force_login(coordinator)
    hostile = {"due_after": "31/02/2026", "stream": "'; drop", "status": "x"}
    response = client.get(reverse("reporting:report_list"), hostile)
    assert response.status_code == 200
    assert "Enter a valid date." in response.content.decode()


def world_of_size(commission, leader, trust_lead, n):
    for i in range(n):
        objective = add_objective(commission, leader, title=f"Objective {i}")
        record_visit(lead_deployment(commission), date=datetime.date(2026, 10, 1 + i),
                     duration_hours=Decimal("1"), objective_ids=(objective.pk,),
                     progress=((objective.pk, "ok", "amber"),))  # fmt: skip


@pytest.mark.parametrize("n", [1, 12])
def test_report_pages_do_not_grow_queries_with_rows(
    client, funded, leader, trust_lead, coordinator, django_assert_max_num_queries, n
):
    world_of_size(funded, leader, trust_lead, n)
    report = drafted_report(funded, leader)
    client.force_login(trust_lead)
    with django_assert_max_num_queries(32):
        assert client.get(report.get_absolute_url()).status_code == 200
    client.force_login(coordinator)
    with django_assert_max_num_queries(16):
        assert client.get(reverse("reporting:report_list")).status_code == 200
    assert ReportFile.objects.count() == 0


def test_line_breaks_count_once_against_the_cap(client, draft, leader):
    """A browser shows 20,000 characters with 199 line breaks but sends 20,199."""
    client.force_login(leader)
    text = ("x" * 99 + "\r\n") * 199 + "x" * (20_000 - 100 * 199)
    response = client.post(reverse("reporting:report_edit", args=[draft.pk]),
                           {**NARRATIVE, "evidence": text})  # fmt: skip
    assert response.status_code == 302
    draft.refresh_from_db()
    assert len(draft.evidence) == 20_000 and "\r" not in draft.evidence


# ===================================================================== home pages


def test_each_role_home_shows_the_reports_to_act_on(
    client, funded, leader, trust_lead, qa_lead, coordinator, django_capture_on_commit_callbacks
):
    brokerage.commission_set_deadlines(
        commission=funded,
        actor=coordinator,
        deadlines=[("interim", datetime.date(2026, 11, 20)), ("final", datetime.date(2027, 4, 1))],
    )
    home = reverse("trust:home")
    client.force_login(leader)
    assert "Reports to write" in client.get(home, follow=True).content.decode()
    client.force_login(coordinator)
    page = client.get(home, follow=True).content.decode()
    assert "Reports overdue" in page and "Overdue" in page
    with django_capture_on_commit_callbacks(execute=True):
        report = submitted_report(funded, leader, trust_lead)
    client.force_login(qa_lead)
    page = client.get(home, follow=True).content.decode()
    assert "Reports waiting for your review" in page
    assert report.get_absolute_url() in page
    client.force_login(trust_lead)
    page = client.get(home, follow=True).content.decode()
    assert "Your reports" in page
    assert reverse("reporting:report_pdf", args=[report.pk]) in page


def test_a_pdf_that_failed_can_be_asked_for_again(client, funded, leader, trust_lead, monkeypatch,
                                                  django_capture_on_commit_callbacks):  # fmt: skip
    from reporting import services

    report = submitted_report(funded, leader, trust_lead)
    PdfJob.objects.filter(report=report).update(status="failed", attempts=5, error="Timeout")
    client.force_login(leader)
    page = client.get(report.get_absolute_url()).content.decode()
    assert "could not be made" not in page  # the leader does not get PDFs at all
    response = client.post(reverse("reporting:report_pdf_retry", args=[report.pk]))
    assert response.status_code == 403
    client.force_login(trust_lead)
    assert "could not be made" in client.get(report.get_absolute_url()).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("reporting:report_pdf_retry", args=[report.pk]))
    assert PdfJob.objects.get(report=report).status == "done"
    assert client.get(reverse("reporting:report_pdf", args=[report.pk])).status_code == 200
    assert services.pdf_jobs_sweep() == 0
