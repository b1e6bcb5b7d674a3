"""A report's figures against a hand-worked example.

The support ran from 1 September 2026 to 31 March 2027 with 6 days; interim reports were due
on 16 October and 20 November, the final on 28 April 2027. Money came from this year's
Opportunity Area stream (£6,000) and £2,500 carried forward from last year's. The clock
stands on Monday 30 November 2026; a working day is 6.5 hours.

    visits   1 Oct  3 h    objective A amber "Better"   (interim 1)
             1 Nov  6.5 h  objective A green, safeguarding concern   (interim 2)
            25 Nov  2 h    after both interims   (final only)
    spend   15 Sep  £1,000 new      20 Sep £2,000 carry-forward
             5 Nov  £500 new        24 Nov £250 new
"""

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from brokerage import services as brokerage
from brokerage.models import ReportingDeadline
from brokerage.tests.factories import FundingStreamFactory, offer_via_services
from deployments.tests.factories import add_objective, lead_deployment, record_visit
from reporting import figures, services
from reporting.tests.factories import drafted_report

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")


def at(day: datetime.date, hour=10):
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=LONDON)


D = datetime.date


@pytest.fixture
def story(time_machine, coordinator, brokering_request, lead_trust, leader_profile, trust_lead,
          funder, hub):  # fmt: skip
    time_machine.move_to(at(D(2026, 8, 28)), tick=False)
    offer = offer_via_services(
        coordinator=coordinator,
        request=brokering_request,
        trust=lead_trust,
        leader=leader_profile,
        start=D(2026, 9, 1),
        end=D(2027, 3, 31),
    )
    commission = brokerage.offer_accept(
        offer=offer,
        actor=trust_lead,
        lead=brokerage.LeaderDays(leader_profile, Decimal("6"), True),
        supporting=[],
        today=D(2026, 8, 28),
    )
    new = FundingStreamFactory(hub=hub, funder=funder, name="Opportunity Area",
                               academic_year="2026-27", total_budget=Decimal("50000"))  # fmt: skip
    old = FundingStreamFactory(hub=hub, funder=funder, name="Opportunity Area",
                               academic_year="2025-26", total_budget=Decimal("9000"))  # fmt: skip
    brokerage.commission_set_funding(
        commission=commission,
        actor=coordinator,
        allocations=[(new, Decimal("6000")), (old, Decimal("2500"))],
    )
    brokerage.commission_set_deadlines(
        commission=commission,
        actor=coordinator,
        deadlines=[
            ("interim", D(2026, 10, 16)),
            ("interim", D(2026, 11, 20)),
            ("final", D(2027, 4, 28)),
        ],
    )
    leader = leader_profile.user
    deployment = lead_deployment(commission)
    allocation = {a.carry_forward: a for a in commission.allocations.all()}

    time_machine.move_to(at(D(2026, 9, 2)), tick=False)
    a = add_objective(commission, leader, title="Reading fluency", rag="red")
    b = add_objective(commission, leader, title="Maths reasoning", rag="")
    for day, amount, cf in [(D(2026, 9, 15), "1000", False), (D(2026, 9, 20), "2000", True)]:
        time_machine.move_to(at(day), tick=False)
        services.spend_add(allocation=allocation[cf], actor=trust_lead, date=day,
                           amount=Decimal(amount), description="Supply cover")  # fmt: skip
    time_machine.move_to(at(D(2026, 10, 1)), tick=False)
    record_visit(deployment, date=D(2026, 10, 1), duration_hours=Decimal("3"),
                 objective_ids=(a.pk, b.pk), progress=((a.pk, "Better", "amber"),))  # fmt: skip
    time_machine.move_to(at(D(2026, 11, 1)), tick=False)
    record_visit(deployment, date=D(2026, 11, 1), duration_hours=Decimal("6.5"),
                 objective_ids=(a.pk,), progress=((a.pk, "Pupil named", "green"),),
                 safeguarding_concern=True, summary="Named pupil disclosed at break.")  # fmt: skip
    time_machine.move_to(at(D(2026, 11, 5)), tick=False)
    services.spend_add(allocation=allocation[False], actor=coordinator, date=D(2026, 11, 5),
                       amount=Decimal("500"), description="Training")  # fmt: skip
    time_machine.move_to(at(D(2026, 11, 25)), tick=False)
    record_visit(deployment, date=D(2026, 11, 25), duration_hours=Decimal("2"))
    time_machine.move_to(at(D(2026, 11, 24)), tick=False)
    services.spend_add(allocation=allocation[False], actor=trust_lead, date=D(2026, 11, 24),
                       amount=Decimal("250"), description="Resources")  # fmt: skip
    time_machine.move_to(at(D(2026, 11, 30)), tick=False)
    deadlines = list(commission.deadlines.order_by("due"))
    return commission, deadlines


