"""Reads for brokerage screens, scoped and with their joins done."""

from __future__ import annotations

import datetime
from collections import defaultdict
from decimal import Decimal

from django.db.models import Count, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404

from trust.history import History, history_of
from trust.models import Role, SystemLeaderProfile, User
from trust.selectors import leader_list_for, with_leader_details

from .matching import (
    LeaderFacts,
    Match,
    NeedFacts,
    SchoolFacts,
    Term,
    days_per_term,
    rank,
    score,
    term_of,
)
from .models import (
    Candidate,
    Commission,
    CommissionLeader,
    FundingAllocation,
    FundingStream,
    NeedArea,
    Offer,
    ReportingDeadline,
    SupportRequest,
)

# ------------------------------------------------------------------ gatekeepers


def request_list_for(*, user: User) -> QuerySet[SupportRequest]:
    open_offers = Offer.objects.open().select_related("lead_organisation")
    return (
        SupportRequest.objects.visible_to(user)
        .select_related("school", "school__cluster", "subject", "raised_by")
        .prefetch_related(Prefetch("offers", queryset=open_offers, to_attr="open_offers"))
    )


def access_request(*, user: User, pk: int) -> SupportRequest:
    return get_object_or_404(request_list_for(user=user), pk=pk)


def offer_list_for(*, user: User) -> QuerySet[Offer]:
    return Offer.objects.visible_to(user).select_related(
        "request",
        "request__school",
        "lead_organisation",
        "proposed_lead__user",
        "offered_by",
        "responded_by",
    )


def access_offer(*, user: User, pk: int) -> Offer:
    return get_object_or_404(offer_list_for(user=user), pk=pk)


def commission_list_for(*, user: User) -> QuerySet[Commission]:
    return (
        Commission.objects.visible_to(user)
        .select_related("request", "request__school", "lead_organisation")
        .prefetch_related(
            Prefetch(
                "leaders",
                queryset=CommissionLeader.objects.select_related("leader__user"),
            ),
            Prefetch("allocations", queryset=FundingAllocation.objects.select_related("stream")),
        )
    )


def access_commission(*, user: User, pk: int) -> Commission:
    return get_object_or_404(commission_list_for(user=user), pk=pk)


def stream_list_for(*, user: User) -> QuerySet[FundingStream]:
    return FundingStream.objects.visible_to(user).select_related("funder").with_allocated()


def access_stream(*, user: User, pk: int) -> FundingStream:
    return get_object_or_404(stream_list_for(user=user), pk=pk)


# -------------------------------------------------------------------- pipeline


def status_counts(requests: QuerySet[SupportRequest]) -> dict[str, int]:
    rows = requests.order_by().values("status").annotate(n=Count("pk"))
    counts = dict.fromkeys(SupportRequest.Status.values, 0)
    counts.update({row["status"]: row["n"] for row in rows})
    return counts


def request_timeline(request: SupportRequest, *, is_hub: bool):
    return request.events.for_viewer(is_hub=is_hub).select_related("actor")


def request_candidates(request: SupportRequest) -> QuerySet[Candidate]:
    return request.candidates.select_related("leader__user", "shortlisted_by")


def leader_loads(*, leader_ids, term: Term) -> dict[int, Decimal]:
    """Days each leader is committed to in a term, from the commissions that span it."""
    rows = CommissionLeader.objects.filter(
        leader_id__in=leader_ids,
        commission__start__lte=term.end,
        commission__end__gte=term.start,
    ).values_list("leader_id", "days", "commission__start", "commission__end")
    loads: dict[int, Decimal] = defaultdict(Decimal)
    for leader_id, days, start, end in rows:
        loads[leader_id] += days_per_term(days, start, end)
    return loads


