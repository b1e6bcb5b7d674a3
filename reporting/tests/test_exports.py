"""The funding-stream return, as CSV and Excel, against the real database.

The money is worked out by hand below; the exports must agree with it to the penny.
"""

from __future__ import annotations

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from brokerage import services as brokerage_services
from brokerage.models import FundingAllocation
from brokerage.tests.factories import (
    FundingStreamFactory,
    commission_via_services,
    request_via_services,
)
from deployments.tests.factories import lead_deployment, record_visit
from reporting import services
from reporting.exports import funding_return, neutralise
from reporting.tests.factories import approved_report, drafted_report
from trust.models import Role
from trust.tests.factories import FunderFactory, SchoolFactory, member, system_leader

CSV_URL = reverse("reporting:funding_return_csv")
XLSX_URL = reverse("reporting:funding_return_xlsx")

HEADERS = [
    "Funding stream",
    "Academic year",
    "Funder",
    "School",
    "URN",
    "Lead organisation",
    "Commission start",
    "Commission end",
    "Carry-forward",
    "Allocated (£)",
    "Spent (£)",
    "Remaining (£)",
    "Days allocated",
    "Days used",
    "Interim reports",
    "Final report",
    "QA impact judgement",
    "Value for money",
]
MONEY_COLUMNS = ("Allocated (£)", "Spent (£)", "Remaining (£)")


def today() -> datetime.date:
    return timezone.localdate()


def allocation(commission, stream) -> FundingAllocation:
    return FundingAllocation.objects.get(commission=commission, stream=stream)


def spend(commission, stream, amount: str, actor):
    return services.spend_add(
        allocation=allocation(commission, stream),
        actor=actor,
        date=today(),
        amount=Decimal(amount),
        description="Supply cover",
    )


def new_commission(*, coordinator, trust_lead, trust, hub, days="4", school_name=None):
    """Another commission in ``hub``, led by a fresh leader from ``trust``."""
    school = SchoolFactory(hub=hub, **({"name": school_name} if school_name else {}))
    leader = system_leader(SchoolFactory(hub=hub, parent_trust=trust))
    request = request_via_services(actor=coordinator, school=school)
    return commission_via_services(
        coordinator=coordinator,
        trust_lead=trust_lead,
        request=request,
        trust=trust,
        leader=leader,
        days=days,
    )


def csv_body(response) -> str:
    """The CSV file as sent: streamed, in UTF-8."""
    return b"".join(response.streaming_content).decode("utf-8")


def csv_rows(response) -> list[list[str]]:
    body = csv_body(response)
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def csv_return(response) -> tuple[list[dict], dict, list[dict], dict]:
    """The return's rows and totals, and the stream summary's rows and totals."""
    rows = csv_rows(response)
    assert rows[0] == HEADERS
    gap = rows.index([])
    main = [dict(zip(HEADERS, r, strict=True)) for r in rows[1:gap]]
    assert rows[gap + 1] == ["Stream summary"]
    summary_headers = rows[gap + 2]
    summary = [dict(zip(summary_headers, r, strict=True)) for r in rows[gap + 3 :]]
    return main[:-1], main[-1], summary[:-1], summary[-1]


def sheet_dicts(sheet) -> list[dict]:
    rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


# --------------------------------------------------------------------- the scenario


@pytest.fixture
def legacy_stream(hub, funder):
    """Last year's money from the same funder: drawn on as carry-forward."""
    return FundingStreamFactory(
        hub=hub,
        funder=funder,
        name="Opportunity Area",
        academic_year="2025-26",
        total_budget=Decimal("5000.00"),
    )


@pytest.fixture
def la_stream(hub):
    """Another funder's stream in the same hub: the OA funder must not see it."""
    return FundingStreamFactory(
        hub=hub,
        funder=FunderFactory(hub=hub, name="Leeds Council"),
        name="LA School Improvement",
        academic_year="2026-27",
        total_budget=Decimal("8000.00"),
    )


@pytest.fixture
def other_hub_stream(other_hub, other_trust, other_leader_profile, outsider):
    """Another hub's stream, with a commission of its own."""
    stream = FundingStreamFactory(
        hub=other_hub, name="Faraway Fund", academic_year="2026-27", total_budget=Decimal("900")
    )
    commission = commission_via_services(
        coordinator=outsider,
        trust_lead=member(Role.TRUST_LEAD, other_trust),
        request=request_via_services(
            actor=outsider, school=SchoolFactory(hub=other_hub, name="Distant Primary")
        ),
        trust=other_trust,
        leader=other_leader_profile,
    )
    brokerage_services.commission_set_funding(
        commission=commission, actor=outsider, allocations=[(stream, Decimal("777.77"))]
    )
    return stream


