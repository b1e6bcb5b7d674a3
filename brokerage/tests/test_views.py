"""What people see and can do on the brokerage pages, through the real views and services.

The permission matrix covers every brokerage URL; hostile input checks every form answers
with a message (never a 500, never stored markup); the happy path walks a request from a
school's first click to a funded commission.
"""

import datetime
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import get_resolver, reverse
from django.utils import timezone

from brokerage import services
from brokerage.models import (
    Commission,
    FundingStream,
    Offer,
    SupportRequest,
    academic_year_of,
)
from brokerage.tests.factories import (
    FundingStreamFactory,
    commission_via_services,
    offer_via_services,
    request_via_services,
)
from trust.models import Specialism
from trust.tests.factories import (
    ClusterFactory,
    SchoolFactory,
    TrustFactory,
    system_leader,
)

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
SCRIPT = "<script>alert(1)</script>"
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"


def today():
    return timezone.localdate()


def this_year():
    return academic_year_of(today())


def last_year():
    start = int(this_year()[:4]) - 1
    return f"{start}-{(start + 1) % 100:02d}"


def as_user(client, user):
    client.force_login(user)
    return client


def form_data(**overrides):
    """A valid new-request form, as a browser would post it."""
    data = {
        "title": "Year 6 maths after a poor SATs year",
        "need_areas": ["leadership"],
        "subject": "",
        "context": "Outcomes have fallen; the head wants help.",
        "priority": "high",
        "days_sought": "6",
        "funding_sought": "3000",
        "desired_start": (today() + datetime.timedelta(days=30)).isoformat(),
        "submit": "",
    }
    data.update(overrides)
    return data


@pytest.fixture
def this_year_stream(hub, funder):
    return FundingStreamFactory(
        hub=hub, funder=funder, name="Opportunity Area", academic_year=this_year()
    )


@pytest.fixture
def funded_commission(commission, coordinator, this_year_stream):
    """The shared ``commission`` with money from the funder's stream, so the funder viewer
    may see it."""
    services.commission_set_funding(
        commission=commission,
        actor=coordinator,
        allocations=[(this_year_stream, Decimal("2000"))],
    )
    return commission


# ============================================================ permission matrix

ROLES = (
    "coordinator",
    "qa_lead",
    "trust_lead",
    "leader",
    "school_contact",
    "neighbour_contact",
    "funder_viewer",
    "outsider",
)

# What a GET answers for each role, in the order of ROLES. The world: a request for the
# supported school, shortlisted, offered to the lead trust, accepted (the leader is deployed)
# and funded from the funder's stream. The outsider coordinates another hub.
# Anonymous visitors are always sent to sign in. Editing the commissioned request is 403 for
# those who can see it: theirs to read, no longer anyone's to change.
# fmt: off
EXPECTED = {
    #                        coord qa   trust lead school neigh funder outsider
    "pipeline":             (200, 200, 404, 404, 404, 404, 404, 200),
    "request_create":       (200, 404, 404, 404, 200, 200, 404, 200),
    "request_detail":       (200, 200, 200, 200, 200, 404, 404, 404),
    "request_edit":         (403, 403, 403, 403, 403, 404, 404, 404),
    "request_transition":   (405, 405, 405, 405, 405, 405, 405, 405),
    "shortlist_add":        (405, 405, 405, 405, 405, 405, 405, 405),
    "shortlist_remove":     (405, 405, 405, 405, 405, 405, 405, 405),
    "offer_create":         (403, 404, 404, 404, 404, 404, 404, 404),
    "offer_inbox":          (404, 404, 200, 404, 404, 404, 404, 404),
    "offer_detail":         (200, 200, 200, 404, 404, 404, 404, 404),
    "commission_list":      (200, 200, 200, 200, 200, 200, 200, 200),
    "commission_detail":    (200, 200, 200, 200, 200, 404, 200, 404),
    "commission_funding":   (200, 404, 404, 404, 404, 404, 404, 404),
    "commission_deadlines": (200, 404, 404, 404, 404, 404, 404, 404),
    "commission_edit":      (200, 404, 404, 404, 404, 404, 404, 404),
    "stream_list":          (200, 200, 404, 404, 404, 404, 200, 200),
    "stream_create":        (200, 404, 404, 404, 404, 404, 404, 200),
    "stream_detail":        (200, 200, 404, 404, 404, 404, 200, 404),
    "stream_edit":          (200, 404, 404, 404, 404, 404, 404, 404),
}
# fmt: on


def url_args(name, commission, stream):
    request = commission.request
    candidate = request.candidates.get()
    return {
        "pipeline": [],
        "request_create": [],
        "request_detail": [request.pk],
        "request_edit": [request.pk],
        "request_transition": [request.pk, "withdraw"],
        "shortlist_add": [request.pk],
        "shortlist_remove": [request.pk, candidate.pk],
        "offer_create": [request.pk],
        "offer_inbox": [],
        "offer_detail": [commission.offer.pk],
        "commission_list": [],
        "commission_detail": [commission.pk],
        "commission_funding": [commission.pk],
        "commission_deadlines": [commission.pk],
        "commission_edit": [commission.pk],
        "stream_list": [],
        "stream_create": [],
        "stream_detail": [stream.pk],
        "stream_edit": [stream.pk],
    }[name]


def brokerage_url_names():
    _, resolver = get_resolver().namespace_dict["brokerage"]
    return {key for key in resolver.reverse_dict if isinstance(key, str)}


def test_every_brokerage_url_is_in_the_permission_matrix():
    assert brokerage_url_names() == set(EXPECTED)


@pytest.fixture
def matrix_urls(funded_commission, this_year_stream):
    """Each brokerage URL name with its address in the world above, and whether it names
    an object (a request, offer, commission or stream)."""
    urls = {}
    for name in sorted(brokerage_url_names()):
        args = url_args(name, funded_commission, this_year_stream)
        urls[name] = (reverse(f"brokerage:{name}", args=args), bool(args))
    return urls


def test_anonymous_visitors_are_sent_to_sign_in_from_every_brokerage_page(client, matrix_urls):
    for name, (url, _) in matrix_urls.items():
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code == 302, name
            assert response.url.startswith(f"{LOGIN}?next="), name


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_what_the_permission_matrix_says(client, role, matrix_urls, request):
    as_user(client, request.getfixturevalue(role))
    column = ROLES.index(role)
    wrong = {}
    for name, (url, _) in matrix_urls.items():
        status = client.get(url).status_code
        if status != EXPECTED[name][column]:
            wrong[name] = (status, EXPECTED[name][column])
    assert wrong == {}, "name: (got, expected)"


@pytest.mark.parametrize("person", ["outsider", "neighbour_contact"])
def test_posting_to_another_organisations_object_answers_404_not_403(
    client, person, matrix_urls, request
):
    as_user(client, request.getfixturevalue(person))
    for name, (url, names_an_object) in matrix_urls.items():
        if names_an_object:
            response = client.post(url, {"reason": "Because.", "leader": "1"})
            assert response.status_code == 404, name


def test_ids_that_do_not_exist_answer_404_like_ids_that_are_not_yours(
    client, coordinator, matrix_urls
):
    as_user(client, coordinator)
    for name, (_, names_an_object) in matrix_urls.items():
        if names_an_object and name not in {"request_transition", "shortlist_remove"}:
            url = reverse(f"brokerage:{name}", args=[999999])
            assert client.get(url).status_code == (405 if name == "shortlist_add" else 404)
    url = reverse("brokerage:request_transition", args=[999999, "triage"])
    assert client.post(url).status_code == 404


# ========================================================== hostile input: requests

NEW_REQUEST = reverse("brokerage:request_create")


def assert_typed_values_kept(response, data, *, skip=()):
    """The fields the user got right are shown again as they typed them."""
    for name in ("title", "context"):
        if name not in skip:
            assert data[name] in response.text, name
    for name in ("days_sought", "funding_sought"):
        if name not in skip:
            assert f'value="{data[name]}"' in response.text, name


