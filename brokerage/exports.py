"""The pipeline and commission lists as CSV rows (written by ``trust.csv_export``).

Each function takes the filtered queryset the page shows; related names are loaded in one
query each before the rows stream, so the number of queries does not depend on the rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal

from django.db.models import Exists, OuterRef, QuerySet

from trust.models import Role, User

from .models import Commission, CommissionLeader, FundingAllocation, Offer, SupportRequest

REQUEST_HEADER = [
    "School",
    "URN",
    "Local authority",
    "Cluster",
    "Request",
    "State",
    "Priority",
    "Needs",
    "Days sought",
    "Funding sought (£)",
    "Desired start",
    "Raised on",
    "Raised by",
    "In this state since",
    "Offered to",
]


def request_rows(requests: QuerySet[SupportRequest]) -> Iterator[list]:
    requests = requests.prefetch_related(None)
    offered = defaultdict(list)
    for request_id, name in (
        Offer.objects.open()
        .filter(request__in=requests.values("pk"))
        .order_by("offered_at")
        .values_list("request_id", "lead_organisation__name")
    ):
        offered[request_id].append(name)
    for r in requests.iterator():
        school = r.school
        yield [
            school.name,
            school.urn,
            school.local_authority,
            school.cluster.name if school.cluster else "",
            r.title,
            r.get_status_display(),
            r.get_priority_display(),
            r.get_need_areas_display(),
            r.days_sought,
            r.funding_sought,
            r.desired_start,
            r.created_at,
            r.raised_by.full_name,
            r.status_changed_at,
            ", ".join(offered[r.pk]),
        ]


COMMISSION_HEADER = [
    "School",
    "URN",
    "Local authority",
    "Cluster",
    "Request",
    "Lead organisation",
    "Lead System Leader",
    "Supporting leaders",
    "Start",
    "End",
    "School year",
    "Days allocated",
    "Funding (£)",
    "Funding streams",
]


def commission_rows(commissions: QuerySet[Commission], *, user: User) -> Iterator[list]:
    """A funder who sees a commission only because it spends their money sees only their
    own streams' money in it, as on the commission's page."""
    commissions = commissions.prefetch_related(None)
    ids = commissions.values("pk")
    leaders = defaultdict(lambda: {"lead": [], "supporting": []})
    for commission_id, role, name in CommissionLeader.objects.filter(
        commission__in=ids
    ).values_list("commission_id", "role", "leader__user__full_name"):
        leaders[commission_id][role].append(name)
    allocations = defaultdict(list)
    for commission_id, stream, year, funder_id, amount, carry_forward in (
        FundingAllocation.objects.filter(commission__in=ids)
        .order_by("carry_forward", "stream__academic_year", "pk")
        .values_list(
            "commission_id",
            "stream__name",
            "stream__academic_year",
            "stream__funder_id",
            "amount",
            "carry_forward",
        )
    ):
        allocations[commission_id].append((stream, year, funder_id, amount, carry_forward))
    funders = user.organisation_ids_for(Role.FUNDER_VIEWER)
    works_on = Commission.objects.exclude_funder_access(user).filter(pk=OuterRef("pk"))
    rows = commissions.select_related("request__school__cluster", "lead_organisation").annotate(
        works_on=Exists(works_on)
    )
    for c in rows.iterator():
        school = c.request.school
        money = [a for a in allocations[c.pk] if c.works_on or a[2] in funders]
        yield [
            school.name,
            school.urn,
            school.local_authority,
            school.cluster.name if school.cluster else "",
            c.request.title,
            c.lead_organisation.name,
            ", ".join(leaders[c.pk][CommissionLeader.Role.LEAD]),
            ", ".join(leaders[c.pk][CommissionLeader.Role.SUPPORTING]),
            c.start,
            c.end,
            c.academic_year,
            c.days_allocated,
            sum((a[3] for a in money), Decimal("0.00")),
            "; ".join(
                f"{stream} {year}{' (carry-forward)' if carry else ''}: £{amount}"
                for stream, year, _, amount, carry in money
            ),
        ]