@pytest.fixture
def funded(
    hub,
    commission,
    coordinator,
    trust_lead,
    lead_trust,
    leader,
    qa_lead,
    oa_stream,
    legacy_stream,
    la_stream,
    other_hub_stream,
):
    """Two commissions in ``hub``:

    * Moorside (6 days) draws £3,000.00 from the OA 2026-27 stream and £1,200.50 carried
      forward from the OA 2025-26 stream; £1,000.25 + £499.75 spent from the first and
      £200.00 from the second; 6.5 + 3.25 hours visited = 1.5 days; interim report
      approved (strong, good value), final not started.
    * Second school (4 days) draws £2,500.00 from the council's stream; nothing spent,
      no visits, interim report drafted.
    """
    brokerage_services.commission_set_funding(
        commission=commission,
        actor=coordinator,
        allocations=[(oa_stream, Decimal("3000.00")), (legacy_stream, Decimal("1200.50"))],
    )
    spend(commission, oa_stream, "1000.25", coordinator)
    spend(commission, oa_stream, "499.75", coordinator)
    spend(commission, legacy_stream, "200.00", coordinator)
    deployment = lead_deployment(commission)
    record_visit(deployment, duration_hours=Decimal("6.5"))
    record_visit(deployment, duration_hours=Decimal("3.25"))
    approved_report(commission, leader, trust_lead, qa_lead)

    second = new_commission(
        coordinator=coordinator,
        trust_lead=trust_lead,
        trust=lead_trust,
        hub=hub,
        school_name="Zetland Primary",
    )
    brokerage_services.commission_set_funding(
        commission=second, actor=coordinator, allocations=[(la_stream, Decimal("2500.00"))]
    )
    drafted_report(second, lead_deployment(second).leader.user)
    return commission, second


# ------------------------------------------------------------------------- figures


def test_allocations_are_carry_forward_when_the_stream_is_last_years(funded, legacy_stream):
    commission, _ = funded
    assert allocation(commission, legacy_stream).carry_forward is True


def test_rows_and_totals_worked_by_hand(funded, coordinator):
    commission, _ = funded
    data = funding_return(coordinator)

    by_key = {(r["stream"], r["academic_year"], r["school"]): r for r in data.rows}
    assert set(by_key) == {
        ("Opportunity Area", "2026-27", "Moorside Primary School"),
        ("Opportunity Area", "2025-26", "Moorside Primary School"),
        ("LA School Improvement", "2026-27", "Zetland Primary"),
    }
    this_year = by_key["Opportunity Area", "2026-27", "Moorside Primary School"]
    assert this_year["carry_forward"] == "No"
    assert (this_year["allocated"], this_year["spent"], this_year["remaining"]) == (
        Decimal("3000.00"),
        Decimal("1500.00"),
        Decimal("1500.00"),
    )
    assert (this_year["days_allocated"], this_year["days_used"]) == (Decimal("6"), Decimal("1.5"))
    assert this_year["start"] == commission.start and this_year["end"] == commission.end
    assert this_year["lead_organisation"] == "Aire Valley Learning Trust"
    assert this_year["funder"] == "Bradford Opportunity Area"
    assert this_year["urn"] == commission.request.school.urn
    assert this_year["interim_reports"].startswith("Approved (due ")
    assert this_year["final_report"].startswith("Not started (due ")
    assert this_year["impact"] == "Strong"
    assert this_year["value_for_money"] == "Good value for money"

    carried = by_key["Opportunity Area", "2025-26", "Moorside Primary School"]
    assert carried["carry_forward"] == "Yes"
    assert (carried["allocated"], carried["spent"], carried["remaining"]) == (
        Decimal("1200.50"),
        Decimal("200.00"),
        Decimal("1000.50"),
    )

    council = by_key["LA School Improvement", "2026-27", "Zetland Primary"]
    assert (council["allocated"], council["spent"], council["remaining"]) == (
        Decimal("2500.00"),
        Decimal("0.00"),
        Decimal("2500.00"),
    )
    assert (council["days_allocated"], council["days_used"]) == (Decimal("4"), Decimal("0"))
    assert council["interim_reports"].startswith("Draft (due ")
    assert council["impact"] == council["value_for_money"] == ""

    # Moorside's days count once although it has two rows.
    assert data.total["allocated"] == Decimal("6700.50")
    assert data.total["spent"] == Decimal("1700.00")
    assert data.total["remaining"] == Decimal("5000.50")
    assert data.total["days_allocated"] == Decimal("10.0")
    assert data.total["days_used"] == Decimal("1.5")
    assert data.total["stream"] == "Total (2 commissions)"

    streams = {(s["stream"], s["academic_year"]): s for s in data.streams}
    assert set(streams) == {
        ("Opportunity Area", "2026-27"),
        ("Opportunity Area", "2025-26"),
        ("LA School Improvement", "2026-27"),
    }
    oa = streams["Opportunity Area", "2026-27"]
    assert (oa["budget"], oa["allocated"], oa["unallocated"], oa["spent"], oa["unspent"]) == (
        Decimal("10000.00"),
        Decimal("3000.00"),
        Decimal("7000.00"),
        Decimal("1500.00"),
        Decimal("1500.00"),
    )
    assert data.streams_total["budget"] == Decimal("23000.00")
    assert data.streams_total["allocated"] == data.total["allocated"]
    assert data.streams_total["unallocated"] == Decimal("16299.50")
    assert data.streams_total["spent"] == data.total["spent"]