HOSTILE_REQUEST_FIELDS = [
    pytest.param(
        {"title": "T" * 151},
        "Ensure this value has at most 150 characters (it has 151).",
        id="title-over-150",
    ),
    pytest.param(
        {"context": "C" * 5001},
        "Ensure this value has at most 5000 characters (it has 5001).",
        id="context-over-5000",
    ),
    pytest.param({"days_sought": "-1"}, "greater than or equal to 0.5", id="negative-days"),
    pytest.param({"days_sought": "0"}, "greater than or equal to 0.5", id="zero-days"),
    pytest.param(
        {"days_sought": "99999999"},
        "Ensure that there are no more than 5 digits in total.",
        id="huge-days",
    ),
    pytest.param({"days_sought": "200.5"}, "less than or equal to 200", id="too-many-days"),
    pytest.param({"days_sought": "NaN"}, "Enter a number.", id="nan-days"),
    pytest.param({"days_sought": "Infinity"}, "Enter a number.", id="infinite-days"),
    pytest.param({"days_sought": "6\x00"}, "Enter a number.", id="null-byte-days"),
    pytest.param({"funding_sought": "-500"}, "greater than or equal to 0", id="negative-funding"),
    pytest.param(
        {"funding_sought": "1" + "0" * 20},
        "Ensure that there are no more than 12 digits in total.",
        id="huge-funding",
    ),
    pytest.param(
        {"funding_sought": "1000000.01"}, "less than or equal to 1000000", id="too-much-funding"
    ),
    pytest.param({"desired_start": "2026-13-45"}, "Enter a valid date.", id="impossible-date"),
    pytest.param({"desired_start": "next tuesday"}, "Enter a valid date.", id="words-for-date"),
    pytest.param({"desired_start": "\x00"}, "Enter a valid date.", id="null-byte-date"),
    pytest.param(
        {"desired_start": (timezone.localdate() + datetime.timedelta(days=800)).isoformat()},
        "Choose a start date within the next two years.",
        id="start-over-two-years-ahead",
    ),
    pytest.param(
        {"need_areas": ["subject"], "subject": ""},
        "Say which subject the support is for.",
        id="subject-need-without-subject",
    ),
    pytest.param(
        {"need_areas": ["subject"], "subject": "maths; DROP TABLE"},
        "Select a valid choice.",
        id="subject-not-an-id",
    ),
    pytest.param(
        {"need_areas": ["telepathy"]},
        "Select a valid choice. telepathy is not one of the available choices.",
        id="unknown-need-code",
    ),
    pytest.param({"need_areas": []}, "Choose at least one area of need.", id="no-need"),
    pytest.param({"priority": "urgent!!"}, "Select a valid choice.", id="unknown-priority"),
    pytest.param(
        {"title": "Maths\x00help"}, "Null characters are not allowed.", id="null-byte-title"
    ),
    pytest.param(
        {"context": "Help\x00please"}, "Null characters are not allowed.", id="null-byte-context"
    ),
]


@pytest.mark.parametrize("overrides,message", HOSTILE_REQUEST_FIELDS)
def test_new_request_with_bad_input_says_what_is_wrong_and_keeps_the_rest(
    client, coordinator, supported_school, overrides, message
):
    as_user(client, coordinator)
    data = form_data(school=supported_school.pk, **overrides)
    response = client.post(NEW_REQUEST, data)
    assert response.status_code == 200
    assert message in response.text
    assert "Please check what you entered" in response.text
    assert_typed_values_kept(response, data, skip=overrides)
    assert not SupportRequest.objects.exists()


@pytest.mark.parametrize("overrides,message", HOSTILE_REQUEST_FIELDS)
def test_editing_a_request_with_bad_input_changes_nothing(
    client, coordinator, brokering_request, overrides, message
):
    as_user(client, coordinator)
    data = form_data(**overrides)
    response = client.post(reverse("brokerage:request_edit", args=[brokering_request.pk]), data)
    assert response.status_code == 200
    assert message in response.text
    assert_typed_values_kept(response, data, skip=overrides)
    brokering_request.refresh_from_db()
    assert brokering_request.title == "Maths leadership"
    assert brokering_request.days_sought == Decimal("6")


def test_coordinator_cannot_raise_a_request_for_another_hubs_school(
    client, coordinator, other_school
):
    as_user(client, coordinator)
    response = client.post(NEW_REQUEST, form_data(school=other_school.pk))
    assert response.status_code == 200
    assert "Select a valid choice." in response.text
    assert other_school.name not in response.text
    assert not SupportRequest.objects.exists()


@pytest.mark.parametrize("tampered", ["other_school", "neighbour_school", "junk"])
def test_school_contact_cannot_raise_a_request_for_another_school(
    client, school_contact, other_school, neighbour_school, tampered
):
    as_user(client, school_contact)
    school = {"other_school": other_school.pk, "neighbour_school": neighbour_school.pk}
    response = client.post(NEW_REQUEST, form_data(school=school.get(tampered, "1 OR 1=1")))
    assert response.status_code == 200
    assert "Select a valid choice." in response.text
    assert not SupportRequest.objects.exists()


def test_school_contacts_own_school_is_filled_in_for_them(
    client, school_contact, supported_school
):
    as_user(client, school_contact)
    response = client.get(NEW_REQUEST)
    assert f'type="hidden" name="school" value="{supported_school.pk}"' in response.text


def test_editing_cannot_move_a_request_to_another_school(
    client, coordinator, brokering_request, neighbour_school, supported_school
):
    as_user(client, coordinator)
    data = form_data(school=neighbour_school.pk, title="Renamed")
    url = reverse("brokerage:request_edit", args=[brokering_request.pk])
    assert client.post(url, data).status_code == 302
    brokering_request.refresh_from_db()
    assert brokering_request.title == "Renamed"
    assert brokering_request.school == supported_school


def test_script_and_sql_in_a_request_are_stored_as_text_and_shown_escaped(
    client, school_contact, coordinator, supported_school
):
    as_user(client, school_contact)
    title = f"{SCRIPT} maths"
    context = "Robert'); DROP TABLE brokerage_supportrequest;-- <b>bold</b>"
    data = form_data(school=supported_school.pk, title=title, context=context)
    response = client.post(NEW_REQUEST, data, follow=True)
    assert response.status_code == 200
    created = SupportRequest.objects.get()
    assert created.title == title
    assert created.context == context
    for page in (response, as_user(Client(), coordinator).get(reverse("brokerage:pipeline"))):
        assert SCRIPT not in page.text
        assert ESCAPED_SCRIPT in page.text
    assert "<b>bold</b>" not in response.text
    assert "Robert&#x27;); DROP TABLE brokerage_supportrequest;-- &lt;b&gt;" in response.text


def test_script_typed_into_a_refused_form_is_shown_back_escaped(
    client, coordinator, supported_school
):
    as_user(client, coordinator)
    data = form_data(school=supported_school.pk, title=SCRIPT, context=SCRIPT, days_sought="-1")
    response = client.post(NEW_REQUEST, data)
    assert response.status_code == 200
    assert SCRIPT not in response.text
    assert ESCAPED_SCRIPT in response.text


def test_school_contact_cannot_edit_a_submitted_request_and_is_told_why(
    client, school_contact, coordinator, supported_school
):
    submitted = request_via_services(
        actor=coordinator, school=supported_school, status="submitted"
    )
    as_user(client, school_contact)
    url = reverse("brokerage:request_edit", args=[submitted.pk])
    page = client.get(url)
    assert page.status_code == 403
    assert "you can no longer edit it" in page.text
    response = client.post(url, form_data(title="My change"))
    assert response.status_code == 403
    submitted.refresh_from_db()
    assert submitted.title == "Maths leadership"


# ======================================================= hostile input: transitions


def move(client, support_request, action, **data):
    url = reverse("brokerage:request_transition", args=[support_request.pk, action])
    return client.post(url, data)


def test_declining_without_a_reason_is_refused_with_a_message(
    client, coordinator, brokering_request
):
    as_user(client, coordinator)
    response = move(client, brokering_request, "decline", reason="   ")
    assert response.status_code == 400
    assert "Give a reason: the school and the hub will see it." in response.text
    brokering_request.refresh_from_db()
    assert brokering_request.status == SupportRequest.Status.BROKERING


