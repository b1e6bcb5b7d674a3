"""The organisation and system leader lists as CSV rows (written by ``trust.csv_export``).

Each function takes the filtered queryset the page shows and returns the header and an
iterator of rows. Related names are loaded in one query each before the rows stream, so
the number of queries does not depend on the number of rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from django.db.models import QuerySet
from django.utils import timezone

from .models import Membership, Organisation, Role, SystemLeaderProfile
from .selectors import leader_alerts

ORGANISATION_HEADER = [
    "Name",
    "Kind",
    "URN",
    "Phase",
    "Type",
    "Local authority",
    "Postcode",
    "Trust",
    "Cluster",
    "Open",
]


def organisation_rows(organisations: QuerySet[Organisation]) -> Iterator[list]:
    kinds = dict(Organisation.Kind.choices)
    phases = dict(Organisation.Phase.choices)
    rows = organisations.values_list(
        "name",
        "kind",
        "urn",
        "phase",
        "establishment_type",
        "local_authority",
        "postcode",
        "parent_trust__name",
        "cluster__name",
        "is_open",
    )
    for name, kind, urn, phase, kind_of, la, postcode, trust, cluster, is_open in rows.iterator():
        yield [
            name,
            kinds.get(kind, kind),
            urn,
            phases.get(phase, phase),
            kind_of,
            la,
            postcode,
            trust,
            cluster,
            is_open,
        ]


LEADER_HEADER = [
    "Name",
    "Email",
    "Designation",
    "Based at",
    "Specialisms",
    "Phases",
    "Capacity (days per term)",
    "Accreditation expires",
    "DBS check date",
    "Active",
    "Attention",
]


def leader_rows(profiles: QuerySet[SystemLeaderProfile]) -> Iterator[list]:
    profiles = profiles.prefetch_related(None)
    specialisms = defaultdict(list)
    for profile_id, name in (
        SystemLeaderProfile.specialisms.through.objects.filter(
            systemleaderprofile_id__in=profiles.values("pk")
        )
        .order_by("specialism__name")
        .values_list("systemleaderprofile_id", "specialism__name")
    ):
        specialisms[profile_id].append(name)
    homes = defaultdict(list)
    for user_id, name in (
        Membership.objects.filter(role=Role.SYSTEM_LEADER, user_id__in=profiles.values("user_id"))
        .order_by("organisation__name")
        .values_list("user_id", "organisation__name")
    ):
        homes[user_id].append(name)
    today = timezone.localdate()
    for profile in profiles.select_related("user").iterator():
        yield [
            profile.user.full_name,
            profile.user.email,
            profile.get_designation_display(),
            ", ".join(homes[profile.user_id]),
            ", ".join(specialisms[profile.pk]),
            profile.get_phases_display(),
            profile.capacity_days_per_term,
            profile.accreditation_expires,
            profile.dbs_checked_on,
            profile.active,
            "; ".join(leader_alerts(profile, today)),
        ]