def test_csv_parses_with_plain_numbers_and_totals(client, funded, coordinator):
    client.force_login(coordinator)
    response = client.get(CSV_URL)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="funding-return-{today().isoformat()}.csv"'
    )
    rows, total, streams, streams_total = csv_return(response)
    assert len(rows) == 3
    carried = next(r for r in rows if r["Carry-forward"] == "Yes")
    assert carried["Academic year"] == "2025-26"
    assert [carried[c] for c in MONEY_COLUMNS] == ["1200.50", "200.00", "1000.50"]
    assert carried["Days allocated"] == "6.0" and carried["Days used"] == "1.5"
    assert carried["Commission start"] == funded[0].start.isoformat()
    assert sum(Decimal(r["Allocated (£)"]) for r in rows) == Decimal(total["Allocated (£)"])
    assert [total[c] for c in MONEY_COLUMNS] == ["6700.50", "1700.00", "5000.50"]
    assert (total["Days allocated"], total["Days used"]) == ("10.0", "1.5")
    assert total["Funding stream"] == "Total (2 commissions)"
    assert total["School"] == ""

    assert len(streams) == 3
    la = next(s for s in streams if s["Funding stream"] == "LA School Improvement")
    assert la["Budget (£)"] == "8000.00" and la["Unallocated (£)"] == "5500.00"
    assert la["Commissions"] == "1"
    assert streams_total["Budget (£)"] == "23000.00"
    assert streams_total["Spent (£)"] == "1700.00"


