"""Every list: filters, pagination that keeps them, bookmarkable addresses, and the CSV
export of everything the filters select, for the people who may see it and nobody else.

The lists: requests (the pipeline), commissions, deployments, visits, reports,
organisations and system leaders. Each offers "Export CSV": the same address with
``format=csv`` added. The clock is fixed on Monday 30 November 2026.
"""

import csv
import datetime
import io
import re
from decimal import Decimal
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from brokerage import services as brokerage_services
from brokerage.tests.factories import (
    FundingStreamFactory,
    commission_via_services,
    request_via_services,
)
from deployments.exports import visit_rows
from deployments.models import Visit
from deployments.selectors import WITHHELD, visit_list_for
from deployments.tests.factories import add_supporting_leader, lead_deployment, record_visit
from trust.models import Role
from trust.tests.factories import (
    ClusterFactory,
    SchoolFactory,
    UserFactory,
    member,
    system_leader,
)

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
TODAY = datetime.date(2026, 11, 30)
BOM = "\ufeff"

# Each list, with the filters that show the rows the tests make (the pipeline shows open
# requests unless asked; the organisation list shows hubs and trusts too).
LISTS = {
    "requests": ("brokerage:pipeline", {"status": "commissioned"}),
    "commissions": ("brokerage:commission_list", {}),
    "deployments": ("deployments:deployment_list", {}),
    "visits": ("deployments:visit_list", {}),
    "reports": ("reporting:report_list", {}),
    "organisations": ("trust:organisation_list", {"kind": "school"}),
    "leaders": ("trust:leader_list", {}),
}


@pytest.fixture(autouse=True)
def fixed_today(time_machine):
    time_machine.move_to(datetime.datetime(2026, 11, 30, 10, 0, tzinfo=LONDON), tick=False)


def days_ago(n):
    return TODAY - datetime.timedelta(days=n)


def list_url(name, **params):
    url_name, base = LISTS[name]
    query = "&".join(f"{k}={v}" for k, v in {**base, **params}.items())
    return reverse(url_name) + (f"?{query}" if query else "")


def csv_of(response) -> list[dict]:
    """The rows of a CSV export, read as a spreadsheet would (after the byte-order mark)."""
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.streaming
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith(BOM)
    return list(csv.DictReader(io.StringIO(text[len(BOM) :])))


def export_href(html: str) -> str:
    return unescape(re.search(r'href="([^"]*format=csv[^"]*)"[^>]*>Export CSV', html).group(1))


def next_href(html: str) -> str | None:
    found = re.search(r'href="([^"]+)">Next<', html)
    return unescape(found.group(1)) if found else None


@pytest.fixture
def make(hub, cluster, coordinator, trust_lead, lead_trust):
    """``make(n)`` adds n commissions in the hub, each at a new school in the cluster with a
    new leader from the lead trust and one visit recorded by that leader."""
    made = []

    def add(n, **school_fields):
        for _ in range(n):
            number = len(made) + 1
            school = SchoolFactory(
                hub=hub,
                **{"name": f"Listed School {number:02d}", "cluster": cluster, **school_fields},
            )
            leader = system_leader(SchoolFactory(hub=hub, parent_trust=lead_trust))
            commission = commission_via_services(
                coordinator=coordinator,
                trust_lead=trust_lead,
                request=request_via_services(actor=coordinator, school=school),
                trust=lead_trust,
                leader=leader,
                start=days_ago(60),
            )
            record_visit(
                lead_deployment(commission),
                date=days_ago(number % 50),
                summary=f"Visit to school {number:02d}",
            )
            made.append(commission)
        return made

    return add


