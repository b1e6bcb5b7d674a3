"""Who may see which organisations, people and system leaders (DESIGN.md §1 scoping rule)."""

import pytest
from django.contrib.auth.models import AnonymousUser

from trust.models import Cluster, Membership, Organisation, Role, SystemLeaderProfile
from trust.tests.factories import SchoolFactory, UserFactory, member

pytestmark = pytest.mark.django_db


def names(queryset):
    return {str(o) for o in queryset}


@pytest.fixture
def world(
    hub,
    lead_trust,
    trust_school,
    supported_school,
    neighbour_school,
    funder,
    other_school,
    other_trust,
):
    """Every organisation exists before anyone looks."""
    return {
        "hub": hub,
        "lead_trust": lead_trust,
        "trust_school": trust_school,
        "supported_school": supported_school,
        "neighbour_school": neighbour_school,
        "funder": funder,
        "other_school": other_school,
        "other_trust": other_trust,
    }


def test_hub_staff_see_every_organisation_in_their_hub_and_nothing_beyond(
    world, coordinator, qa_lead
):
    for user in (coordinator, qa_lead):
        visible = Organisation.objects.visible_to(user)
        assert set(visible) == {
            world["hub"],
            world["lead_trust"],
            world["trust_school"],
            world["supported_school"],
            world["neighbour_school"],
            world["funder"],
        }


def test_outsider_hub_sees_only_their_own_area(world, outsider):
    visible = set(Organisation.objects.visible_to(outsider))
    assert visible == {world["other_school"].hub, world["other_school"], world["other_trust"]}


def test_trust_lead_sees_their_trust_its_schools_and_their_hub(world, trust_lead):
    visible = set(Organisation.objects.visible_to(trust_lead))
    assert visible == {world["lead_trust"], world["trust_school"], world["hub"]}


def test_school_contact_sees_only_their_school_and_hub(world, school_contact):
    visible = set(Organisation.objects.visible_to(school_contact))
    assert visible == {world["supported_school"], world["hub"]}


def test_system_leader_sees_their_home_school_and_hub(world, leader):
    visible = set(Organisation.objects.visible_to(leader))
    assert visible == {world["trust_school"], world["hub"]}


def test_funder_viewer_sees_their_funder_and_hub(world, funder_viewer):
    assert set(Organisation.objects.visible_to(funder_viewer)) == {world["funder"], world["hub"]}


def test_anonymous_and_deactivated_users_see_nothing(world, school_contact):
    assert not Organisation.objects.visible_to(AnonymousUser()).exists()
    school_contact.is_active = False
    school_contact.save()
    assert not Organisation.objects.visible_to(school_contact).exists()
    assert not Membership.objects.visible_to(school_contact).exists()


def test_user_without_membership_sees_nothing(world):
    assert not Organisation.objects.visible_to(UserFactory()).exists()


def test_membership_of_a_closed_organisation_grants_nothing(world, school_contact):
    world["supported_school"].is_open = False
    world["supported_school"].save()
    school_contact = type(school_contact).objects.get(pk=school_contact.pk)
    assert not Organisation.objects.visible_to(school_contact).exists()


def test_superuser_sees_everything(world):
    admin = UserFactory(is_superuser=True, is_staff=True)
    assert Organisation.objects.visible_to(admin).count() == Organisation.objects.count()


def test_several_memberships_add_up(world, school_contact):
    Membership.objects.create(
        user=school_contact, organisation=world["neighbour_school"], role=Role.SCHOOL_CONTACT
    )
    school_contact = type(school_contact).objects.get(pk=school_contact.pk)
    assert set(Organisation.objects.visible_to(school_contact)) == {
        world["supported_school"],
        world["neighbour_school"],
        world["hub"],
    }


def test_school_contact_sees_colleagues_and_hub_staff_but_not_other_schools_people(
    world, school_contact, coordinator, qa_lead, neighbour_contact, trust_lead, outsider
):
    colleague = member(Role.SCHOOL_CONTACT, world["supported_school"], full_name="Ann Colleague")
    people = {m.user for m in Membership.objects.visible_to(school_contact)}
    assert people == {school_contact, colleague, coordinator, qa_lead}


def test_hub_staff_see_people_across_their_area_only(
    world, coordinator, school_contact, trust_lead, leader, funder_viewer, outsider
):
    people = {m.user for m in Membership.objects.visible_to(coordinator)}
    assert {school_contact, trust_lead, leader, funder_viewer, coordinator} <= people
    assert outsider not in people


def test_trust_lead_sees_people_in_the_trust_and_its_schools(
    world, trust_lead, leader, school_contact, coordinator
):
    people = {m.user for m in Membership.objects.visible_to(trust_lead)}
    assert people == {trust_lead, leader, coordinator}


def test_system_leader_profiles_are_seen_by_hub_trust_and_themselves_only(
    world,
    leader_profile,
    other_leader_profile,
    coordinator,
    trust_lead,
    school_contact,
    funder_viewer,
    outsider,
    leader,
):
    everyone_here = SystemLeaderProfile.objects.visible_to
    assert set(everyone_here(coordinator)) == {leader_profile}
    assert set(everyone_here(trust_lead)) == {leader_profile}
    assert set(everyone_here(leader)) == {leader_profile}
    assert set(everyone_here(outsider)) == {other_leader_profile}
    assert not everyone_here(school_contact).exists()
    assert not everyone_here(funder_viewer).exists()


def test_trust_lead_does_not_see_leaders_from_a_school_outside_the_trust(world, trust_lead, hub):
    from trust.tests.factories import system_leader

    maintained = SchoolFactory(hub=hub)
    outside_leader = system_leader(maintained)
    assert outside_leader not in SystemLeaderProfile.objects.visible_to(trust_lead)


def test_clusters_are_visible_within_the_hub_only(world, cluster, coordinator, outsider):
    assert list(Cluster.objects.visible_to(coordinator)) == [cluster]
    assert not Cluster.objects.visible_to(outsider).exists()
