"""The change history of requests and commissions: recorded whichever way a change is made
(a form, the admin, a service), shown in words on each page to those who may read it, with a
fixed number of queries however long it grows."""

import datetime
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from brokerage import services
from brokerage.models import Commission, ReportingDeadline, SupportRequest
from brokerage.tests.factories import FundingStreamFactory, request_via_services
from trust.models import Specialism, User
from trust.tests.factories import FunderFactory

pytestmark = pytest.mark.django_db


def today():
    return timezone.localdate()


def text_of(response) -> str:
    """The page as a reader sees it: tags gone, spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def as_user(client, user):
    client.force_login(user)
    return client


def edit_data(**overrides):
    data = {
        "title": "Maths leadership",
        "need_areas": ["leadership"],
        "subject": "",
        "context": "Outcomes have fallen; the head wants help.",
        "priority": "medium",
        "days_sought": "6",
        "funding_sought": "3000",
        "desired_start": today().isoformat(),
    }
    data.update(overrides)
    return data


@pytest.fixture
def triage_request(coordinator, supported_school):
    return request_via_services(actor=coordinator, school=supported_school, status="triage")


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser(
        "admin@example.test", "a-long-admin-pass", full_name="Ada Admin"
    )


# ------------------------------------------------------------- three ways in


def test_a_form_edit_is_recorded_with_its_author_and_shown_in_words(
    client, coordinator, triage_request
):
    maths = Specialism.objects.get(code="maths")
    url = reverse("brokerage:request_edit", args=[triage_request.pk])
    response = as_user(client, coordinator).post(
        url,
        edit_data(priority="high", need_areas=["subject", "send"], subject=maths.pk),
        follow=True,
    )
    assert response.status_code == 200
    latest = triage_request.history.first()
    assert (latest.history_type, latest.history_user) == ("~", coordinator)
    page = response.text
    assert "Changes to the request" in page
    assert "Priority: “Medium” → “High”" in page
    assert "Need areas: “Leadership” → “A subject, SEND”" in page
    assert "Subject: “—” → “Mathematics”" in page  # the specialism's name, not its id
    assert f"{coordinator.full_name}: Changed" in page


def test_an_admin_change_is_recorded_with_the_admins_name(client, superuser, triage_request):
    url = reverse("admin:brokerage_supportrequest_change", args=[triage_request.pk])
    data = {
        "hub": triage_request.hub_id,
        "school": triage_request.school_id,
        "raised_by": triage_request.raised_by_id,
        "title": "Corrected by the site team",
        "need_areas": '["leadership"]',
        "subject": "",
        "context": triage_request.context,
        "priority": "low",
        "days_sought": "6",
        "funding_sought": "3000",
        "desired_start": today().isoformat(),
        "_save": "Save",
    }
    response = as_user(client, superuser).post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    latest = triage_request.history.first()
    assert (latest.title, latest.priority, latest.history_user) == (
        "Corrected by the site team",
        "low",
        superuser,
    )
    history_page = client.get(
        reverse("admin:brokerage_supportrequest_history", args=[triage_request.pk])
    )
    assert history_page.status_code == 200


def test_service_calls_record_their_actor_without_any_web_request(
    coordinator, commission, oa_stream
):
    services.commission_update(
        commission=commission, actor=coordinator, grant_conditions="Report termly."
    )
    services.commission_set_funding(
        commission=commission, actor=coordinator, allocations=[(oa_stream, Decimal("1500"))]
    )
    final = commission.deadlines.get(kind="final")
    services.commission_set_deadlines(
        commission=commission,
        actor=coordinator,
        deadlines=[
            ("interim", commission.start + datetime.timedelta(days=30)),
            ("interim", commission.start + datetime.timedelta(days=60)),
            ("final", final.due),
        ],
    )
    assert commission.history.first().history_user == coordinator
    allocation = commission.allocations.get()
    assert [(h.history_type, h.history_user) for h in allocation.history.all()] == [
        ("+", coordinator)
    ]
    made = ReportingDeadline.history.filter(commission_id=commission.pk)
    # The trust lead's acceptance made the first schedule; the coordinator's change the rest.
    assert {h.history_user for h in made.filter(history_type="+")} >= {coordinator}
    assert all(h.history_user is not None for h in made)
    request = commission.request
    assert request.history.first().history_user == commission.offer.responded_by


def test_accepting_an_offer_records_the_commission_and_schedule_as_the_trust_leads(
    commission, trust_lead
):
    assert [(h.history_type, h.history_user) for h in commission.history.all()] == [
        ("+", trust_lead)
    ]
    schedule = ReportingDeadline.history.filter(commission_id=commission.pk)
    assert schedule.exists()
    assert {h.history_user for h in schedule} == {trust_lead}


# --------------------------------------------------------------- who sees what


def test_the_school_does_not_see_which_trust_declined_or_the_status_trail(
    client, coordinator, school_contact, trust_lead, open_offer
):
    services.offer_decline(offer=open_offer, actor=trust_lead, reason="No capacity this term.")
    hub_page = as_user(client, coordinator).get(open_offer.request.get_absolute_url()).text
    assert "Status: “Offered” → “Brokering”" in hub_page
    assert f"{trust_lead.full_name}: Changed" in hub_page

    school_page = as_user(client, school_contact).get(open_offer.request.get_absolute_url())
    assert school_page.status_code == 200
    assert "Changes to the request" in school_page.text
    assert "Status:" not in school_page.text
    assert trust_lead.full_name not in school_page.text


@pytest.fixture
def two_funders(commission, coordinator, funder, hub, oa_stream):
    """The commission paid from ``funder``'s stream and another funder's."""
    other = FundingStreamFactory(
        hub=hub,
        funder=FunderFactory(hub=hub, name="Northern Foundation"),
        name="Foundation grant",
        academic_year=oa_stream.academic_year,
    )
    services.commission_set_funding(
        commission=commission,
        actor=coordinator,
        allocations=[(oa_stream, Decimal("2000")), (other, Decimal("750"))],
    )
    services.commission_update(
        commission=commission, actor=coordinator, grant_conditions="Named contact: J. Bloggs."
    )
    return commission


def test_a_funder_sees_its_own_money_in_the_history_and_not_the_grant_conditions(
    client, coordinator, funder_viewer, two_funders
):
    hub_page = text_of(as_user(client, coordinator).get(two_funders.get_absolute_url()))
    assert "Created Opportunity Area 2026-27 Amount (£): “—” → “2,000.00” " in hub_page
    assert "Foundation grant 2026-27" in hub_page
    assert "Grant conditions: “—” → “Named contact: J. Bloggs.”" in hub_page

    response = as_user(client, funder_viewer).get(two_funders.get_absolute_url())
    assert response.status_code == 200
    page = text_of(response)
    assert "Created Opportunity Area 2026-27 Amount (£): “—” → “2,000.00” " in page
    assert "Foundation grant" not in page
    assert "J. Bloggs" not in page
    assert "Grant conditions" not in page


def test_a_schedule_change_shows_the_old_and_new_dates(client, coordinator, commission):
    final = commission.deadlines.get(kind="final")
    new_due = final.due + datetime.timedelta(days=7)
    interims = [("interim", d.due) for d in commission.deadlines.filter(kind="interim")]
    services.commission_set_deadlines(
        commission=commission, actor=coordinator, deadlines=[*interims, ("final", new_due)]
    )
    page = text_of(as_user(client, coordinator).get(commission.get_absolute_url()))
    old, new = f"{final.due:%-d %b %Y}", f"{new_due:%-d %b %Y}"
    assert f"{coordinator.full_name}: Changed Final report Due: “{old}” → “{new}”" in page


# ------------------------------------------------------------------ query count


def _edit_request(request, actor, times):
    for n in range(times):
        services.request_update(
            request=request,
            actor=actor,
            **{
                **{
                    k: getattr(request, k)
                    for k in ("need_areas", "context", "days_sought", "funding_sought")
                },
                "title": f"Maths leadership, take {n}",
                "subject": Specialism.objects.order_by("pk")[n % 3],
                "priority": ["high", "low"][n % 2],
                "desired_start": request.desired_start,
            },
        )
        request.refresh_from_db()


@pytest.mark.parametrize("edits", [2, 30])
def test_request_history_costs_the_same_queries_however_long_it_is(
    client, coordinator, triage_request, edits, django_assert_max_num_queries
):
    _edit_request(triage_request, coordinator, edits)
    as_user(client, coordinator)
    with django_assert_max_num_queries(18):
        page = client.get(triage_request.get_absolute_url())
    total = SupportRequest.history.filter(id=triage_request.pk).count()
    shown = page.context["history"]
    assert len(shown) == min(total, 20)
    assert (f"The latest 20 of {total} changes are shown." in page.text) == (total > 20)


@pytest.mark.parametrize("edits", [1, 25])
def test_commission_history_costs_the_same_queries_however_long_it_is(
    client, coordinator, commission, oa_stream, edits, django_assert_max_num_queries
):
    for n in range(edits):
        services.commission_update(
            commission=commission, actor=coordinator, grant_conditions=f"Version {n}"
        )
        services.commission_set_funding(
            commission=commission,
            actor=coordinator,
            allocations=[(oa_stream, Decimal(1000 + n))],
        )
    as_user(client, coordinator)
    with django_assert_max_num_queries(19):
        page = client.get(commission.get_absolute_url())
    history = page.context["history"]
    assert len(history["commission"]) == min(edits + 1, 20)
    assert history["funding"].total == edits
    assert Commission.history.filter(id=commission.pk).count() == edits + 1


def test_a_row_that_existed_before_its_history_says_so(client, coordinator, triage_request):
    """The migration that started the history wrote one record per existing row, with no
    author and the reason "History started"; the page says that rather than "Created"."""
    triage_request.history.all().delete()
    triage_request._change_reason = "History started"
    triage_request.save()
    triage_request.history.update(history_type="+", history_user=None)
    page = text_of(as_user(client, coordinator).get(triage_request.get_absolute_url()))
    assert "the system: History started" in page
