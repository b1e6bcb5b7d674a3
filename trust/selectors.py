"""Reads for the trust app's screens: scoped, with their joins done, so views cannot N+1."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Count, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone

from .models import (
    HUB_ROLES,
    Cluster,
    Membership,
    Organisation,
    Role,
    SchoolImport,
    SystemLeaderProfile,
    User,
)

# Where each role lands after signing in, in the order a user with several roles sees them.
ROLE_HOMES = [
    (Role.HUB_COORDINATOR, "trust:hub_home", "Hub"),
    (Role.QA_LEAD, "trust:hub_home", "Hub"),
    (Role.TRUST_LEAD, "trust:trust_home", "Trust"),
    (Role.SYSTEM_LEADER, "trust:leader_home", "My work"),
    (Role.SCHOOL_CONTACT, "trust:school_home", "My school"),
    (Role.FUNDER_VIEWER, "trust:funder_home", "Funding"),
]

# Accreditation ending within this window is flagged on the hub's screens.
EXPIRY_WARNING = datetime.timedelta(days=60)


@dataclass(frozen=True)
class RoleHome:
    label: str
    url: str


def role_homes(user: User) -> list[RoleHome]:
    """The distinct home pages of the roles a user holds, in priority order."""
    roles = user.roles
    homes: list[RoleHome] = []
    for role, url_name, label in ROLE_HOMES:
        url = reverse(url_name)
        if role in roles and all(h.url != url for h in homes):
            homes.append(RoleHome(label=label, url=url))
    return homes


def organisations_of(user: User, *roles: str) -> QuerySet[Organisation]:
    return Organisation.objects.filter(pk__in=user.organisation_ids_for(*roles)).select_related(
        "hub", "parent_trust", "cluster"
    )


def access_organisation(*, user: User, pk: int) -> Organisation:
    return get_object_or_404(
        Organisation.objects.visible_to(user).select_related("hub", "parent_trust", "cluster"),
        pk=pk,
    )


def access_leader_profile(*, user: User, pk: int) -> SystemLeaderProfile:
    return get_object_or_404(leader_list_for(user=user), pk=pk)


def school_imports_for(*, user: User) -> QuerySet[SchoolImport]:
    return SchoolImport.objects.visible_to(user).defer("data").select_related("uploaded_by", "hub")


def access_school_import(*, user: User, pk: int) -> SchoolImport:
    return get_object_or_404(school_imports_for(user=user), pk=pk)


def organisation_list_for(*, user: User) -> QuerySet[Organisation]:
    return (
        Organisation.objects.visible_to(user)
        .select_related("parent_trust", "cluster")
        .order_by("name", "pk")
    )


def with_leader_details(profiles: QuerySet[SystemLeaderProfile]) -> QuerySet[SystemLeaderProfile]:
    """Profiles with their user, specialisms and home organisations loaded."""
    home_memberships = Membership.objects.filter(role=Role.SYSTEM_LEADER).select_related(
        "organisation"
    )
    return (
        profiles.select_related("user")
        .prefetch_related("specialisms", Prefetch("user__memberships", queryset=home_memberships))
        .order_by("user__full_name", "pk")
    )


def leader_list_for(*, user: User) -> QuerySet[SystemLeaderProfile]:
    return with_leader_details(SystemLeaderProfile.objects.visible_to(user))


def people_at(*, user: User, organisation: Organisation) -> QuerySet[Membership]:
    return (
        Membership.objects.visible_to(user)
        .filter(organisation=organisation, user__is_active=True)
        .select_related("user")
        .order_by("role", "user__full_name")
    )


def hub_contacts_for(*, user: User) -> QuerySet[Membership]:
    """The coordinators and QA leads of the user's hubs: whom to ask for help."""
    return (
        Membership.objects.filter(
            organisation_id__in=user.hub_ids, role__in=HUB_ROLES, user__is_active=True
        )
        .select_related("user", "organisation")
        .order_by("organisation__name", "role", "user__full_name")
    )


def leader_alerts(profile: SystemLeaderProfile, today: datetime.date) -> list[str]:
    alerts = []
    if not profile.active:
        alerts.append("Inactive")
    if profile.accreditation_expired(today):
        alerts.append(f"Accreditation expired {profile.accreditation_expires:%-d %b %Y}")
    elif profile.accreditation_expires and profile.accreditation_expires - today < EXPIRY_WARNING:
        alerts.append(f"Accreditation ends {profile.accreditation_expires:%-d %b %Y}")
    if profile.dbs_due(today):
        alerts.append("DBS check due")
    return alerts


@dataclass
class HubOverview:
    hub: Organisation
    open_schools: int
    closed_schools: int
    lead_organisations: QuerySet[Organisation]
    clusters: QuerySet[Cluster]
    unclustered_schools: int
    leaders: list[tuple[SystemLeaderProfile, list[str]]]
    leaders_total: int
    team: QuerySet[Membership]


HOME_LEADERS = 15


def hub_overview(*, user: User, hub: Organisation) -> HubOverview:
    """What a hub coordinator or QA lead sees first: the hub's area at a glance."""
    today = timezone.localdate()
    schools = Organisation.objects.schools().filter(hub=hub)
    counts = schools.aggregate(
        open=Count("pk", filter=Q(is_open=True)),
        closed=Count("pk", filter=Q(is_open=False)),
        unclustered=Count("pk", filter=Q(is_open=True, cluster__isnull=True)),
    )
    leaders = leader_list_for(user=user).filter(
        user__memberships__role=Role.SYSTEM_LEADER,
        user__memberships__organisation__hub=hub,
    )
    # Those needing attention first; the home shows a handful, the leader list has them all.
    flagged = sorted(
        ((p, leader_alerts(p, today)) for p in leaders.distinct()),
        key=lambda row: (not row[1], row[0].user.full_name),
    )
    return HubOverview(
        hub=hub,
        open_schools=counts["open"],
        closed_schools=counts["closed"],
        unclustered_schools=counts["unclustered"],
        lead_organisations=Organisation.objects.trusts()
        .filter(hub=hub)
        .annotate(school_count=Count("academies", filter=Q(academies__is_open=True)))
        .order_by("name"),
        clusters=Cluster.objects.filter(hub=hub).annotate(
            school_count=Count("schools", filter=Q(schools__is_open=True)),
            primary_count=Count(
                "schools",
                filter=Q(schools__is_open=True, schools__phase=Organisation.Phase.PRIMARY),
            ),
        ),
        leaders=flagged[:HOME_LEADERS],
        leaders_total=len(flagged),
        team=Membership.objects.filter(organisation=hub, role__in=HUB_ROLES)
        .select_related("user")
        .order_by("role", "user__full_name"),
    )


def trust_schools(*, trust: Organisation) -> QuerySet[Organisation]:
    return trust.academies.select_related("cluster").order_by("-is_open", "name")


def leaders_based_at(*, user: User, organisations) -> QuerySet[SystemLeaderProfile]:
    org_ids = [o.pk for o in organisations]
    based = Membership.objects.filter(
        Q(organisation_id__in=org_ids) | Q(organisation__parent_trust_id__in=org_ids),
        role=Role.SYSTEM_LEADER,
    ).values("user_id")
    return leader_list_for(user=user).filter(user_id__in=based)