def test_first_interim_covers_the_start_to_its_due_date(story):
    _, (first, _, _) = story
    fig = figures.compute(first)

    assert fig["period"] == {"start": "2026-09-01", "end": "2026-10-16"}
    assert [v["date"] for v in fig["visits"]] == ["2026-10-01"]
    assert fig["days"]["allocated"] == "6.0"
    assert fig["days"]["used_in_period"] == "0.5"  # 3 h / 6.5
    assert fig["days"]["used_to_date"] == "0.5"
    assert fig["days"]["remaining"] == "5.5"
    reading, maths = fig["objectives"]
    # Reading fluency was added red on 2 September (after the period began) and is green now.
    assert (reading["rag_start"], reading["rag_now"]) == ("red", "green")
    assert reading["visits"] == [
        {"date": "2026-10-01", "mode": "In person", "note": "Better", "rag": "amber"}
    ]
    assert (maths["rag_start"], maths["rag_now"]) == ("", "")
    assert [v["date"] for v in maths["visits"]] == ["2026-10-01"]


def test_money_shows_carry_forward_apart_and_combined(story):
    _, (first, _, _) = story
    funding = figures.compute(first)["funding"]

    by_year = {s["academic_year"]: s for s in funding["streams"]}
    assert by_year["2026-27"]["carry_forward"] is False
    assert by_year["2025-26"]["carry_forward"] is True
    assert (by_year["2026-27"]["allocated"], by_year["2026-27"]["spent"]) == ("6000.00", "1000.00")
    assert by_year["2025-26"]["remaining"] == "500.00"
    assert funding["carry_forward"] == {
        "allocated": "2500.00", "spent_in_period": "2000.00", "spent": "2000.00",
        "remaining": "500.00",
    }  # fmt: skip
    assert funding["new"]["spent"] == "1000.00"
    assert funding["total"] == {
        "allocated": "8500.00", "spent_in_period": "3000.00", "spent": "3000.00",
        "remaining": "5500.00",
    }  # fmt: skip


def test_second_interim_starts_after_the_first_and_withholds_safeguarding_detail(story):
    _, (_, second, _) = story
    fig = figures.compute(second)

    assert fig["period"] == {"start": "2026-10-17", "end": "2026-11-20"}
    [visit] = fig["visits"]
    assert visit["date"] == "2026-11-01"
    assert visit["summary"] == figures.WITHHELD
    assert "Named pupil" not in str(fig)  # neither the summary nor the progress note
    assert fig["days"]["used_in_period"] == "1.0"
    assert fig["days"]["used_to_date"] == "1.5"  # 9.5 h / 6.5
    reading = fig["objectives"][0]
    assert reading["rag_start"] == "amber"  # as it stood on 17 October
    assert fig["funding"]["total"]["spent_in_period"] == "500.00"
    assert fig["funding"]["total"]["spent"] == "3500.00"


def test_final_report_covers_the_whole_commission(story):
    _, (_, _, final) = story
    fig = figures.compute(final)

    assert fig["kind"] == ReportingDeadline.Kind.FINAL
    assert fig["period"] == {"start": "2026-09-01", "end": "2027-04-28"}
    assert [v["date"] for v in fig["visits"]] == ["2026-10-01", "2026-11-01", "2026-11-25"]
    assert fig["days"]["used_to_date"] == "1.8"  # 11.5 h / 6.5
    assert fig["days"]["leaders"][0]["used_to_date"] == "1.8"
    assert fig["funding"]["total"]["spent"] == "3750.00"
    assert fig["funding"]["total"]["remaining"] == "4750.00"
    assert fig["funding"]["new"]["spent"] == "1750.00"


def test_submission_freezes_the_figures(
    story, leader, trust_lead, django_capture_on_commit_callbacks
):
    commission, (first, _, _) = story
    report = drafted_report(commission, leader)
    assert report.deadline == first
    with django_capture_on_commit_callbacks(execute=True):
        report = services.report_submit(report=report, actor=trust_lead)
    frozen = report.snapshot

    # A late visit dated inside the period and new spend arrive after submission.
    record_visit(lead_deployment(commission), date=D(2026, 10, 2), duration_hours=Decimal("6.5"))
    allocation = commission.allocations.get(carry_forward=False)
    services.spend_add(allocation=allocation, actor=trust_lead, date=D(2026, 10, 3),
                       amount=Decimal("99"), description="Late invoice")  # fmt: skip

    report.refresh_from_db()
    assert report.snapshot == frozen
    assert report.snapshot["days"]["used_to_date"] == "0.5"
    assert report.snapshot["narrative"][0] == ["summary of impact", report.summary]
    assert figures.compute(first)["days"]["used_to_date"] == "1.5"  # the live figure moved