@pytest.fixture
def elsewhere(other_hub, other_school, other_trust, outsider):
    """A commission, visit and report deadline at another hub, with names to look for."""
    trust_lead = member(Role.TRUST_LEAD, other_trust)
    leader = system_leader(SchoolFactory(hub=other_hub, parent_trust=other_trust))
    leader.user.full_name = "Faraway Leader"
    leader.user.save(update_fields=["full_name"])
    ClusterFactory(hub=other_hub, name="Faraway Cluster")
    commission = commission_via_services(
        coordinator=outsider,
        trust_lead=trust_lead,
        request=request_via_services(actor=outsider, school=other_school),
        trust=other_trust,
        leader=leader,
        start=days_ago(60),
    )
    record_visit(lead_deployment(commission), date=days_ago(3), summary="Faraway secret")
    return commission


# ============================================================== fixed query counts

# The most queries a page or its export may make, whatever the number of rows (an export
# also writes its audit log row).
# fmt: off
CAPS = {
    #                page csv
    "requests":      (14, 10),
    "commissions":   (16, 12),
    "deployments":   (14, 10),
    "visits":        (16, 12),
    "reports":       (14, 10),
    "organisations": (12, 9),
    "leaders":       (13, 10),
}
# fmt: on


def count(client, url, *, export=False):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
        rows = csv_of(response) if export else None
    if not export:
        assert response.status_code == 200
    return len(captured), rows


@pytest.mark.parametrize("name", sorted(LISTS))
def test_each_list_and_its_export_make_the_same_queries_for_2_or_30_rows(
    client, name, make, coordinator, django_assert_max_num_queries
):
    client.force_login(coordinator)
    page_cap, csv_cap = CAPS[name]
    make(2)
    page_few, _ = count(client, list_url(name))
    csv_few, rows = count(client, list_url(name, format="csv"), export=True)
    assert len(rows) >= 2
    make(28)
    with django_assert_max_num_queries(page_cap):
        page_many, _ = count(client, list_url(name))
    with django_assert_max_num_queries(csv_cap):
        csv_many, rows = count(client, list_url(name, format="csv"), export=True)
    assert len(rows) >= 30  # all of them, not just the first page
    assert (page_many, csv_many) == (page_few, csv_few)


# ================================================================ other hubs' rows


@pytest.mark.parametrize("name", sorted(LISTS))
def test_another_hubs_rows_never_appear_in_a_list_or_its_export(
    client, name, make, elsewhere, coordinator, outsider
):
    make(2)
    client.force_login(coordinator)
    page = client.get(list_url(name))
    exported = str(csv_of(client.get(list_url(name, format="csv"))))
    assert "Listed School 01" in page.text or "Listed School" in exported or name == "leaders"
    for text in (page.text, exported):
        assert "Faraway" not in text
    client.force_login(outsider)
    page = client.get(list_url(name))
    exported = str(csv_of(client.get(list_url(name, format="csv"))))
    for text in (page.text, exported):
        assert "Listed School" not in text
        assert "Visit to school" not in text


# ============================================================= hostile filter values

HOSTILE = [
    "cluster=abc",
    "cluster=-1",
    "cluster=99999999999999999999999",
    "q=" + "x" * 5000,
    "q=nul%00l",
    "q=%27%20OR%201%3D1%20--",
    "local_authority=%ff%fe%ed%a0%80",
    "academic_year=2026-27%27;drop",
    "date_from=31/02/2026",
    "date_to=9999999-01-01",
    "status=%3Cscript%3Ealert(1)%3C/script%3E",
    "page=-5",
    "page=99999",
]


@pytest.mark.parametrize("query", HOSTILE)
@pytest.mark.parametrize("name", sorted(LISTS))
def test_hostile_filter_values_get_a_page_not_an_error(client, name, query, make, coordinator):
    make(1)
    client.force_login(coordinator)
    response = client.get(reverse(LISTS[name][0]), QUERY_STRING=query)
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in response.text
    exported = client.get(reverse(LISTS[name][0]), QUERY_STRING=query + "&format=csv", follow=True)
    assert exported.status_code == 200


