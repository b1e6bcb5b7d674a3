"""The programme dashboard: what each audience sees, the filters, the charts, and a page cost
that does not grow with the programme."""

import datetime
import io
import re
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from brokerage.models import FundingAllocation, SupportRequest
from brokerage.tests.factories import (
    FundingStreamFactory,
    commission_via_services,
    request_via_services,
)
from deployments.tests.factories import add_objective, lead_deployment, record_visit
from reporting import charts
from reporting.management.commands.seed_scale import Builder
from reporting.models import SpendLine
from trust.models import Role
from trust.tests.factories import FunderFactory, SchoolFactory, TrustFactory, member

URL = reverse("reporting:dashboard")


def numbers_table(html: str, caption: str) -> str:
    """The table behind the chart titled ``caption``."""
    start = html.index(f'<caption class="visually-hidden">{caption}</caption>')
    return html[start : html.index("</table>", start)]


@pytest.fixture
def programme(
    coordinator, trust_lead, lead_trust, leader_profile, leader, supported_school, oa_stream
):
    """One commission of the hub, led by ``lead_trust``, paid from ``oa_stream`` with a
    carry-forward top-up, with two objectives and a visit."""
    request = request_via_services(actor=coordinator, school=supported_school)
    commission = commission_via_services(
        coordinator=coordinator,
        trust_lead=trust_lead,
        request=request,
        trust=lead_trust,
        leader=leader_profile,
        days="6",
        start=timezone.localdate() - datetime.timedelta(days=30),
        end=timezone.localdate() + datetime.timedelta(days=120),
    )
    earlier = FundingStreamFactory(
        hub=oa_stream.hub,
        funder=oa_stream.funder,
        name="Opportunity Area",
        academic_year="2025-26",
    )
    new = FundingAllocation.objects.create(commission=commission, stream=oa_stream, amount=5000)
    FundingAllocation.objects.create(
        commission=commission, stream=earlier, amount=1500, carry_forward=True
    )
    SpendLine.objects.create(
        allocation=new,
        date=timezone.localdate(),
        amount=Decimal("1250"),
        description="Supply cover",
        recorded_by=coordinator,
    )
    add_objective(commission, leader, title="Reading in KS2", rag="red")
    add_objective(commission, leader, title="Attendance", rag="green")
    record_visit(lead_deployment(commission), leader, duration_hours=Decimal("6.5"))
    return commission


# ------------------------------------------------------------------------ who sees what


@pytest.mark.parametrize("role", ["school_contact", "leader", "neighbour_contact"])
def test_people_without_a_programme_view_get_404(client, role, request, programme):
    client.force_login(request.getfixturevalue(role))
    assert client.get(URL).status_code == 404


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_hub_coordinator_sees_the_whole_programme(client, coordinator, programme):
    client.force_login(coordinator)
    html = client.get(URL).content.decode()
    assert "Three Rivers Hub" in html
    assert "Requests by state and age" in html
    assert "System leader capacity" in html
    # Money: new and carry-forward apart, and combined
    funding = numbers_table(html, "Funding allocated and spent by stream")
    assert "2026-27 Opportunity Area" in funding and "£5,000" in funding and "£1,250" in funding
    assert "2025-26 Opportunity Area (carry-forward)" in funding and "£1,500" in funding
    assert "£1,250 of £6,500" in html  # combined
    # One visit of 6.5 hours is one day used, of six allocated
    days = numbers_table(html, "Days allocated and used by lead organisation")
    assert "Aire Valley Learning Trust" in days
    assert re.search(r"<td[^>]*>6</td><td[^>]*>1</td>", days)
    rag = numbers_table(html, "Objectives by RAG rating")
    assert re.search(r"Red: off track</th><td[^>]*>1</td>", rag)
    assert re.search(r"Green: on track</th><td[^>]*>1</td>", rag)


def test_another_hubs_programme_never_appears(client, outsider, programme):
    client.force_login(outsider)
    html = client.get(URL).content.decode()
    assert "Moorside" not in html
    assert "Aire Valley" not in html
    assert "£5,000" not in html
    assert "Elsewhere Hub" in html


def test_trust_lead_sees_their_trusts_commissions_only(
    client, trust_lead, coordinator, programme, hub, other_trust_leader
):
    other_trust = TrustFactory(hub=hub, name="Calder Learning Partnership")
    other_lead = member(Role.TRUST_LEAD, other_trust)
    school = SchoolFactory(hub=hub, name="Hillside Academy")
    commission_via_services(
        coordinator=coordinator,
        trust_lead=other_lead,
        request=request_via_services(actor=coordinator, school=school),
        trust=other_trust,
        leader=other_trust_leader,
    )
    client.force_login(trust_lead)
    html = client.get(URL).content.decode()
    assert "the commissions your trust leads" in html
    assert "Calder Learning Partnership" not in html
    assert "Requests by state and age" not in html  # requests are the hub's business
    client.force_login(other_lead)
    html = client.get(URL).content.decode()
    assert "Calder Learning Partnership" in html
    assert "Aire Valley" not in html