def test_overlong_reason_is_refused_and_shown_back_as_typed(
    client, coordinator, brokering_request
):
    as_user(client, coordinator)
    reason = "Too long, " * 200 + "honestly"
    response = move(client, brokering_request, "decline", reason=reason)
    assert response.status_code == 400
    assert "Ensure this value has at most 2000 characters (it has 2008)." in response.text
    assert reason in response.text
    brokering_request.refresh_from_db()
    assert brokering_request.status == SupportRequest.Status.BROKERING


@pytest.mark.parametrize(
    "action,message",
    [
        ("explode", "That is not something that can be done to a request."),
        ("triage", "so it cannot be moved"),
        ("submit", "so it cannot be moved"),
    ],
)
def test_unknown_or_stale_steps_are_refused_with_a_message(
    client, coordinator, brokering_request, action, message
):
    as_user(client, coordinator)
    response = move(client, brokering_request, action)
    assert response.status_code == 400
    assert message in response.text
    brokering_request.refresh_from_db()
    assert brokering_request.status == SupportRequest.Status.BROKERING


@pytest.mark.parametrize("person", ["school_contact", "qa_lead"])
def test_people_without_the_role_cannot_decline_a_request(
    client, person, brokering_request, request
):
    as_user(client, request.getfixturevalue(person))
    response = move(client, brokering_request, "decline", reason="No.")
    assert response.status_code == 400
    assert "Your role does not allow that step." in response.text
    brokering_request.refresh_from_db()
    assert brokering_request.status == SupportRequest.Status.BROKERING


def test_a_reason_with_markup_is_shown_escaped_in_the_timeline(
    client, school_contact, brokering_request
):
    as_user(client, school_contact)
    response = move(client, brokering_request, "withdraw", reason=f"We merged. {SCRIPT}")
    assert response.status_code == 302
    page = client.get(brokering_request.get_absolute_url())
    assert "Withdrawn" in page.text
    assert SCRIPT not in page.text
    assert f"We merged. {ESCAPED_SCRIPT}" in page.text


@pytest.mark.parametrize("url_name", ["request_transition", "shortlist_add", "shortlist_remove"])
def test_action_urls_only_take_a_post(client, coordinator, brokering_request, url_name):
    as_user(client, coordinator)
    args = {"request_transition": ["triage"], "shortlist_remove": [1]}.get(url_name, [])
    url = reverse(f"brokerage:{url_name}", args=[brokering_request.pk, *args])
    assert client.get(url).status_code == 405
    assert client.put(url).status_code == 405


def test_posts_without_a_csrf_token_are_refused(coordinator, brokering_request, supported_school):
    strict = as_user(Client(enforce_csrf_checks=True), coordinator)
    assert strict.post(NEW_REQUEST, form_data(school=supported_school.pk)).status_code == 403
    response = strict.post(
        reverse("brokerage:request_transition", args=[brokering_request.pk, "decline"]),
        {"reason": "No."},
    )
    assert response.status_code == 403
    assert SupportRequest.objects.count() == 1
    brokering_request.refresh_from_db()
    assert brokering_request.status == SupportRequest.Status.BROKERING


# ========================================================= hostile input: shortlist


def shortlist(client, support_request, **data):
    url = reverse("brokerage:shortlist_add", args=[support_request.pk])
    return client.post(url, data, follow=True)


@pytest.mark.parametrize(
    "leader,message",
    [
        ("abc", "Choose a system leader from the list."),
        ("", "Choose a system leader from the list."),
        ("-1", "Choose a system leader from the list."),
        (str(2**64), "Choose a system leader from the list."),
        (str(2**62), "That system leader is not in your hub&#x27;s area."),
        ("1 OR 1=1", "Choose a system leader from the list."),
    ],
)
def test_shortlisting_junk_says_so(client, coordinator, brokering_request, leader, message):
    as_user(client, coordinator)
    response = shortlist(client, brokering_request, leader=leader)
    assert response.status_code == 400
    assert message in response.text
    assert not brokering_request.candidates.exists()


def test_another_hubs_leader_cannot_be_shortlisted(
    client, coordinator, brokering_request, other_leader_profile
):
    as_user(client, coordinator)
    response = shortlist(client, brokering_request, leader=other_leader_profile.pk)
    assert "That system leader is not in your hub&#x27;s area." in response.text
    assert other_leader_profile.user.full_name not in response.text
    assert not brokering_request.candidates.exists()


def test_excluded_leader_needs_a_reason_to_be_shortlisted(
    client, coordinator, brokering_request, supported_school
):
    expired = system_leader(
        SchoolFactory(hub=supported_school.hub),
        accreditation_expires=today() - datetime.timedelta(days=1),
    )
    as_user(client, coordinator)
    response = shortlist(client, brokering_request, leader=expired.pk)
    assert "is excluded: Accreditation expired" in response.text
    assert "Give a reason to shortlist them anyway." in response.text
    assert not brokering_request.candidates.exists()

    response = shortlist(
        client, brokering_request, leader=expired.pk, override_reason="Renewal is booked."
    )
    assert "is on the shortlist" in response.text
    assert "Conflict overridden" in response.text
    assert "Renewal is booked." in response.text


def test_overlong_override_reason_says_what_is_wrong(client, coordinator, brokering_request):
    expired = system_leader(
        SchoolFactory(hub=brokering_request.hub),
        accreditation_expires=today() - datetime.timedelta(days=1),
    )
    as_user(client, coordinator)
    response = shortlist(client, brokering_request, leader=expired.pk, override_reason="x" * 2001)
    assert "at most 2000 characters" in response.text
    assert not brokering_request.candidates.exists()


def test_shortlisting_the_same_leader_twice_says_so(
    client, coordinator, brokering_request, leader_profile
):
    as_user(client, coordinator)
    shortlist(client, brokering_request, leader=leader_profile.pk)
    response = shortlist(client, brokering_request, leader=leader_profile.pk)
    assert "is already on the shortlist" in response.text
    assert brokering_request.candidates.count() == 1


def test_removing_a_candidate_of_another_request_is_not_found(
    client, coordinator, brokering_request, supported_school, leader_profile
):
    other = request_via_services(actor=coordinator, school=supported_school, status="brokering")
    services.candidate_shortlist(
        request=other, actor=coordinator, leader=leader_profile, today=today()
    )
    candidate = other.candidates.get()
    as_user(client, coordinator)
    url = reverse("brokerage:shortlist_remove", args=[brokering_request.pk, candidate.pk])
    assert client.post(url).status_code == 404
    assert other.candidates.exists()


def test_qa_lead_sees_the_shortlist_but_cannot_change_it(
    client, qa_lead, brokering_request, leader_profile, coordinator
):
    candidate = services.candidate_shortlist(
        request=brokering_request, actor=coordinator, leader=leader_profile, today=today()
    )
    as_user(client, qa_lead)
    page = client.get(brokering_request.get_absolute_url())
    assert leader_profile.user.full_name in page.text
    assert reverse("brokerage:shortlist_add", args=[brokering_request.pk]) not in page.text
    url = reverse("brokerage:shortlist_remove", args=[brokering_request.pk, candidate.pk])
    response = client.post(url, follow=True)
    assert "Only the hub coordinator can change the shortlist." in response.text
    assert brokering_request.candidates.exists()


# ============================================================= hostile input: offers


@pytest.fixture
def shortlisted_request(brokering_request, coordinator, leader_profile):
    services.candidate_shortlist(
        request=brokering_request, actor=coordinator, leader=leader_profile, today=today()
    )
    return brokering_request


