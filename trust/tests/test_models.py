import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from trust.models import Membership, Organisation, Role, User
from trust.tests.factories import SchoolFactory, TrustFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_email_addresses_are_unique_whatever_their_case(db):
    User.objects.create_user("Head@School.test", "pw-long-enough-1")
    assert User.objects.get(email="head@school.test")
    with pytest.raises(IntegrityError):
        User.objects.create(email="HEAD@school.test", full_name="Twin")


def test_a_role_must_fit_the_kind_of_organisation(hub, supported_school):
    user = UserFactory()
    with pytest.raises(ValidationError, match="must belong to a teaching school hub"):
        Membership(
            user=user, organisation=supported_school, role=Role.HUB_COORDINATOR
        ).full_clean()
    with pytest.raises(ValidationError, match="school contact must belong to a school"):
        Membership(user=user, organisation=hub, role=Role.SCHOOL_CONTACT).full_clean()
    Membership(user=user, organisation=hub, role=Role.QA_LEAD).full_clean()


def test_the_same_role_twice_at_one_organisation_is_refused(supported_school):
    user = UserFactory()
    Membership.objects.create(user=user, organisation=supported_school, role=Role.SCHOOL_CONTACT)
    with pytest.raises(IntegrityError):
        Membership.objects.create(
            user=user, organisation=supported_school, role=Role.SCHOOL_CONTACT
        )


def test_schools_need_a_six_digit_urn_and_only_schools_have_one(hub):
    school = Organisation(kind="school", name="No URN", hub=hub)
    with pytest.raises(ValidationError, match="6-digit URN"):
        school.full_clean()
    school.urn = "12345"
    with pytest.raises(ValidationError, match="exactly 6 digits"):
        school.full_clean()
    trust = Organisation(kind="trust", name="Trust with URN", urn="123456", hub=hub)
    with pytest.raises(ValidationError, match="Only schools"):
        trust.full_clean()


def test_urns_are_unique(hub):
    SchoolFactory(hub=hub, urn="123456")
    with pytest.raises(IntegrityError):
        SchoolFactory(hub=hub, urn="123456")


def test_a_school_cannot_join_another_hubs_cluster(hub, other_hub):
    from trust.tests.factories import ClusterFactory

    school = SchoolFactory.build(hub=hub, cluster=ClusterFactory(hub=other_hub))
    with pytest.raises(ValidationError, match="another hub"):
        school.full_clean()


def test_a_hub_does_not_belong_to_a_hub(hub, other_hub):
    hub.hub = other_hub
    with pytest.raises(ValidationError, match="does not belong to another hub"):
        hub.full_clean()


def test_trusts_list_their_academies(hub):
    trust = TrustFactory(hub=hub)
    school = SchoolFactory(hub=hub, parent_trust=trust)
    assert list(trust.academies.all()) == [school]


def test_leader_profile_warns_about_expired_accreditation_and_old_dbs(leader_profile):
    import datetime

    today = datetime.date(2026, 11, 25)
    leader_profile.accreditation_expires = datetime.date(2026, 11, 24)
    leader_profile.dbs_checked_on = datetime.date(2023, 11, 1)
    assert leader_profile.accreditation_expired(today)
    assert leader_profile.dbs_due(today)
    leader_profile.accreditation_expires = today
    leader_profile.dbs_checked_on = datetime.date(2025, 1, 1)
    assert not leader_profile.accreditation_expired(today)
    assert not leader_profile.dbs_due(today)


def test_leader_phases_must_come_from_the_list(leader_profile):
    leader_profile.phases = ["primary", "university"]
    with pytest.raises(ValidationError, match="Choose phases"):
        leader_profile.full_clean()