def test_xlsx_numbers_are_numbers(client, funded, coordinator):
    client.force_login(coordinator)
    response = client.get(XLSX_URL)

    assert response.status_code == 200
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert response["Content-Disposition"] == (
        f'attachment; filename="funding-return-{today().isoformat()}.xlsx"'
    )
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["Funding return", "Streams"]
    sheet = book["Funding return"]
    assert [c.value for c in sheet[1]] == HEADERS
    assert all(c.font.bold for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["D"].width >= len("Moorside Primary School")

    rows = sheet_dicts(sheet)
    body, total = rows[:-1], rows[-1]
    carried = next(r for r in body if r["Carry-forward"] == "Yes")
    for column in (*MONEY_COLUMNS, "Days allocated", "Days used"):
        assert isinstance(carried[column], int | float), column
    assert [carried[c] for c in MONEY_COLUMNS] == pytest.approx([1200.50, 200.00, 1000.50])
    assert carried["Days used"] == pytest.approx(1.5)
    assert carried["Commission start"].date() == funded[0].start
    assert [total[c] for c in MONEY_COLUMNS] == pytest.approx([6700.50, 1700.00, 5000.50])
    assert total["Days allocated"] == pytest.approx(10)
    assert total["Days used"] == pytest.approx(1.5)

    money_cell = sheet.cell(row=2, column=HEADERS.index("Allocated (£)") + 1)
    assert money_cell.data_type == "n"
    assert "£" in money_cell.number_format
    date_cell = sheet.cell(row=2, column=HEADERS.index("Commission start") + 1)
    assert date_cell.is_date
    total_cell = sheet.cell(row=sheet.max_row, column=HEADERS.index("Spent (£)") + 1)
    assert total_cell.data_type == "n" and total_cell.font.bold

    streams = sheet_dicts(book["Streams"])
    assert streams[-1]["Budget (£)"] == pytest.approx(23000)
    assert streams[-1]["Unallocated (£)"] == pytest.approx(16299.50)
    assert all(isinstance(s["Budget (£)"], int | float) for s in streams)


def test_one_stream_only(client, funded, coordinator, legacy_stream):
    client.force_login(coordinator)
    response = client.get(CSV_URL, {"stream": legacy_stream.pk})

    rows, total, streams, _ = csv_return(response)
    assert [(r["Academic year"], r["Carry-forward"]) for r in rows] == [("2025-26", "Yes")]
    assert [total[c] for c in MONEY_COLUMNS] == ["1200.50", "200.00", "1000.50"]
    assert [s["Funding stream"] for s in streams] == ["Opportunity Area"]
    assert "funding-return-opportunity-area-2025-26-" in response["Content-Disposition"]


@pytest.mark.parametrize("value", ["abc", "1.5", "-1", "²", "9" * 30, "1e3"])
def test_a_garbage_stream_is_not_found(client, funded, coordinator, value):
    client.force_login(coordinator)
    assert client.get(CSV_URL, {"stream": value}).status_code == 404
    assert client.get(XLSX_URL, {"stream": value}).status_code == 404


def test_another_hubs_stream_is_not_found(client, funded, coordinator, other_hub_stream):
    client.force_login(coordinator)
    assert client.get(CSV_URL, {"stream": other_hub_stream.pk}).status_code == 404
    assert client.get(XLSX_URL, {"stream": other_hub_stream.pk}).status_code == 404


def test_an_empty_return_still_has_headers_and_zero_totals(client, coordinator):
    client.force_login(coordinator)
    rows, total, streams, _ = csv_return(client.get(CSV_URL))
    assert rows == [] and streams == []
    assert [total[c] for c in MONEY_COLUMNS] == ["0.00", "0.00", "0.00"]
    assert load_workbook(io.BytesIO(client.get(XLSX_URL).content))["Funding return"].max_row == 2


# ------------------------------------------------------------------------- access


@pytest.mark.parametrize("person", ["coordinator", "qa_lead"])
def test_hub_staff_see_every_stream_of_their_hub_only(client, funded, person, request):
    client.force_login(request.getfixturevalue(person))
    response = client.get(CSV_URL)
    assert response.status_code == 200
    rows, _, streams, _ = csv_return(response)
    assert {r["Funding stream"] for r in rows} == {"Opportunity Area", "LA School Improvement"}
    assert len(streams) == 3
    body = csv_body(client.get(CSV_URL))
    assert "Faraway" not in body and "Distant" not in body and "777.77" not in body
    assert "Faraway" not in str(
        [
            c.value
            for r in load_workbook(io.BytesIO(client.get(XLSX_URL).content)).active
            for c in r
        ]
    )


def test_the_other_hub_sees_only_its_own(client, funded, outsider):
    client.force_login(outsider)
    rows, total, streams, _ = csv_return(client.get(CSV_URL))
    assert [(r["Funding stream"], r["School"]) for r in rows] == [
        ("Faraway Fund", "Distant Primary")
    ]
    assert total["Allocated (£)"] == "777.77"
    assert [s["Funding stream"] for s in streams] == ["Faraway Fund"]


def test_a_funder_sees_only_its_own_streams(client, funded, funder_viewer, la_stream):
    client.force_login(funder_viewer)
    response = client.get(CSV_URL)
    assert response.status_code == 200
    rows, total, streams, _ = csv_return(response)
    assert {(r["Funding stream"], r["Academic year"]) for r in rows} == {
        ("Opportunity Area", "2026-27"),
        ("Opportunity Area", "2025-26"),
    }
    assert "Zetland" not in csv_body(client.get(CSV_URL))
    assert [total[c] for c in MONEY_COLUMNS] == ["4200.50", "1700.00", "2500.50"]
    assert total["Days allocated"] == "6.0"
    assert {s["Funding stream"] for s in streams} == {"Opportunity Area"}
    # Another funder's stream in the same hub is not there for them.
    assert client.get(CSV_URL, {"stream": la_stream.pk}).status_code == 404
    assert client.get(XLSX_URL).status_code == 200


@pytest.mark.parametrize("person", ["trust_lead", "school_contact", "leader", "neighbour_contact"])
def test_everyone_else_gets_404(client, funded, person, request):
    client.force_login(request.getfixturevalue(person))
    assert client.get(CSV_URL).status_code == 404
    assert client.get(XLSX_URL).status_code == 404


def test_anonymous_is_sent_to_log_in(client):
    for url in (CSV_URL, XLSX_URL):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


# ---------------------------------------------------------------- formula injection

PAYLOADS = ['=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)", "\tTabbed", "\rReturned"]


def test_neutralise():
    for payload in PAYLOADS:
        assert neutralise(payload) == "'" + payload
    assert neutralise("Moorside") == "Moorside"
    assert neutralise("Year 6 - reading") == "Year 6 - reading"


@pytest.fixture
def hostile(hub, funder, coordinator, commission, lead_trust):
    """Names that a spreadsheet would run as formulas, in every kind of text column."""
    school = commission.request.school
    school.name = '=HYPERLINK("http://x")'
    school.save(update_fields=["name"])
    funder.name = "+1"
    funder.save(update_fields=["name"])
    lead_trust.name = "-2+3"
    lead_trust.save(update_fields=["name"])
    stream = FundingStreamFactory(hub=hub, funder=funder, name="@SUM(A1)")
    brokerage_services.commission_set_funding(
        commission=commission, actor=coordinator, allocations=[(stream, Decimal("10.00"))]
    )
    return {
        "School": '=HYPERLINK("http://x")',
        "Funder": "+1",
        "Lead organisation": "-2+3",
        "Funding stream": "@SUM(A1)",
    }


def test_csv_neutralises_formulas(client, hostile, coordinator):
    client.force_login(coordinator)
    rows, _, streams, _ = csv_return(client.get(CSV_URL))
    for column, payload in hostile.items():
        assert rows[0][column] == "'" + payload
    assert streams[0]["Funding stream"] == "'@SUM(A1)"
    assert streams[0]["Funder"] == "'+1"


def test_xlsx_neutralises_formulas(client, hostile, coordinator):
    client.force_login(coordinator)
    book = load_workbook(io.BytesIO(client.get(XLSX_URL).content))
    for sheet in book:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", cell.coordinate
    sheet = book["Funding return"]
    for column, payload in hostile.items():
        cell = sheet.cell(row=2, column=HEADERS.index(column) + 1)
        assert cell.data_type == "s"
        assert cell.value == "'" + payload
    assert book["Streams"]["A2"].value == "'@SUM(A1)"


# ---------------------------------------------------------------------- query count


@pytest.mark.parametrize("person", ["coordinator", "funder_viewer"])
def test_queries_do_not_grow_with_rows(
    client,
    hub,
    coordinator,
    trust_lead,
    lead_trust,
    funder,
    person,
    request,
    django_assert_max_num_queries,
):
    stream = FundingStreamFactory(hub=hub, funder=funder, total_budget=Decimal("100000"))
    carried = FundingStreamFactory(hub=hub, funder=funder, academic_year="2025-26")

    def add(n):
        for _ in range(n):
            commission = new_commission(
                coordinator=coordinator, trust_lead=trust_lead, trust=lead_trust, hub=hub
            )
            brokerage_services.commission_set_funding(
                commission=commission,
                actor=coordinator,
                allocations=[(stream, Decimal("100")), (carried, Decimal("10"))],
            )
            spend(commission, stream, "12.34", coordinator)
            deployment = lead_deployment(commission)
            record_visit(deployment, duration_hours=Decimal("2"))
            drafted_report(commission, deployment.leader.user)

    client.force_login(request.getfixturevalue(person))
    add(2)
    with CaptureQueriesContext(connection) as two_csv:
        assert client.get(CSV_URL).status_code == 200
    with CaptureQueriesContext(connection) as two_xlsx:
        assert client.get(XLSX_URL).status_code == 200
    add(8)
    with django_assert_max_num_queries(len(two_csv)):
        response = client.get(CSV_URL)
    with django_assert_max_num_queries(len(two_xlsx)):
        assert client.get(XLSX_URL).status_code == 200
    rows, total, _, _ = csv_return(response)
    assert len(rows) == 20
    assert total["Allocated (£)"] == "1100.00" and total["Spent (£)"] == "123.40"


def test_the_stream_pages_link_to_the_return(client, funded, coordinator, oa_stream):
    client.force_login(coordinator)
    listing = client.get(reverse("brokerage:stream_list")).content.decode()
    assert CSV_URL in listing and XLSX_URL in listing
    detail = client.get(oa_stream.get_absolute_url()).content.decode()
    assert f"{XLSX_URL}?stream={oa_stream.pk}" in detail
    assert f"{CSV_URL}?stream={oa_stream.pk}" in detail