def offer_data(lead_trust, leader_profile, **overrides):
    data = {
        "lead_organisation": lead_trust.pk,
        "proposed_lead": leader_profile.pk,
        "days": "6",
        "start": today().isoformat(),
        "end": (today() + datetime.timedelta(days=90)).isoformat(),
        "message": "Sarah, this one needs a maths specialist.",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    "overrides,message",
    [
        pytest.param(
            {"end": (today() - datetime.timedelta(days=1)).isoformat()},
            "The end date is before the start date.",
            id="end-before-start",
        ),
        pytest.param(
            {"end": (today() + datetime.timedelta(days=1200)).isoformat()},
            "Support longer than three years cannot be offered at once.",
            id="over-three-years",
        ),
        pytest.param({"days": "-3"}, "greater than or equal to 0.5", id="negative-days"),
        pytest.param({"days": "0"}, "greater than or equal to 0.5", id="zero-days"),
        pytest.param({"start": "31/02/2026"}, "Enter a valid date.", id="malformed-start"),
        pytest.param({"lead_organisation": "x"}, "Select a valid choice.", id="junk-trust"),
        pytest.param({"message": "M" * 5001}, "at most 5000 characters", id="overlong-message"),
    ],
)
def test_offer_with_bad_input_says_what_is_wrong_and_keeps_the_message(
    client, coordinator, shortlisted_request, lead_trust, leader_profile, overrides, message
):
    as_user(client, coordinator)
    data = offer_data(lead_trust, leader_profile, **overrides)
    url = reverse("brokerage:offer_create", args=[shortlisted_request.pk])
    response = client.post(url, data)
    assert response.status_code == 200
    assert message in response.text
    if "message" not in overrides:
        assert data["message"] in response.text
    assert not Offer.objects.exists()


def test_offer_cannot_go_to_another_hubs_trust(
    client, coordinator, shortlisted_request, other_trust, leader_profile
):
    as_user(client, coordinator)
    url = reverse("brokerage:offer_create", args=[shortlisted_request.pk])
    response = client.post(url, offer_data(other_trust, leader_profile))
    assert "Select a valid choice." in response.text
    assert other_trust.name not in response.text
    assert not Offer.objects.exists()


def test_offer_cannot_propose_a_leader_who_is_not_shortlisted(
    client, coordinator, shortlisted_request, lead_trust, other_trust_leader
):
    as_user(client, coordinator)
    url = reverse("brokerage:offer_create", args=[shortlisted_request.pk])
    response = client.post(url, offer_data(lead_trust, other_trust_leader))
    assert "Select a valid choice." in response.text
    assert not Offer.objects.exists()


def test_offer_only_lists_trusts_in_the_hub_other_than_the_schools_own(
    client, coordinator, coordinator_request_in_trust_school, lead_trust, other_trust
):
    as_user(client, coordinator)
    url = reverse("brokerage:offer_create", args=[coordinator_request_in_trust_school.pk])
    response = client.get(url)
    assert response.status_code == 200
    assert "Pennine Crest Academies" in response.text
    assert lead_trust.name not in response.text
    assert other_trust.name not in response.text


@pytest.fixture
def coordinator_request_in_trust_school(coordinator, trust_school, other_trust_leader):
    """A brokering request for a school of the lead trust, with a leader from another
    trust shortlisted."""
    support_request = request_via_services(
        actor=coordinator, school=trust_school, status="brokering"
    )
    services.candidate_shortlist(
        request=support_request, actor=coordinator, leader=other_trust_leader, today=today()
    )
    return support_request


def test_offering_a_request_that_is_not_being_brokered_says_so(
    client, coordinator, shortlisted_request, lead_trust, leader_profile
):
    as_user(client, coordinator)
    offer_via = reverse("brokerage:offer_create", args=[shortlisted_request.pk])
    assert client.post(offer_via, offer_data(lead_trust, leader_profile)).status_code == 302
    response = client.post(offer_via, offer_data(lead_trust, leader_profile))
    assert response.status_code == 403
    assert "offers are made while it is being brokered" in response.text
    assert Offer.objects.count() == 1


# ============================================================ hostile input: accepting


@pytest.fixture
def second_trust_leader(trust_school):
    """Another leader based in the lead trust's school, free to support."""
    return system_leader(trust_school, phases=["primary"])


def accept_data(lead_profile, **overrides):
    data = {
        "lead": lead_profile.pk,
        "lead_days": "4",
        "lead_release_agreed": "on",
        "supporting-TOTAL_FORMS": "3",
        "supporting-INITIAL_FORMS": "0",
        "supporting-MIN_NUM_FORMS": "0",
        "supporting-MAX_NUM_FORMS": "6",
        "accept": "",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    "overrides,message",
    [
        pytest.param(
            {"lead_release_agreed": ""},
            "Record that the home headteacher has agreed the release of",
            id="release-not-agreed",
        ),
        pytest.param(
            {"lead_days": "7"},
            "The leaders&#x27; days add up to 7, more than the 6 days offered.",
            id="more-days-than-offered",
        ),
        pytest.param({"lead_days": "-1"}, "greater than or equal to 0.5", id="negative-days"),
        pytest.param({"lead": "abc"}, "Select a valid choice.", id="junk-leader"),
        pytest.param(
            {"supporting-0-leader": "SECOND", "supporting-0-release_agreed": "on"},
            "Give this leader&#x27;s days.",
            id="supporting-without-days",
        ),
        pytest.param(
            {"supporting-0-days": "2"},
            "Choose the leader these days are for.",
            id="supporting-days-without-leader",
        ),
        pytest.param(
            {"supporting-0-leader": "LEAD", "supporting-0-days": "1"},
            "Name each leader once.",
            id="duplicate-leader",
        ),
        pytest.param(
            {
                "supporting-0-leader": "SECOND",
                "supporting-0-days": "3",
                "supporting-0-release_agreed": "on",
            },
            "The leaders&#x27; days add up to 7, more than the 6 days offered.",
            id="supporting-days-over-offer",
        ),
        pytest.param(
            {"supporting-TOTAL_FORMS": "1000"},
            "Please submit at most 6 forms.",
            id="total-forms-tampered",
        ),
    ],
)
def test_accepting_with_bad_input_says_what_is_wrong_and_keeps_the_days(
    client, trust_lead, open_offer, leader_profile, second_trust_leader, overrides, message
):
    ids = {"LEAD": str(leader_profile.pk), "SECOND": str(second_trust_leader.pk)}
    overrides = {k: ids.get(v, v) for k, v in overrides.items()}
    as_user(client, trust_lead)
    data = accept_data(leader_profile, **overrides)
    response = client.post(open_offer.get_absolute_url(), data)
    assert response.status_code == 200
    assert message in response.text
    assert f'value="{data["lead_days"]}"' in response.text
    open_offer.refresh_from_db()
    assert open_offer.status == Offer.Status.OPEN
    assert not Commission.objects.exists()


def test_trust_lead_cannot_name_a_leader_from_another_trust(
    client, trust_lead, open_offer, leader_profile, other_trust_leader
):
    as_user(client, trust_lead)
    page = client.get(open_offer.get_absolute_url())
    assert other_trust_leader.user.full_name not in page.text
    response = client.post(open_offer.get_absolute_url(), accept_data(other_trust_leader))
    assert "Select a valid choice." in response.text
    assert not Commission.objects.exists()


def test_accepting_with_the_management_form_missing_says_so(
    client, trust_lead, open_offer, leader_profile
):
    as_user(client, trust_lead)
    data = accept_data(leader_profile)
    del data["supporting-TOTAL_FORMS"], data["supporting-INITIAL_FORMS"]
    response = client.post(open_offer.get_absolute_url(), data)
    assert response.status_code == 200
    assert "ManagementForm data is missing or has been tampered with" in response.text
    assert not Commission.objects.exists()


@pytest.mark.parametrize("reason", ["", "   "])
def test_declining_without_a_reason_asks_for_one(client, trust_lead, open_offer, reason):
    as_user(client, trust_lead)
    response = client.post(
        open_offer.get_absolute_url(), {"decline-reason": reason, "decline": ""}
    )
    assert response.status_code == 200
    assert "Give a reason." in response.text
    open_offer.refresh_from_db()
    assert open_offer.status == Offer.Status.OPEN


def test_decline_with_an_overlong_reason_keeps_what_was_typed(client, trust_lead, open_offer):
    as_user(client, trust_lead)
    reason = "We are stretched. " * 120
    response = client.post(
        open_offer.get_absolute_url(), {"decline-reason": reason, "decline": ""}
    )
    assert "at most 2000 characters" in response.text
    assert reason.strip() in response.text
    open_offer.refresh_from_db()
    assert open_offer.status == Offer.Status.OPEN