@pytest.mark.parametrize("name", sorted(LISTS))
def test_another_hubs_cluster_is_refused_with_a_message_and_nothing_exported(
    client, name, make, elsewhere, coordinator
):
    make(1)
    theirs = elsewhere.request.hub.clusters.get()
    client.force_login(coordinator)
    page = client.get(list_url(name, cluster=theirs.pk))
    assert page.status_code == 200
    assert "Select a valid choice" in page.text
    assert "Faraway" not in page.text
    refused = client.get(list_url(name, cluster=theirs.pk, format="csv"), follow=True)
    assert refused.redirect_chain == [(list_url(name, cluster=theirs.pk), 302)]
    assert refused["Content-Type"].startswith("text/html")
    assert "Nothing was exported: correct the filters marked below first." in refused.text
    assert "Select a valid choice" in refused.text


def test_a_from_date_after_the_to_date_is_explained(client, make, coordinator):
    make(1)
    client.force_login(coordinator)
    page = client.get(list_url("visits", date_from="2026-11-20", date_to="2026-11-01"))
    assert "This date is before the “from” date." in page.text


# ================================================= pagination, bookmarks and export


def test_visit_filters_survive_pagination_bookmarking_and_export(client, make, coordinator, hub):
    deployment = lead_deployment(make(2)[0])
    for i in range(50):
        record_visit(
            deployment,
            date=days_ago(i + 1),
            mode="virtual" if i % 2 else "in_person",
            summary=f"Numbered visit {i}",
        )
    virtual = set(Visit.objects.filter(mode="virtual").values_list("pk", flat=True))
    assert len(virtual) == 25
    client.force_login(coordinator)

    narrow = client.get(list_url("visits", mode="virtual", date_from=days_ago(30).isoformat()))
    assert {v.pk for v in narrow.context["page_obj"]} == set(
        Visit.objects.filter(mode="virtual", date__gte=days_ago(30)).values_list("pk", flat=True)
    )
    assert narrow.context["page_obj"].paginator.count == 15
    assert next_href(narrow.text) is None

    first = client.get(list_url("visits", mode="virtual"))
    assert first.context["page_obj"].paginator.count == 25
    following = next_href(first.text)
    assert "mode=virtual" in following and "page=2" in following
    second = client.get(reverse("deployments:visit_list") + following)
    on_pages = [v.pk for v in first.context["page_obj"]] + [
        v.pk for v in second.context["page_obj"]
    ]
    assert len(on_pages) == 25 and set(on_pages) == virtual

    # The address is the view: a colleague signed in with the same rights sees the same.
    colleague = Client()
    colleague.force_login(member(Role.HUB_COORDINATOR, hub))
    again = colleague.get(reverse("deployments:visit_list") + following)
    assert [v.pk for v in again.context["page_obj"]] == [v.pk for v in second.context["page_obj"]]

    # The export carries the filters, not the page, and has every matching row.
    href = export_href(second.text)
    assert "mode=virtual" in href and "format=csv" in href and "page=" not in href
    rows = csv_of(client.get(reverse("deployments:visit_list") + href))
    assert len(rows) == 25
    assert {r["Mode"] for r in rows} == {"Video call"}
    assert {r["Summary"] for r in rows} == {f"Numbered visit {i}" for i in range(1, 50, 2)}