def _leader_facts(profile: SystemLeaderProfile, load: Decimal, prior: set[int]) -> LeaderFacts:
    homes = [
        m.organisation for m in profile.user.memberships.all() if m.role == Role.SYSTEM_LEADER
    ]
    located = next((o for o in homes if o.easting is not None and o.northing is not None), None)
    trust_ids = {o.parent_trust_id for o in homes if o.parent_trust_id}
    trust_ids |= {o.pk for o in homes if o.kind in ("trust", "teaching_school")}
    return LeaderFacts(
        pk=profile.pk,
        name=profile.user.full_name,
        specialisms=frozenset(s.code for s in profile.specialisms.all()),
        phases=frozenset(profile.phases),
        remaining_days=profile.capacity_days_per_term - load,
        home_ids=frozenset(o.pk for o in homes),
        home_trust_ids=frozenset(trust_ids),
        easting=located.easting if located else None,
        northing=located.northing if located else None,
        accreditation_expires=profile.accreditation_expires,
        active=profile.active and profile.user.is_active,
        worked_with_school=profile.pk in prior,
    )


def school_facts(request: SupportRequest) -> SchoolFacts:
    school = request.school
    return SchoolFacts(
        pk=school.pk,
        phase=school.phase,
        easting=school.easting,
        northing=school.northing,
        trust_id=school.parent_trust_id,
    )


def match_leaders(
    *, request: SupportRequest, profiles: QuerySet[SystemLeaderProfile], today: datetime.date
) -> tuple[list[Match], list[Match]]:
    """The given leaders scored against the request: eligible ones best first, and the
    excluded ones with their reasons. A fixed number of queries however many leaders."""
    profiles = list(with_leader_details(profiles))
    loads = leader_loads(leader_ids=[p.pk for p in profiles], term=term_of(today))
    prior = set(
        CommissionLeader.objects.filter(commission__request__school=request.school).values_list(
            "leader_id", flat=True
        )
    )
    need = NeedFacts(
        specialisms=frozenset(request.needed_specialisms()), days_sought=request.days_sought
    )
    school = school_facts(request)
    matches = [
        score(need, school, _leader_facts(p, loads.get(p.pk, Decimal("0")), prior), today)
        for p in profiles
    ]
    return rank(matches)


def match_leaders_for(*, request: SupportRequest, user: User, today: datetime.date):
    """Every system leader the user may see, scored against the request."""
    return match_leaders(
        request=request, profiles=SystemLeaderProfile.objects.visible_to(user), today=today
    )


def lead_organisation_choices(*, request: SupportRequest):
    from trust.models import Organisation

    return (
        Organisation.objects.trusts()
        .open()
        .filter(hub=request.hub)
        .exclude(pk=request.school.parent_trust_id)
    )


def trust_leader_choices(*, user: User, offer: Offer) -> QuerySet[SystemLeaderProfile]:
    """Leaders a trust lead may name on accepting an offer: the active ones based in their
    trust and its schools, and the leader the hub proposed."""
    theirs = leader_list_for(user=user).active().values("pk")
    return (
        SystemLeaderProfile.objects.filter(Q(pk__in=theirs) | Q(pk=offer.proposed_lead_id))
        .select_related("user")
        .order_by("user__full_name")
    )


# --------------------------------------------------------------------- history


def _need_areas_text(codes) -> str:
    labels = dict(NeedArea.choices)
    return ", ".join(str(labels.get(code, code)) for code in codes or [])


def request_history(request: SupportRequest, *, is_hub: bool) -> History:
    """The request's changes. Its status trail is the timeline's to show (the timeline keeps
    the hub's deliberation, e.g. which trust declined, from the school), so only hub staff
    see status changes here."""
    return history_of(
        request.history.all(),
        hide=() if is_hub else ("status",),
        formatters={"need_areas": _need_areas_text},
    )


def commission_history(commission: Commission, *, user: User, funder_only: bool) -> dict:
    """The commission's own changes, its funding's and its reporting schedule's. A funder
    sees neither the grant conditions nor other funders' money, as on the page."""
    allocations = FundingAllocation.history.filter(commission_id=commission.pk)
    if funder_only:
        allocations = allocations.filter(
            stream__funder_id__in=user.organisation_ids_for(Role.FUNDER_VIEWER)
        )
    return {
        "commission": history_of(
            commission.history.all(),
            hide=("request", "offer", *(("grant_conditions",) if funder_only else ())),
        ),
        "funding": history_of(
            allocations, hide=("commission", "stream"), subject="stream", created_values=True
        ),
        "deadlines": history_of(
            ReportingDeadline.history.filter(commission_id=commission.pk),
            hide=("commission", "kind"),
            subject="kind",
            created_values=True,
        ),
    }