@pytest.mark.parametrize("button", ["accept", "decline", "retract", "other"])
def test_people_who_may_only_read_an_offer_cannot_answer_it(
    client, qa_lead, open_offer, leader_profile, button
):
    as_user(client, qa_lead)
    data = {**accept_data(leader_profile), "decline-reason": "No."}
    del data["accept"]
    data[button] = ""
    assert client.post(open_offer.get_absolute_url(), data).status_code == 404
    open_offer.refresh_from_db()
    assert open_offer.status == Offer.Status.OPEN


def test_an_answered_offer_cannot_be_answered_again(
    client, trust_lead, open_offer, leader_profile
):
    as_user(client, trust_lead)
    client.post(open_offer.get_absolute_url(), {"decline-reason": "Full.", "decline": ""})
    response = client.post(open_offer.get_absolute_url(), accept_data(leader_profile))
    assert response.status_code == 200
    assert "Declined" in response.text
    assert "Accept and commission" not in response.text
    assert not Commission.objects.exists()


def test_supporting_leader_errors_are_listed_by_row_with_their_message(
    client, trust_lead, open_offer, leader_profile, second_trust_leader
):
    as_user(client, trust_lead)
    data = accept_data(
        leader_profile,
        **{"supporting-1-leader": second_trust_leader.pk, "supporting-1-days": "-2"},
    )
    response = client.post(open_offer.get_absolute_url(), data)
    assert "Check the supporting leaders" in response.text
    assert "Row 2, Days: Ensure this value is greater than or equal to 0.5." in response.text
    # The refused number is not also reported as missing.
    assert "Give this leader&#x27;s days." not in response.text


# ============================================== hostile input: funding and schedule


def management(prefix="form", total=2, initial=0):
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def rows(*pairs, first="stream", second="amount", total=None, initial=0):
    """A formset as the browser posts it: ``initial`` is the number of saved rows the page
    showed."""
    total = total if total is not None else max(len(pairs), 2)
    data = management(total=total, initial=initial)
    for index, (a, b) in enumerate(pairs):
        data[f"form-{index}-{first}"] = a
        data[f"form-{index}-{second}"] = b
    return data


@pytest.fixture
def earlier_stream(hub, funder):
    return FundingStreamFactory(
        hub=hub,
        funder=funder,
        name="Opportunity Area",
        academic_year=last_year(),
        total_budget=Decimal("5000"),
    )


@pytest.fixture
def later_stream(hub, funder):
    start = int(this_year()[:4]) + 1
    return FundingStreamFactory(
        hub=hub, funder=funder, name="Next year", academic_year=f"{start}-{(start + 1) % 100:02d}"
    )


def funding_url(commission):
    return reverse("brokerage:commission_funding", args=[commission.pk])


@pytest.mark.parametrize(
    "amount,message",
    [
        ("-5", "Ensure this value is greater than or equal to 0.01."),
        ("0", "Ensure this value is greater than or equal to 0.01."),
        ("1e99", "Ensure that there are no more than 12 digits in total."),
        ("NaN", "Enter a number."),
        ("ten pounds", "Enter a number."),
        ("10000.01", "has £10,000.00 left; £10,000.01 is more than that."),
    ],
)
def test_bad_funding_amounts_say_what_is_wrong_and_keep_the_rows(
    client, coordinator, commission, this_year_stream, amount, message
):
    as_user(client, coordinator)
    response = client.post(funding_url(commission), rows((this_year_stream.pk, amount)))
    assert response.status_code == 200
    assert message in response.text
    assert "Nothing was saved" in response.text
    assert f'value="{amount}"' in response.text
    assert not commission.allocations.exists()


def test_funding_from_another_hubs_stream_is_refused(
    client, coordinator, commission, other_hub, this_year_stream
):
    foreign = FundingStreamFactory(hub=other_hub, name="Foreign fund", academic_year=this_year())
    as_user(client, coordinator)
    data = rows((foreign.pk, "100"), (this_year_stream.pk, "250"))
    response = client.post(funding_url(commission), data)
    assert response.status_code == 200
    assert "Select a valid choice." in response.text
    assert "Choose the stream this money comes from." not in response.text
    assert "Foreign fund" not in response.text
    assert 'value="250"' in response.text
    assert not commission.allocations.exists()


def test_the_same_stream_twice_is_refused(client, coordinator, commission, this_year_stream):
    as_user(client, coordinator)
    data = rows((this_year_stream.pk, "100"), (this_year_stream.pk, "200"))
    response = client.post(funding_url(commission), data)
    assert "Use each funding stream once; add the amounts together." in response.text
    assert not commission.allocations.exists()


def test_a_later_years_stream_cannot_fund_this_years_commission(
    client, coordinator, commission, later_stream
):
    as_user(client, coordinator)
    response = client.post(funding_url(commission), rows((later_stream.pk, "100")))
    assert "is for a later year than this commission" in response.text
    assert not commission.allocations.exists()


@pytest.mark.parametrize(
    "tampering,message",
    [
        ({"form-TOTAL_FORMS": "1000"}, "Please submit at most 10 forms."),
        ({"form-TOTAL_FORMS": "many"}, "ManagementForm data is missing or has been tampered"),
        ({"form-TOTAL_FORMS": None}, "ManagementForm data is missing or has been tampered"),
        ({"form-INITIAL_FORMS": None}, "ManagementForm data is missing or has been tampered"),
    ],
)
def test_tampered_funding_management_form_gets_a_message(
    client, coordinator, commission, this_year_stream, tampering, message
):
    as_user(client, coordinator)
    data = rows((this_year_stream.pk, "100"))
    for key, value in tampering.items():
        if value is None:
            del data[key]
        else:
            data[key] = value
    response = client.post(funding_url(commission), data)
    assert response.status_code == 200
    assert message in response.text
    assert not commission.allocations.exists()


def deadlines_url(commission):
    return reverse("brokerage:commission_deadlines", args=[commission.pk])


@pytest.mark.parametrize(
    "deadlines,message",
    [
        pytest.param([("interim", 30)], "Set exactly one final report deadline.", id="no-final"),
        pytest.param([], "Set exactly one final report deadline.", id="nothing"),
        pytest.param(
            [("final", 150), ("final", 160)],
            "Set exactly one final report deadline.",
            id="two-finals",
        ),
        pytest.param(
            [("final", 60), ("interim", 90)],
            "Interim reports must be due before the final report.",
            id="interim-after-final",
        ),
        pytest.param([("final", -10)], "before the support starts.", id="due-before-the-start"),
        pytest.param([("final", "1st of never")], "Enter a valid date.", id="malformed-date"),
        pytest.param([("annual", 60)], "Select a valid choice.", id="unknown-kind"),
        pytest.param([("final", "")], "Give the date the report is due.", id="final-no-date"),
    ],
)
def test_bad_reporting_schedules_are_refused_with_a_message(
    client, coordinator, commission, deadlines, message
):
    before = list(commission.deadlines.values_list("kind", "due"))
    posted = [
        (kind, (commission.start + datetime.timedelta(days=due)).isoformat())
        if isinstance(due, int)
        else (kind, due)
        for kind, due in deadlines
    ]
    as_user(client, coordinator)
    data = rows(*posted, first="kind", second="due")
    response = client.post(deadlines_url(commission), data)
    assert response.status_code == 200
    assert message in response.text
    for _, due in posted:
        assert f'value="{due}"' in response.text
    assert list(commission.deadlines.values_list("kind", "due")) == before


def test_tampered_schedule_management_form_gets_a_message(client, coordinator, commission):
    as_user(client, coordinator)
    data = rows(("final", commission.end.isoformat()), first="kind", second="due", total=5000)
    response = client.post(deadlines_url(commission), data)
    assert response.status_code == 200
    assert "Please submit at most 12 forms." in response.text