def test_commission_filters_narrow_the_list_and_the_export(
    client, make, coordinator, hub, funder, trust_lead
):
    leeds, other_leeds = make(2)
    bradford = make(1, local_authority="Bradford")[-1]
    wharfe = ClusterFactory(hub=hub, name="Wharfe Valley")
    third = make(1, cluster=wharfe)[-1]
    everything = {leeds.pk, other_leeds.pk, bradford.pk, third.pk}
    stream = FundingStreamFactory(hub=hub, funder=funder, name="Catch-up", academic_year="2026-27")
    brokerage_services.commission_set_funding(
        commission=leeds, actor=coordinator, allocations=[(stream, Decimal("1500"))]
    )
    client.force_login(coordinator)

    def listed(**params):
        page = client.get(list_url("commissions", **params))
        assert page.status_code == 200
        assert not page.context["filter"].form.errors
        rows = csv_of(client.get(list_url("commissions", format="csv", **params)))
        shown = list(page.context["page_obj"])
        assert sorted(r["School"] for r in rows) == sorted(c.request.school.name for c in shown)
        return {c.pk for c in shown}, rows

    assert listed()[0] == everything
    assert listed(local_authority="Bradford")[0] == {bradford.pk}
    assert listed(cluster=wharfe.pk)[0] == {third.pk}
    on_page, rows = listed(stream=stream.pk)
    assert on_page == {leeds.pk}
    assert rows[0]["Funding (£)"] == "1500.00"
    assert rows[0]["Funding streams"] == "Catch-up 2026-27: £1500.00"
    # Support from 1 October 2026 for 120 days runs in the 2026-27 school year only.
    assert listed(academic_year="2026-27")[0] == everything
    assert "2025-26" not in dict(page_choices(client, "academic_year"))
    assert listed(state="ended")[0] == set()
    assert listed(state="active")[0] == everything
    assert listed(q=bradford.lead.leader.user.full_name)[0] == {bradford.pk}
    assert listed(q=leeds.request.school.urn)[0] == {leeds.pk}
    # The trust lead has no funding streams to filter by, so is not offered the filter.
    client.force_login(trust_lead)
    page = client.get(list_url("commissions"))
    assert "stream" not in page.context["filter"].form.fields
    assert listed()[0] == everything


def page_choices(client, field):
    page = client.get(list_url("commissions"))
    return page.context["filter"].form.fields[field].choices


@pytest.mark.parametrize(
    "name,params,shown,hidden",
    [
        ("requests", {"local_authority": "Bradford"}, "Bradford School", "Listed School 01"),
        ("deployments", {"role": "supporting"}, "Priya Supporting", "Listed School 02"),
        ("reports", {"q": "Bradford School"}, "Bradford School", "Listed School 01"),
        ("reports", {"local_authority": "Bradford"}, "Bradford School", "Listed School 01"),
        ("organisations", {"local_authority": "Bradford"}, "Bradford School", "Listed School 01"),
        ("visits", {"q": "Bradford School"}, "Bradford School", "Listed School 01"),
        ("leaders", {"designation": "nle"}, "Nadia National", "Faraway"),
    ],
)
def test_filters_narrow_each_list_and_its_export_alike(
    client, make, coordinator, lead_trust, hub, name, params, shown, hidden
):
    made = make(2)
    make(1, local_authority="Bradford", name="Bradford School")
    add_supporting_leader(made[0], lead_trust)
    nle = system_leader(SchoolFactory(hub=hub), designation="nle")
    nle.user.full_name = "Nadia National"
    nle.user.save(update_fields=["full_name"])
    client.force_login(coordinator)
    page = client.get(list_url(name, **params))
    exported = str(csv_of(client.get(list_url(name, format="csv", **params))))
    for text in (page.text, exported):
        assert shown in text
        assert hidden not in text


# ========================================================= what a CSV file contains

FORMULAS = ['=HYPERLINK("http://evil.test")', "+1+1", "-2+3", "@SUM(A1)", "\tTabbed"]


def test_exported_text_never_runs_as_a_formula(client, make, coordinator, hub, cluster):
    make(1, name=FORMULAS[0])
    deployment = lead_deployment(make(1)[1])
    for text in FORMULAS[1:]:
        record_visit(deployment, summary=text, next_steps=text)
    client.force_login(coordinator)
    rows = csv_of(client.get(list_url("visits", format="csv")))
    summaries = {r["Summary"] for r in rows}
    for text in FORMULAS[1:]:
        assert f"'{text}" in summaries
    assert f"'{FORMULAS[0]}" in {r["School"] for r in rows}
    commission_rows = csv_of(client.get(list_url("commissions", format="csv")))
    assert f"'{FORMULAS[0]}" in {r["School"] for r in commission_rows}
    # Numbers and dates stay numbers and dates.
    assert {r["Hours"] for r in rows} == {"3.00"}
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", r["Date"]) for r in rows)