def test_funder_sees_only_their_own_money(client, funder_viewer, programme, hub):
    other_funder = FunderFactory(hub=hub, name="Department for Education")
    dfe = FundingStreamFactory(
        hub=hub, funder=other_funder, name="Hub fund", academic_year="2026-27"
    )
    FundingAllocation.objects.create(commission=programme, stream=dfe, amount=Decimal("777"))
    client.force_login(funder_viewer)
    html = client.get(URL).content.decode()
    assert "your money only" in html
    assert "£5,000" in html
    assert "Hub fund" not in html and "£777" not in html
    assert "System leader capacity" not in html  # no names of people for funders
    assert f'href="{programme.get_absolute_url()}"' not in html  # figures, no links into work


# -------------------------------------------------------------------------- sections


def test_requests_are_counted_by_state_and_age(client, coordinator, supported_school):
    with time_machine.travel(timezone.now() - datetime.timedelta(days=40)):
        old = request_via_services(actor=coordinator, school=supported_school, status="triage")
    request_via_services(actor=coordinator, school=supported_school, status="triage")
    request_via_services(actor=coordinator, school=supported_school, status="brokering")
    client.force_login(coordinator)
    html = client.get(URL).content.decode()
    table = numbers_table(html, "Open requests by state and time in that state")
    # In triage: one under a week, none 1-4 weeks, one over 4 weeks; total 2
    assert re.search(
        r"In triage</th><td[^>]*>1</td><td[^>]*>0</td><td[^>]*>1</td><td[^>]*>2</td>", table
    )
    assert re.search(r"Brokering</th><td[^>]*>1</td>", table)
    assert "40 days" in html  # the longest wait in triage
    assert SupportRequest.objects.get(pk=old.pk).status == "triage"


def test_overdue_and_due_reports_are_listed(client, coordinator, programme):
    deadline = programme.deadlines.order_by("due").first()
    deadline.due = timezone.localdate() - datetime.timedelta(days=3)
    deadline.save()
    client.force_login(coordinator)
    html = client.get(URL).content.decode()
    assert "Overdue by 3 days" in html


def test_over_committed_leader_is_named_in_words(client, coordinator, programme, leader_profile):
    leader_profile.capacity_days_per_term = Decimal("1")
    leader_profile.save()
    client.force_login(coordinator)
    html = client.get(URL).content.decode()
    assert "1 over-committed." in html
    assert "Over capacity" in html  # not by colour alone


# --------------------------------------------------------------------------- filters


def test_filters_narrow_the_programme_and_live_in_the_url(
    client, coordinator, programme, hub, trust_lead, lead_trust, other_trust_leader
):
    from trust.tests.factories import ClusterFactory

    bradford = SchoolFactory(
        hub=hub, name="Bradford Moor", local_authority="Bradford", cluster=ClusterFactory(hub=hub)
    )
    commission_via_services(
        coordinator=coordinator,
        trust_lead=trust_lead,
        request=request_via_services(actor=coordinator, school=bradford),
        trust=lead_trust,
        leader=other_trust_leader,
        days="9",
    )
    client.force_login(coordinator)
    everything = client.get(URL).content.decode()
    assert "of 15 allocated" in everything
    narrowed = client.get(URL, {"la": "Bradford"}).content.decode()
    assert "of 9 allocated" in narrowed
    assert "Showing local authority Bradford" in narrowed
    by_stream = client.get(URL, {"stream": programme.allocations.first().stream_id})
    assert "of 6 allocated" in by_stream.content.decode()