def test_overlong_grant_conditions_are_refused_and_markup_is_escaped(
    client, coordinator, commission
):
    as_user(client, coordinator)
    url = reverse("brokerage:commission_edit", args=[commission.pk])
    response = client.post(url, {"grant_conditions": "G" * 10001})
    assert response.status_code == 200
    assert "at most 10000 characters" in response.text
    response = client.post(url, {"grant_conditions": f"Spend by July. {SCRIPT}"}, follow=True)
    assert "Grant conditions saved." in response.text
    assert SCRIPT not in response.text
    assert f"Spend by July. {ESCAPED_SCRIPT}" in response.text


# ========================================================= hostile input: streams


def stream_data(funder_org, **overrides):
    data = {
        "funder": funder_org.pk,
        "name": "Maths hubs grant",
        "academic_year": this_year(),
        "total_budget": "25000",
        "notes": "Report to the OA board each term.",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    "overrides,message",
    [
        pytest.param(
            {"academic_year": "2020-22"}, "Write the academic year as 2020-21", id="2020-22"
        ),
        pytest.param(
            {"academic_year": "2020/21"}, "Write the academic year as 2020-21", id="slash"
        ),
        pytest.param({"academic_year": "2020-2021"}, "at most 7 characters", id="long"),
        pytest.param({"total_budget": "-1"}, "greater than or equal to 0", id="negative-budget"),
        pytest.param({"total_budget": "1" + "0" * 15}, "no more than 12 digits", id="huge-budget"),
        pytest.param({"name": "N" * 151}, "at most 150 characters", id="long-name"),
        pytest.param({"funder": "0"}, "Select a valid choice.", id="unknown-funder"),
        pytest.param({"notes": "a\x00b"}, "Null characters are not allowed.", id="null-byte"),
    ],
)
def test_bad_funding_stream_input_says_what_is_wrong_and_keeps_the_rest(
    client, coordinator, funder, overrides, message
):
    as_user(client, coordinator)
    data = stream_data(funder, **overrides)
    response = client.post(reverse("brokerage:stream_create"), data)
    assert response.status_code == 200
    assert message in response.text
    for name in ("name", "notes"):
        if name not in overrides:
            assert data[name] in response.text
    assert not FundingStream.objects.exists()


def test_a_stream_cannot_name_another_hubs_funder(client, coordinator, other_hub):
    from trust.tests.factories import FunderFactory

    foreign = FunderFactory(hub=other_hub, name="Faraway Foundation")
    as_user(client, coordinator)
    response = client.post(reverse("brokerage:stream_create"), stream_data(foreign))
    assert "Select a valid choice." in response.text
    assert "Faraway Foundation" not in response.text
    assert not FundingStream.objects.exists()


def test_a_second_stream_with_the_same_name_and_year_is_refused(client, coordinator, funder):
    as_user(client, coordinator)
    assert client.post(reverse("brokerage:stream_create"), stream_data(funder)).status_code == 302
    response = client.post(reverse("brokerage:stream_create"), stream_data(funder))
    assert response.status_code == 200
    assert "already exists" in response.text
    assert FundingStream.objects.count() == 1


def test_a_streams_budget_cannot_drop_below_what_is_allocated(
    client, coordinator, funded_commission, this_year_stream, funder
):
    as_user(client, coordinator)
    url = reverse("brokerage:stream_edit", args=[this_year_stream.pk])
    response = client.post(url, stream_data(funder, total_budget="1500"))
    assert response.status_code == 200
    assert "£2,000.00 is already allocated from this stream" in response.text
    this_year_stream.refresh_from_db()
    assert this_year_stream.total_budget == Decimal("10000.00")


def test_stream_notes_with_markup_are_shown_escaped(client, coordinator, funder, funder_viewer):
    as_user(client, coordinator)
    response = client.post(
        reverse("brokerage:stream_create"), stream_data(funder, notes=SCRIPT), follow=True
    )
    assert response.status_code == 200
    assert SCRIPT not in response.text
    assert ESCAPED_SCRIPT in response.text


# ======================================================================= happy path


def test_a_request_goes_from_the_school_to_a_funded_commission(
    client,
    school_contact,
    coordinator,
    trust_lead,
    supported_school,
    leader_profile,
    second_trust_leader,
    lead_trust,
    this_year_stream,
    earlier_stream,
):
    # The school raises and submits a request.
    as_user(client, school_contact)
    assert client.get(NEW_REQUEST).status_code == 200
    data = form_data(
        school=supported_school.pk,
        need_areas=["subject", "leadership"],
        subject=Specialism.objects.get(code="maths").pk,
    )
    response = client.post(NEW_REQUEST, data, follow=True)
    support_request = SupportRequest.objects.get()
    assert response.redirect_chain[-1][0] == support_request.get_absolute_url()
    assert "Request submitted to the hub." in response.text
    assert ">Submitted</span>" in response.text
    assert "Mathematics, Leadership" in response.text

    # The coordinator triages it and starts brokering.
    hub_client = as_user(Client(), coordinator)
    for action, state in [("triage", "In triage"), ("broker", "Brokering")]:
        response = hub_client.post(
            reverse("brokerage:request_transition", args=[support_request.pk, action]),
            follow=True,
        )
        assert f">{state}</span>" in response.text

    # The ranked list explains each score; the coordinator shortlists and offers.
    assert leader_profile.user.full_name in response.text
    for part in ("Specialism", "Phase", "Capacity", "km away", "Prior work"):
        assert part in response.text
    response = hub_client.post(
        reverse("brokerage:shortlist_add", args=[support_request.pk]),
        {"leader": leader_profile.pk},
        follow=True,
    )
    assert f"{leader_profile.user.full_name} is on the shortlist." in response.text
    offer_url = reverse("brokerage:offer_create", args=[support_request.pk])
    assert f'href="{offer_url}"' in response.text
    response = hub_client.post(offer_url, offer_data(lead_trust, leader_profile), follow=True)
    assert f"Offered to {lead_trust.name}." in response.text
    assert ">Offered</span>" in response.text
    offer = Offer.objects.get()

    # The trust lead finds it in the inbox and accepts with a supporting leader.
    trust_client = as_user(Client(), trust_lead)
    inbox = trust_client.get(reverse("brokerage:offer_inbox"))
    assert supported_school.name in inbox.text
    assert offer.get_absolute_url() in inbox.text
    page = trust_client.get(offer.get_absolute_url())
    assert "Accept and commission" in page.text
    assert "Sarah, this one needs a maths specialist." in page.text
    data = accept_data(
        leader_profile,
        **{
            "supporting-0-leader": second_trust_leader.pk,
            "supporting-0-days": "2",
            "supporting-0-release_agreed": "on",
        },
    )
    response = trust_client.post(offer.get_absolute_url(), data, follow=True)
    commission = Commission.objects.get()
    assert response.redirect_chain[-1][0] == commission.get_absolute_url()
    assert "Accepted: the commission is set up." in response.text
    assert leader_profile.user.full_name in response.text
    assert second_trust_leader.user.full_name in response.text
    assert "Lead System Leader" in response.text
    assert "Supporting leader" in response.text
    assert "Final report" in response.text

    # The coordinator funds it from this year's stream and last year's carry-forward.
    data = rows((this_year_stream.pk, "2000"), (earlier_stream.pk, "500"))
    response = hub_client.post(funding_url(commission), data, follow=True)
    assert "Funding saved." in response.text
    assert "Carry-forward" in response.text
    assert "This year" in response.text
    assert "£500.00" in response.text
    assert "£2,500.00" in response.text
    assert list(commission.allocations.values_list("carry_forward", flat=True)) == [False, True]

    # And sets the reporting schedule.
    interim = commission.start + datetime.timedelta(days=45)
    final = commission.end + datetime.timedelta(days=28)
    assert commission.deadlines.count() == 2  # the defaults set on acceptance
    data = rows(
        ("interim", interim.isoformat()),
        ("final", final.isoformat()),
        first="kind",
        second="due",
        total=3,
        initial=2,
    )
    response = hub_client.post(deadlines_url(commission), data, follow=True)
    assert "Reporting schedule saved." in response.text
    assert f"Interim report: {interim:%-d %B %Y}" in response.text
    assert f"Final report: {final:%-d %B %Y}" in response.text
    assert list(commission.deadlines.values_list("kind", flat=True)) == ["interim", "final"]