def test_the_export_is_a_dated_attachment_with_a_byte_order_mark(client, make, coordinator):
    make(1)
    client.force_login(coordinator)
    response = client.get(list_url("deployments", format="csv"))
    assert response["Content-Disposition"] == 'attachment; filename="deployments-2026-11-30.csv"'
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbfSystem leader,Role,School")


def test_the_page_offers_an_export_of_what_it_shows(client, make, coordinator):
    make(1)
    client.force_login(coordinator)
    for name in LISTS:
        page = client.get(list_url(name, q="Listed"))
        href = export_href(page.text)
        assert "format=csv" in href and "q=Listed" in href, name
        assert "[invalid name]" not in page.text, name  # every filter has a label


# ================================================================ safeguarding


@pytest.fixture
def flagged(make, lead_trust):
    commission = make(1)[0]
    supporting = add_supporting_leader(commission, lead_trust)
    record_visit(
        lead_deployment(commission),
        summary="Concern about a pupil",
        next_steps="Hub to follow up",
        people_met="DSL",
        safeguarding_concern=True,
    )
    return supporting


def test_a_flagged_visit_is_exported_to_the_hub_and_the_lead_system_leader_only(
    client, flagged, coordinator, trust_lead, school_contact
):
    lead = lead_deployment(flagged.commission).leader.user
    for person in (coordinator, lead):
        client.force_login(person)
        rows = csv_of(client.get(list_url("visits", format="csv", safeguarding="flagged")))
        assert [r["Summary"] for r in rows] == ["Concern about a pupil"], person
        assert rows[0]["Safeguarding concern"] == "Yes"
    for person in (flagged.leader.user, trust_lead, school_contact):
        client.force_login(person)
        page = client.get(list_url("visits"))
        exported = str(csv_of(client.get(list_url("visits", format="csv"))))
        for text in (page.text, exported):
            assert "Concern about a pupil" not in text
            assert "Hub to follow up" not in text


def test_anyone_else_who_lists_a_flagged_visit_gets_its_date_and_length_only(flagged):
    """A site admin's queryset holds every visit; what the visit says is still withheld."""
    admin = UserFactory(is_superuser=True, is_staff=True)
    rows = list(
        visit_rows(visit_list_for(user=admin).filter(safeguarding_concern=True), user=admin)
    )
    [row] = rows
    assert "Concern about a pupil" not in row
    assert "Hub to follow up" not in row and "DSL" not in row
    assert WITHHELD in row


def test_a_funder_exports_only_its_own_money_in_the_commissions_it_pays_for(
    client, make, coordinator, hub, funder, funder_viewer
):
    commission, unfunded = make(2)
    theirs = FundingStreamFactory(hub=hub, funder=funder, name="Catch-up")
    another = FundingStreamFactory(hub=hub, name="Trust Fund")
    brokerage_services.commission_set_funding(
        commission=commission,
        actor=coordinator,
        allocations=[(theirs, Decimal("1000")), (another, Decimal("250"))],
    )
    client.force_login(funder_viewer)
    [row] = csv_of(client.get(list_url("commissions", format="csv")))
    assert row["School"] == commission.request.school.name
    assert (row["Funding (£)"], row["Funding streams"]) == (
        "1000.00",
        "Catch-up 2026-27: £1000.00",
    )
    client.force_login(coordinator)
    rows = {r["School"]: r for r in csv_of(client.get(list_url("commissions", format="csv")))}
    assert rows[commission.request.school.name]["Funding (£)"] == "1250.00"
    assert rows[unfunded.request.school.name]["Funding (£)"] == "0.00"
