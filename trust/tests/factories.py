import datetime
from decimal import Decimal

import factory
from django.utils import timezone

from trust.models import Cluster, Membership, Organisation, Role, SystemLeaderProfile, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["email"]

    email = factory.Sequence(lambda n: f"person{n}@example.test")
    full_name = factory.Sequence(lambda n: f"Person {n} Example")
    password = factory.django.Password("correct-horse-battery")


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    kind = Organisation.Kind.SCHOOL
    name = factory.Sequence(lambda n: f"Organisation {n}")
    urn = factory.Maybe(
        factory.LazyAttribute(lambda o: o.kind == Organisation.Kind.SCHOOL),
        yes_declaration=factory.Sequence(lambda n: f"{800000 + n:06d}"),
        no_declaration=None,
    )
    hub = factory.Maybe(
        factory.LazyAttribute(lambda o: o.kind == Organisation.Kind.HUB),
        yes_declaration=None,
        no_declaration=factory.SubFactory("trust.tests.factories.HubFactory"),
    )

    class Params:
        primary = factory.Trait(phase=Organisation.Phase.PRIMARY)
        secondary = factory.Trait(phase=Organisation.Phase.SECONDARY)
        closed = factory.Trait(is_open=False)


class HubFactory(OrganisationFactory):
    kind = Organisation.Kind.HUB
    name = factory.Sequence(lambda n: f"Hub {n}")


class TrustFactory(OrganisationFactory):
    kind = Organisation.Kind.TRUST
    name = factory.Sequence(lambda n: f"Trust {n}")


class SchoolFactory(OrganisationFactory):
    kind = Organisation.Kind.SCHOOL
    name = factory.Sequence(lambda n: f"School {n}")
    phase = Organisation.Phase.PRIMARY
    local_authority = "Leeds"
    easting = 430_000
    northing = 433_000


class FunderFactory(OrganisationFactory):
    kind = Organisation.Kind.FUNDER
    name = factory.Sequence(lambda n: f"Funder {n}")


class ClusterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Cluster

    hub = factory.SubFactory(HubFactory)
    name = factory.Sequence(lambda n: f"Cluster {n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organisation = factory.SubFactory(SchoolFactory)
    role = Role.SCHOOL_CONTACT


class SystemLeaderProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SystemLeaderProfile

    user = factory.SubFactory(UserFactory)
    designation = SystemLeaderProfile.Designation.SLE
    phases = factory.LazyFunction(lambda: ["primary"])
    capacity_days_per_term = Decimal("10")
    accreditation_expires = factory.LazyFunction(
        lambda: timezone.localdate() + datetime.timedelta(days=365)
    )
    dbs_checked_on = factory.LazyFunction(
        lambda: timezone.localdate() - datetime.timedelta(days=100)
    )


def member(role: str, organisation: Organisation, **user_fields) -> User:
    """A user holding ``role`` at ``organisation``."""
    user = UserFactory(**user_fields)
    MembershipFactory(user=user, organisation=organisation, role=role)
    return user


def system_leader(home: Organisation, **profile_fields) -> SystemLeaderProfile:
    user = member(Role.SYSTEM_LEADER, home)
    return SystemLeaderProfileFactory(user=user, **profile_fields)