def test_a_draft_is_saved_without_being_sent_to_the_hub(client, school_contact, supported_school):
    as_user(client, school_contact)
    data = form_data(school=supported_school.pk)
    del data["submit"]
    data["draft"] = ""
    response = client.post(NEW_REQUEST, data, follow=True)
    assert "Draft saved. Submit it when it is ready." in response.text
    assert SupportRequest.objects.get().status == SupportRequest.Status.DRAFT


def test_trust_lead_declines_and_the_request_goes_back_to_brokering(
    client, trust_lead, open_offer
):
    as_user(client, trust_lead)
    response = client.post(
        open_offer.get_absolute_url(),
        {"decline-reason": "No capacity until spring.", "decline": ""},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("brokerage:offer_inbox")
    assert "Declined. The hub has been told your reason." in response.text
    open_offer.request.refresh_from_db()
    assert open_offer.request.status == SupportRequest.Status.BROKERING


def test_coordinator_retracts_an_offer_with_a_reason(client, coordinator, open_offer):
    as_user(client, coordinator)
    url = open_offer.get_absolute_url()
    response = client.post(url, {"decline-reason": "", "retract": ""})
    assert "Give a reason." in response.text
    response = client.post(
        url, {"decline-reason": "School asked to wait.", "retract": ""}, follow=True
    )
    assert "Offer retracted; the request is back in brokering." in response.text
    assert "School asked to wait." in response.text


# ======================================================================= visibility


@pytest.fixture
def declined_request(open_offer, trust_lead):
    """The request after the lead trust declined, with its shortlist in place."""
    services.offer_decline(
        offer=open_offer, actor=trust_lead, reason="Our maths lead is on maternity leave."
    )
    return open_offer.request


def test_school_contact_does_not_see_the_shortlist_or_scores(
    client, school_contact, declined_request, leader_profile
):
    as_user(client, school_contact)
    page = client.get(declined_request.get_absolute_url())
    assert page.status_code == 200
    assert declined_request.title in page.text
    assert "Shortlist" not in page.text
    assert "score" not in page.text.lower()
    assert "Specialism" not in page.text
    assert leader_profile.user.full_name not in page.text
    assert reverse("brokerage:shortlist_add", args=[declined_request.pk]) not in page.text


def test_hub_staff_see_the_shortlist_events_the_school_does_not(
    client, qa_lead, declined_request, leader_profile
):
    as_user(client, qa_lead)
    page = client.get(declined_request.get_absolute_url())
    assert f"Shortlisted {leader_profile.user.full_name}" in page.text
    assert "Our maths lead is on maternity leave." in page.text


def test_school_contact_does_not_see_which_trust_declined_or_why(
    client, school_contact, declined_request, lead_trust
):
    as_user(client, school_contact)
    page = client.get(declined_request.get_absolute_url())
    assert "Our maths lead is on maternity leave." not in page.text
    assert f"{lead_trust.name} declined" not in page.text


def test_trust_lead_sees_the_request_offered_to_them_without_the_shortlist(
    client, trust_lead, open_offer, leader_profile
):
    as_user(client, trust_lead)
    page = client.get(open_offer.request.get_absolute_url())
    assert page.status_code == 200
    assert "Shortlisted" not in page.text
    assert "Matching system leaders" not in page.text


def test_pipeline_flags_an_offer_with_no_reply_in_ten_working_days(
    client, coordinator, open_offer, trust_lead
):
    as_user(client, coordinator)
    flag = "No reply in 10 working days"
    assert flag not in client.get(reverse("brokerage:pipeline")).text
    Offer.objects.filter(pk=open_offer.pk).update(
        offered_at=timezone.now() - datetime.timedelta(weeks=3)
    )
    page = client.get(reverse("brokerage:pipeline"))
    assert flag in page.text
    assert f"to {open_offer.lead_organisation.name}" in page.text
    inbox = as_user(Client(), trust_lead).get(reverse("brokerage:offer_inbox"))
    assert "Overdue" in inbox.text


def test_lists_show_only_what_each_person_may_see(
    client, funded_commission, outsider, neighbour_contact, funder_viewer, coordinator
):
    school = funded_commission.request.school.name
    for person in (outsider, neighbour_contact):
        as_user(client, person)
        assert school not in client.get(reverse("brokerage:commission_list")).text
    as_user(client, outsider)
    assert school not in client.get(reverse("brokerage:pipeline")).text
    assert "Opportunity Area" not in client.get(reverse("brokerage:stream_list")).text
    as_user(client, funder_viewer)
    assert school in client.get(reverse("brokerage:commission_list")).text
    streams = client.get(reverse("brokerage:stream_list")).text
    assert "Opportunity Area" in streams
    assert "New funding stream" not in streams


# ================================================================= pipeline filters


@pytest.fixture
def pipeline_requests(coordinator, supported_school, hub, lead_trust, trust_lead):
    """Requests spread over states, clusters, needs and priorities."""
    far_cluster = ClusterFactory(hub=hub, name="Bradford West")
    far_school = SchoolFactory(hub=hub, cluster=far_cluster, name="Moss Side Academy")
    made = {
        "phonics": request_via_services(
            actor=coordinator,
            school=supported_school,
            status="submitted",
            title="Phonics catch-up",
            priority="high",
        ),
        "send": request_via_services(
            actor=coordinator,
            school=far_school,
            status="triage",
            title="SEND provision review",
            need_areas=["send"],
            priority="low",
        ),
        "maths": request_via_services(
            actor=coordinator,
            school=far_school,
            status="brokering",
            title="Maths in key stage 3",
            need_areas=["subject"],
            subject=Specialism.objects.get(code="maths"),
        ),
    }
    stream = FundingStreamFactory(hub=hub, name="Maths grant", academic_year=this_year())
    commissioned = request_via_services(
        actor=coordinator, school=supported_school, status="brokering", title="Funded work"
    )
    leader = system_leader(SchoolFactory(hub=hub, parent_trust=lead_trust))
    funded = commission_via_services(
        coordinator=coordinator,
        trust_lead=trust_lead,
        request=commissioned,
        trust=lead_trust,
        leader=leader,
    )
    services.commission_set_funding(
        commission=funded, actor=coordinator, allocations=[(stream, Decimal("100"))]
    )
    made["funded"] = commissioned
    made["unfunded"] = request_via_services(
        actor=coordinator, school=supported_school, status="brokering", title="Unfunded work"
    )
    commission_via_services(
        coordinator=coordinator,
        trust_lead=trust_lead,
        request=made["unfunded"],
        trust=lead_trust,
        leader=system_leader(SchoolFactory(hub=hub, parent_trust=lead_trust)),
    )
    return made, far_cluster, far_school, stream


def titles_on(page, requests):
    return {key for key, r in requests.items() if f"{r.title}</span>" in page.text}


def test_pipeline_filters_narrow_the_requests_and_count_each_state(
    client, coordinator, pipeline_requests, supported_school
):
    requests, far_cluster, far_school, stream = pipeline_requests
    as_user(client, coordinator)
    pipeline = reverse("brokerage:pipeline")

    page = client.get(pipeline)
    assert titles_on(page, requests) == {"phonics", "send", "maths"}
    assert "3 requests" in page.text
    for label, count in [
        ("Submitted", 1),
        ("In triage", 1),
        ("Brokering", 1),
        ("Commissioned", 2),
    ]:
        assert re.search(rf"{label} <span class=\"badge[^\"]*\">{count}</span>", page.text), label

    cases = [
        ({"status": "triage"}, {"send"}),
        ({"status": "commissioned"}, {"funded", "unfunded"}),
        ({"cluster": far_cluster.pk}, {"send", "maths"}),
        ({"need": "send"}, {"send"}),
        ({"need": "subject"}, {"maths"}),
        ({"priority": "high"}, {"phonics"}),
        ({"status": "commissioned", "stream": stream.pk}, {"funded"}),
        ({"stream": stream.pk}, {"funded"}),
        ({"status": "triage", "stream": stream.pk}, set()),
        ({"q": "phonics"}, {"phonics"}),
        ({"q": far_school.urn}, {"send", "maths"}),
        ({"q": "Moss Side"}, {"send", "maths"}),
        ({"q": "%"}, set()),
        ({"q": "' OR 1=1 --"}, set()),
    ]
    for params, expected in cases:
        page = client.get(pipeline, params)
        assert page.status_code == 200, params
        assert titles_on(page, requests) == expected, params

    # The counts follow the other filters.
    page = client.get(pipeline, {"cluster": far_cluster.pk})
    assert re.search(r"Submitted <span class=\"badge[^\"]*\">0</span>", page.text)
    assert re.search(r"In triage <span class=\"badge[^\"]*\">1</span>", page.text)


@pytest.mark.parametrize(
    "params",
    [
        {"status": "exploded"},
        {"cluster": "abc"},
        {"need": "telepathy"},
        {"priority": "<script>"},
        {"stream": "999999"},
        {"q": "x" * 101},
        {"q": "nul\x00l"},
        {"page": "-1"},
        {"page": "99999999999999999999"},
    ],
)
def test_pipeline_with_junk_filters_answers_with_a_page_not_an_error(
    client, coordinator, pipeline_requests, params
):
    as_user(client, coordinator)
    response = client.get(reverse("brokerage:pipeline"), params)
    assert response.status_code == 200
    assert "<script>" not in response.text.split("<main", 1)[-1]


def test_pipeline_does_not_offer_another_hubs_clusters(client, coordinator, other_hub):
    foreign = ClusterFactory(hub=other_hub, name="Faraway Cluster")
    as_user(client, coordinator)
    response = client.get(reverse("brokerage:pipeline"), {"cluster": foreign.pk})
    assert response.status_code == 200
    assert "Faraway Cluster" not in response.text
    assert "Select a valid choice." in response.text


# ===================================================================== query counts


def count_queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def offered_requests(n, *, coordinator, lead_trust, leader, hub):
    """``n`` brokering requests at different schools and clusters, each offered to the
    lead trust."""
    made = []
    for _ in range(n):
        school = SchoolFactory(hub=hub, cluster=ClusterFactory(hub=hub))
        support_request = request_via_services(actor=coordinator, school=school)
        offer_via_services(
            coordinator=coordinator, request=support_request, trust=lead_trust, leader=leader
        )
        made.append(support_request)
    return made


@pytest.mark.parametrize(
    "url_name,person,cap",
    # Each page also counts the header's unread notifications (one query); the
    # pipeline also lists the local authorities it can be filtered by (one query).
    [("pipeline", "coordinator", 14), ("offer_inbox", "trust_lead", 9)],
)
def test_pipeline_and_inbox_queries_do_not_grow_with_rows(
    client,
    url_name,
    person,
    cap,
    coordinator,
    lead_trust,
    leader_profile,
    hub,
    request,
    django_assert_max_num_queries,
):
    as_user(client, request.getfixturevalue(person))
    url = reverse(f"brokerage:{url_name}")
    people = {"coordinator": coordinator, "lead_trust": lead_trust, "leader": leader_profile}
    offered_requests(2, hub=hub, **people)
    with_two = count_queries(client, url)
    offered_requests(13, hub=hub, **people)
    assert count_queries(client, url) == with_two
    with django_assert_max_num_queries(cap):
        assert len(client.get(url).context["page_obj"]) == 15


def test_commission_list_queries_do_not_grow_with_rows(
    client, coordinator, trust_lead, lead_trust, hub, django_assert_max_num_queries
):
    def commissions(n):
        for _ in range(n):
            school = SchoolFactory(hub=hub)
            commission_via_services(
                coordinator=coordinator,
                trust_lead=trust_lead,
                request=request_via_services(actor=coordinator, school=school),
                trust=lead_trust,
                leader=system_leader(SchoolFactory(hub=hub, parent_trust=lead_trust)),
            )

    url = reverse("brokerage:commission_list")
    commissions(2)
    counts = {}
    for person in (coordinator, trust_lead):
        counts[person] = count_queries(as_user(client, person), url)
    commissions(13)
    for person in (coordinator, trust_lead):
        assert count_queries(as_user(client, person), url) == counts[person]
    # With the header's unread count and the filters' choices (clusters, local authorities,
    # lead organisations, school years).
    with django_assert_max_num_queries(15):
        client.get(url)


def test_request_detail_queries_do_not_grow_with_leaders_or_shortlist(
    client, coordinator, brokering_request, hub, django_assert_max_num_queries
):
    def shortlist_new_leaders(n):
        for _ in range(n):
            leader = system_leader(SchoolFactory(hub=hub, parent_trust=TrustFactory(hub=hub)))
            leader.specialisms.add(Specialism.objects.get(code="leadership"))
            services.candidate_shortlist(
                request=brokering_request, actor=coordinator, leader=leader, today=today()
            )

    as_user(client, coordinator)
    url = brokering_request.get_absolute_url()
    shortlist_new_leaders(2)
    with_two = count_queries(client, url)
    shortlist_new_leaders(13)
    assert count_queries(client, url) == with_two
    with django_assert_max_num_queries(19):  # with the header's unread count and the history
        client.get(url)


def test_a_row_equal_to_what_someone_else_just_saved_is_not_dropped(
    client, coordinator, commission, this_year_stream, earlier_stream, hub, funder
):
    """The page showed one allocation; meanwhile another coordinator saved two. Rows the
    user posts are all kept, even one that matches a saved row at the same position."""
    third = FundingStreamFactory(
        hub=hub, funder=funder, name="Trust fund", academic_year=this_year()
    )
    services.commission_set_funding(
        commission=commission, actor=coordinator, allocations=[(third, Decimal("100"))]
    )
    page_rows = rows((third.pk, "100"), total=3, initial=1)  # what the page showed
    services.commission_set_funding(
        commission=commission,
        actor=coordinator,
        allocations=[
            (this_year_stream, Decimal("50")),
            (earlier_stream, Decimal("200")),
        ],
    )
    as_user(client, coordinator)
    page_rows.update({"form-1-stream": earlier_stream.pk, "form-1-amount": "200"})
    assert client.post(funding_url(commission), page_rows).status_code == 302
    saved = set(commission.allocations.values_list("stream__name", "amount"))
    assert saved == {("Trust fund", Decimal("100")), ("Opportunity Area", Decimal("200"))}


def test_offer_messages_and_decline_reasons_are_shown_escaped(
    client, coordinator, trust_lead, shortlisted_request, lead_trust, leader_profile
):
    as_user(client, coordinator)
    url = reverse("brokerage:offer_create", args=[shortlisted_request.pk])
    data = offer_data(lead_trust, leader_profile, message=f"Over to you {SCRIPT}")
    assert client.post(url, data).status_code == 302
    offer = Offer.objects.get()
    trust_client = as_user(Client(), trust_lead)
    page = trust_client.get(offer.get_absolute_url())
    assert f"Over to you {ESCAPED_SCRIPT}" in page.text
    assert SCRIPT not in page.text
    trust_client.post(offer.get_absolute_url(), {"decline-reason": SCRIPT, "decline": ""})
    for page in (
        client.get(shortlisted_request.get_absolute_url()),
        client.get(offer.get_absolute_url()),
    ):
        assert ESCAPED_SCRIPT in page.text
        assert SCRIPT not in page.text


def test_a_refused_override_keeps_the_reason_the_coordinator_typed(
    client, coordinator, brokering_request
):
    from trust.tests.factories import system_leader

    conflicted = system_leader(brokering_request.school)  # works at the school itself
    as_user(client, coordinator)
    url = reverse("brokerage:shortlist_add", args=[brokering_request.pk])
    typed = "Knows the school well. " * 100  # over the 2,000-character limit
    response = client.post(url, {"leader": conflicted.pk, "override_reason": typed})
    assert response.status_code == 400
    assert "at most 2000 characters" in response.text
    assert typed.strip() in response.text
    assert not brokering_request.candidates.exists()


def test_the_offer_form_is_not_offered_once_the_request_has_moved_on(
    client, coordinator, commission
):
    as_user(client, coordinator)
    response = client.get(reverse("brokerage:offer_create", args=[commission.request.pk]))
    assert response.status_code == 403
    assert "offers are made while it is being brokered" in response.text
