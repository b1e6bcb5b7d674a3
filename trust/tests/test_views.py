import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from trust.models import Role
from trust.tests.factories import SchoolFactory, member, system_leader

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"
ROLE_HOMES = {
    "coordinator": "trust:hub_home",
    "qa_lead": "trust:hub_home",
    "trust_lead": "trust:trust_home",
    "leader": "trust:leader_home",
    "school_contact": "trust:school_home",
    "funder_viewer": "trust:funder_home",
}
HOME_NAMES = sorted(set(ROLE_HOMES.values()))


# ------------------------------------------------------------------------- signing in


def test_login_page_asks_for_email_with_the_right_keyboard(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert 'type="email"' in response.text
    assert 'autocomplete="email"' in response.text


@pytest.mark.parametrize("person", sorted(ROLE_HOMES))
def test_each_role_lands_on_its_own_home_after_signing_in(client, person, request):
    user = request.getfixturevalue(person)
    response = client.post(
        reverse("login"), {"username": user.email, "password": PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse(ROLE_HOMES[person])
    assert response.status_code == 200


def test_email_is_matched_whatever_its_case(client, coordinator):
    response = client.post(
        reverse("login"), {"username": coordinator.email.upper(), "password": PASSWORD}
    )
    assert response.status_code == 302


def test_wrong_password_says_so_and_keeps_the_email(client, coordinator):
    response = client.post(
        reverse("login"), {"username": coordinator.email, "password": "not-the-password"}
    )
    assert response.status_code == 200
    assert "do not match an account" in response.text
    assert f'value="{coordinator.email}"' in response.text


@pytest.mark.parametrize(
    "username,password",
    [
        ("<script>alert(1)</script>@x.test", "x"),
        ("' OR 1=1 --", "' OR 1=1 --"),
        ("a" * 1_000_000, "b"),
        ("nul\x00l@example.test", "pass\x00word"),
        ("", ""),
    ],
)
def test_hostile_sign_in_input_gets_a_message_not_an_error(client, db, username, password):
    response = client.post(reverse("login"), {"username": username, "password": password})
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in response.text
    assert 'class="invalid-feedback' in response.text or "do not match" in response.text


def test_invalid_utf8_in_sign_in_gets_a_message_not_an_error(client, db):
    response = client.generic(
        "POST",
        reverse("login"),
        b"username=%ff%fe%ed%a0%80@example.test&password=%c3%28",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert "invalid-feedback" in response.text


def test_login_without_csrf_token_is_refused(coordinator):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post(reverse("login"), {"username": coordinator.email, "password": PASSWORD})
    assert response.status_code == 403


def test_sign_out_is_a_post_and_ends_the_session(client, coordinator):
    client.force_login(coordinator)
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("trust:hub_home")).status_code == 302


def test_signed_in_user_visiting_login_goes_home(client, coordinator):
    client.force_login(coordinator)
    response = client.get(reverse("login"))
    assert response.status_code == 302


# ---------------------------------------------------------------------- home pages


@pytest.mark.parametrize("url_name", ["trust:home", *HOME_NAMES])
def test_home_pages_ask_anonymous_visitors_to_sign_in(client, url_name):
    response = client.get(reverse(url_name))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize("person", sorted(ROLE_HOMES))
def test_other_roles_home_pages_are_not_found(client, person, request):
    client.force_login(request.getfixturevalue(person))
    for url_name in HOME_NAMES:
        expected = 200 if url_name == ROLE_HOMES[person] else 404
        assert client.get(reverse(url_name)).status_code == expected, url_name


def test_someone_with_no_organisation_is_told_what_to_do(client, db):
    from trust.tests.factories import UserFactory

    client.force_login(UserFactory())
    response = client.get(reverse("trust:home"), follow=True)
    assert "not linked to an organisation" in response.text


def test_user_with_two_roles_can_switch_between_homes(client, coordinator, lead_trust):
    from trust.models import Membership

    leader_school = SchoolFactory(hub=coordinator.memberships.get().organisation)
    Membership.objects.create(user=coordinator, organisation=leader_school, role="system_leader")
    client.force_login(coordinator)
    response = client.get(reverse("trust:home"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("trust:hub_home")
    assert f'href="{reverse("trust:leader_home")}"' in response.text
    assert client.get(reverse("trust:leader_home")).status_code == 200


def test_hub_home_shows_the_area_and_flags_leaders_needing_attention(
    client, coordinator, trust_school, supported_school, leader_profile, other_school, hub
):
    import datetime

    from django.utils import timezone

    expired = system_leader(
        supported_school,
        accreditation_expires=timezone.localdate() - datetime.timedelta(days=3),
    )
    client.force_login(coordinator)
    response = client.get(reverse("trust:hub_home"))
    assert hub.name in response.text
    assert leader_profile.user.full_name in response.text
    assert expired.user.full_name in response.text
    assert "Accreditation expired" in response.text
    assert "Aire Valley Learning Trust" in response.text
    assert other_school.name not in response.text


def test_trust_lead_home_lists_the_trusts_schools_and_leaders(
    client, trust_lead, trust_school, supported_school, leader_profile
):
    client.force_login(trust_lead)
    response = client.get(reverse("trust:trust_home"))
    assert trust_school.name in response.text
    assert leader_profile.user.full_name in response.text
    assert supported_school.name not in response.text


def test_leader_home_shows_their_profile_and_hub_contacts(client, leader, coordinator):
    client.force_login(leader)
    response = client.get(reverse("trust:leader_home"))
    assert "Specialist Leader of Education" in response.text
    assert "10 days per term" in response.text
    assert coordinator.email in response.text


def test_school_home_shows_the_school_and_its_hub_contacts(
    client, school_contact, supported_school, coordinator, neighbour_school
):
    client.force_login(school_contact)
    response = client.get(reverse("trust:school_home"))
    assert supported_school.name in response.text
    assert supported_school.urn in response.text
    assert coordinator.email in response.text
    assert neighbour_school.name not in response.text


def test_funder_home_shows_the_funder_and_hub_contacts(client, funder_viewer, coordinator):
    client.force_login(funder_viewer)
    response = client.get(reverse("trust:funder_home"))
    assert "Bradford Opportunity Area" in response.text
    assert coordinator.email in response.text


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize(
    "person,url_name",
    [
        ("coordinator", "trust:hub_home"),
        ("trust_lead", "trust:trust_home"),
        ("coordinator", "trust:organisation_list"),
        ("coordinator", "trust:leader_list"),
    ],
)
def test_page_queries_do_not_grow_with_rows(
    client, person, url_name, request, hub, lead_trust, cluster, django_assert_max_num_queries
):
    user = request.getfixturevalue(person)
    client.force_login(user)
    url = reverse(url_name)

    def add_rows(n):
        for _ in range(n):
            school = SchoolFactory(hub=hub, parent_trust=lead_trust, cluster=cluster)
            profile = system_leader(school)
            profile.specialisms.add(*list(__import__("trust").models.Specialism.objects.all()[:2]))
            member(Role.SCHOOL_CONTACT, school)

    add_rows(2)
    few = _queries(client, url)
    add_rows(15)
    assert _queries(client, url) == few
    with django_assert_max_num_queries(20):
        client.get(url)


# ------------------------------------------------------------------ organisations


def test_organisation_list_is_scoped_filtered_and_searchable(
    client, coordinator, trust_school, supported_school, other_school
):
    client.force_login(coordinator)
    url = reverse("trust:organisation_list")
    response = client.get(url)
    assert supported_school.name in response.text
    assert other_school.name not in response.text

    response = client.get(url, {"q": supported_school.urn})
    assert supported_school.name in response.text
    assert trust_school.name not in response.text

    response = client.get(url, {"kind": "trust"})
    assert "Aire Valley Learning Trust" in response.text
    assert supported_school.name not in response.text


def test_school_contact_lists_only_their_school_and_hub(
    client, school_contact, supported_school, neighbour_school, hub
):
    client.force_login(school_contact)
    response = client.get(reverse("trust:organisation_list"))
    assert supported_school.name in response.text
    assert hub.name in response.text
    assert neighbour_school.name not in response.text


def test_closed_filter_finds_closed_schools(client, coordinator, hub):
    closed = SchoolFactory(hub=hub, name="Old Mill School", is_open=False)
    client.force_login(coordinator)
    response = client.get(reverse("trust:organisation_list"), {"is_open": "false"})
    assert closed.name in response.text
    assert "Closed" in response.text


@pytest.mark.parametrize(
    "query",
    [
        "kind=%3Cscript%3Ealert(1)%3C/script%3E",
        "q=%27%20OR%201%3D1%20--",
        "q=" + "x" * 5000,
        "q=nul%00l",
        "cluster=999999999999999999999",
        "cluster=-1",
        "cluster=abc",
        "page=abc",
        "page=-5",
        "page=999999",
        "local_authority=%ff%fe%ed%a0%80",
        "is_open=maybe",
        "phase=primary&phase=secondary",
    ],
)
def test_hostile_filters_get_a_page_not_an_error(client, coordinator, supported_school, query):
    client.force_login(coordinator)
    response = client.get(reverse("trust:organisation_list"), QUERY_STRING=query)
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in response.text


def test_outsiders_get_not_found_for_an_organisation(client, supported_school, outsider):
    client.force_login(outsider)
    url = supported_school.get_absolute_url()
    assert client.get(url).status_code == 404


def test_neighbouring_school_is_not_found_for_a_school_contact(
    client, school_contact, neighbour_school, supported_school
):
    client.force_login(school_contact)
    assert client.get(neighbour_school.get_absolute_url()).status_code == 404
    assert client.get(supported_school.get_absolute_url()).status_code == 200


def test_organisation_page_shows_its_people_and_escapes_their_names(
    client, coordinator, supported_school
):
    member(Role.SCHOOL_CONTACT, supported_school, full_name="<b>Bold</b> Name")
    client.force_login(coordinator)
    response = client.get(supported_school.get_absolute_url())
    assert "&lt;b&gt;Bold&lt;/b&gt; Name" in response.text
    assert "<b>Bold</b>" not in response.text


def test_trust_page_lists_its_schools(client, trust_lead, lead_trust, trust_school):
    client.force_login(trust_lead)
    response = client.get(lead_trust.get_absolute_url())
    assert trust_school.name in response.text


def test_missing_organisation_is_not_found(client, coordinator):
    client.force_login(coordinator)
    assert client.get(reverse("trust:organisation_detail", args=[987654])).status_code == 404


# ------------------------------------------------------------------ system leaders


def test_leader_list_filters_by_designation_and_phase(client, coordinator, hub):
    from trust.models import SystemLeaderProfile

    nle = system_leader(
        SchoolFactory(hub=hub), designation=SystemLeaderProfile.Designation.NLE, phases=["primary"]
    )
    sle = system_leader(
        SchoolFactory(hub=hub),
        designation=SystemLeaderProfile.Designation.SLE,
        phases=["secondary"],
    )
    client.force_login(coordinator)
    url = reverse("trust:leader_list")
    response = client.get(url, {"designation": "nle"})
    assert nle.user.full_name in response.text
    assert sle.user.full_name not in response.text
    response = client.get(url, {"phase": "secondary"})
    assert sle.user.full_name in response.text
    assert nle.user.full_name not in response.text


@pytest.mark.parametrize("person", ["school_contact", "funder_viewer", "leader"])
def test_leader_list_is_not_found_for_roles_that_do_not_broker(client, person, request):
    client.force_login(request.getfixturevalue(person))
    assert client.get(reverse("trust:leader_list")).status_code == 404


def test_leader_profile_is_not_found_outside_the_hub(
    client, leader_profile, outsider, school_contact, coordinator, leader
):
    url = leader_profile.get_absolute_url()
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    client.force_login(school_contact)
    assert client.get(url).status_code == 404
    client.force_login(coordinator)
    assert client.get(url).status_code == 200
    client.force_login(leader)
    assert client.get(url).status_code == 200


def test_an_invalid_filter_choice_is_explained_and_the_other_filters_kept(
    client, coordinator, supported_school
):
    client.force_login(coordinator)
    response = client.get(
        reverse("trust:organisation_list"), {"kind": "castle", "q": supported_school.name}
    )
    assert "Select a valid choice" in response.text
    assert f'value="{supported_school.name}"' in response.text
    assert supported_school.get_absolute_url() in response.text


def test_hub_home_shows_leaders_needing_attention_first_and_links_to_the_rest(
    client, coordinator, trust_school, hub
):
    import datetime

    from django.utils import timezone

    for i in range(18):
        profile = system_leader(trust_school)
        profile.user.full_name = f"Aaron Able {i:02d}"
        profile.user.save()
    late = system_leader(
        trust_school, accreditation_expires=timezone.localdate() - datetime.timedelta(days=3)
    )
    late.user.full_name = "Zara Zed"
    late.user.save()
    client.force_login(coordinator)
    html = client.get(reverse("trust:hub_home")).text
    assert "Zara Zed" in html  # last by name, first by need
    assert html.index("Zara Zed") < html.index("Aaron Able 00")
    assert "Aaron Able 17" not in html
    assert "all 19 system leaders" in html


def test_only_the_hub_coordinator_is_offered_the_school_import(client, coordinator, qa_lead):
    client.force_login(coordinator)
    assert "Import schools" in client.get(reverse("trust:organisation_list")).text
    client.force_login(qa_lead)
    assert "Import schools" not in client.get(reverse("trust:organisation_list")).text