def test_bad_filter_values_are_explained_and_ignored(client, coordinator, programme, other_hub):
    from trust.tests.factories import ClusterFactory

    foreign = ClusterFactory(hub=other_hub, name="Faraway cluster")
    client.force_login(coordinator)
    response = client.get(
        URL, {"year": "<script>alert(1)</script>", "cluster": foreign.pk, "stream": "x"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Select a valid choice" in html
    assert "<script>alert(1)</script>" not in html
    assert "Faraway cluster" not in html
    assert "of 6 allocated" in html  # the whole programme, as if unfiltered


# ----------------------------------------------------------------------------- charts


def test_charts_carry_title_description_and_escaped_labels():
    chart = charts.bars(
        "Days <by> trust",
        "A description & more",
        ["<script>x</script>", "Calder"],
        [charts.Series("Allocated", [3, 4]), charts.Series("Used", [1, 2])],
    )
    svg = str(chart.svg)
    assert 'role="img"' in svg and "<title id=" in svg and "<desc id=" in svg
    assert "Days &lt;by&gt; trust" in svg and "A description &amp; more" in svg
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "style=" not in svg  # nothing for a strict CSP to block
    assert chart.table_head == ["Allocated", "Used"]
    assert chart.table_rows == [("<script>x</script>", ["3", "1"]), ("Calder", ["4", "2"])]
    # The two series differ in pattern as well as colour (greyscale and colour-blind)
    assert chart.series[0].pattern != chart.series[1].pattern
    assert "<pattern" in svg


def test_two_charts_on_a_page_never_share_ids():
    a = charts.bars("Same", "d", ["x"], [charts.Series("A", [1]), charts.Series("B", [2])])
    b = charts.bars("Same", "d", ["x"], [charts.Series("A", [1]), charts.Series("B", [2])])
    ids_a = set(re.findall(r'id="([^"]+)"', str(a.svg)))
    ids_b = set(re.findall(r'id="([^"]+)"', str(b.svg)))
    assert ids_a and not ids_a & ids_b


def test_stacked_chart_totals_each_row():
    chart = charts.bars(
        "Requests", "d", ["Triage"], [charts.Series("new", [2]), charts.Series("old", [3])],
        stacked=True,
    )  # fmt: skip
    assert chart.table_head == ["new", "old", "Total"]
    assert chart.table_rows == [("Triage", ["2", "3", "5"])]
    assert ">5</text>" in str(chart.svg)


def test_an_empty_chart_says_so(client, coordinator):
    client.force_login(coordinator)
    html = client.get(URL).content.decode()
    assert "No visits in the last 13 weeks." in html
    assert "No objectives yet." in html


# -------------------------------------------------------------------- cost and scale


def build_scale(hub, coordinator, **sizes):
    Builder(hub, {"seed": 7, **sizes}, coordinator=coordinator).build()


@pytest.mark.parametrize("email_role", ["coordinator", "trust_lead", "funder_viewer"])
def test_dashboard_queries_do_not_grow_with_the_programme(
    client, django_assert_max_num_queries, hub, coordinator, email_role, request, funder
):
    user = request.getfixturevalue(email_role)
    build_scale(hub, coordinator, schools=12, visits=20, leaders=4, commissions=4)
    trust = user.memberships.first().organisation
    if email_role == "trust_lead":  # give the fixture trust a share of the scale data
        from brokerage.models import Commission

        for commission in Commission.objects.all()[:2]:
            commission.lead_organisation = trust
            commission.save()
    client.force_login(user)
    with django_assert_max_num_queries(30) as small:
        assert client.get(URL).status_code == 200
    build_scale(hub, coordinator, schools=80, visits=600, leaders=30, commissions=60, tag="b")
    with django_assert_max_num_queries(30) as large:
        assert client.get(URL).status_code == 200
    assert len(large.captured_queries) == len(small.captured_queries)


def test_seed_scale_builds_the_programme_size_asked_for(db):
    from deployments.models import Visit
    from trust import demo
    from trust.models import Organisation

    demo.seed()  # the demo hub and accounts (the rest of seed_demo is not needed here)

    out = io.StringIO()
    call_command("seed_scale", schools=40, visits=300, leaders=12, commissions=20, stdout=out)
    assert "Scale data ready" in out.getvalue()
    scale_schools = Organisation.objects.filter(kind="school", cluster__name__startswith="Scale ")
    assert scale_schools.count() == 40
    assert Visit.objects.count() >= 300
    with pytest.raises(Exception, match="already has seed_scale data"):
        call_command("seed_scale", schools=5, visits=5, leaders=2, commissions=2)


def test_seed_scale_rejects_nonsense_sizes(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--visits must be at least 1"):
        call_command("seed_scale", visits=0)
    with pytest.raises(CommandError, match="At most four commissions per school"):
        call_command("seed_scale", schools=1, commissions=50)


# ---------------------------------------------------------------------------- caching


@pytest.fixture
def real_cache(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    from django.core.cache import cache

    cache.clear()
    yield cache
    cache.clear()


def test_figures_are_shared_for_a_few_minutes_and_recalculated_on_request(
    client, coordinator, qa_lead, programme, real_cache, django_assert_max_num_queries
):
    client.force_login(coordinator)
    first = client.get(URL).content.decode()
    assert "of 6 allocated" in first
    programme.days_allocated = Decimal("9")
    programme.save()
    # The QA lead of the same hub is served the same computed figures, with fewer queries
    client.force_login(qa_lead)
    with django_assert_max_num_queries(13):  # the filter form's choices, no figures
        cached = client.get(URL).content.decode()
    assert "of 6 allocated" in cached
    assert '<section aria-labelledby="glance"' in cached  # served as HTML, not escaped text
    assert "<svg" in cached
    assert "Figures as of" in cached and "Recalculate now" in cached
    fresh = client.get(URL, {"refresh": "1"}).content.decode()
    assert "of 9 allocated" in fresh
    assert "of 9 allocated" in client.get(URL).content.decode()  # and shared from then on


def test_cached_figures_never_cross_to_another_scope(
    client, coordinator, outsider, trust_lead, programme, real_cache
):
    client.force_login(coordinator)
    assert "Aire Valley" in client.get(URL).content.decode()
    client.force_login(outsider)
    assert "Aire Valley" not in client.get(URL).content.decode()
    client.force_login(trust_lead)
    html = client.get(URL).content.decode()
    assert "Requests by state and age" not in html  # not the hub's cached page
    client.force_login(coordinator)
    assert "Aire Valley" not in client.get(URL, {"year": "2025-26"}).content.decode()
