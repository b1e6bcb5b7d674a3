"""The programme dashboard: the whole of a hub's programme (or a trust's part of it, or a
funder's money) at a glance.

``scope_for(user)`` decides what the dashboard covers: hub staff see their hubs' commissions
and requests, a trust lead the commissions their trust leads, a funder viewer the
commissions their streams pay for (and only their own money). ``build(scope, filters, today)``
then computes every section with a fixed number of queries, each an aggregate in the
database, so the page costs the same with 6 commissions or 1,000 and 20,000 visits.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django import forms
from django.conf import settings
from django.db.models import Count, F, Max, Min, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from brokerage.filters import academic_year_bounds, academic_year_choices
from brokerage.matching import term_of
from brokerage.models import (
    Commission,
    FundingAllocation,
    FundingStream,
    ReportingDeadline,
    SupportRequest,
    academic_year_of,
)
from brokerage.selectors import leader_loads
from deployments.models import RAG, Objective, Visit
from trust.models import HUB_ROLES, Cluster, Organisation, Role, SystemLeaderProfile
from trust.selectors import leader_list_for, leaders_based_at

from . import charts
from .models import ImpactReport, SpendLine

OPEN_STATES = [
    SupportRequest.Status.SUBMITTED,
    SupportRequest.Status.TRIAGE,
    SupportRequest.Status.BROKERING,
    SupportRequest.Status.OFFERED,
]
AGE_BUCKETS = [("Under a week", 0, 7), ("1 to 4 weeks", 7, 28), ("Over 4 weeks", 28, None)]
DUE_SOON_DAYS = 30
WEEKS = 13  # "the last term": thirteen weeks up to this one
SHOWN = 12  # rows in the dashboard's lists before "and N more"
LATE = (ImpactReport.Status.DRAFT, ImpactReport.Status.RETURNED)


@dataclass
class Scope:
    kind: str  # "hub", "trust" or "funder"
    label: str
    organisations: list[Organisation]
    commissions: QuerySet[Commission]
    requests: QuerySet[SupportRequest] | None
    streams: QuerySet[FundingStream]
    leaders: QuerySet[SystemLeaderProfile] | None
    funder_ids: set[int] | None = None  # a funder sees only their own money

    @property
    def links(self) -> bool:
        """Whether rows link to commissions and reports (funders read figures only)."""
        return self.kind != "funder"


def scope_for(user) -> Scope | None:
    hub_ids = user.organisation_ids_for(*HUB_ROLES)
    if hub_ids:
        hubs = list(Organisation.objects.filter(pk__in=hub_ids).order_by("name"))
        return Scope(
            kind="hub",
            label=", ".join(h.name for h in hubs),
            organisations=hubs,
            commissions=Commission.objects.filter(request__hub_id__in=hub_ids),
            requests=SupportRequest.objects.filter(hub_id__in=hub_ids),
            streams=FundingStream.objects.filter(hub_id__in=hub_ids),
            leaders=leader_list_for(user=user),
        )
    trust_ids = user.organisation_ids_for(Role.TRUST_LEAD)
    if trust_ids:
        trusts = list(Organisation.objects.filter(pk__in=trust_ids).order_by("name"))
        commissions = Commission.objects.filter(lead_organisation_id__in=trust_ids)
        return Scope(
            kind="trust",
            label=", ".join(t.name for t in trusts),
            organisations=trusts,
            commissions=commissions,
            requests=None,
            streams=FundingStream.objects.filter(
                pk__in=FundingAllocation.objects.filter(commission__in=commissions).values(
                    "stream"
                )
            ),
            leaders=leaders_based_at(user=user, organisations=trusts),
        )
    funder_ids = user.organisation_ids_for(Role.FUNDER_VIEWER)
    if funder_ids:
        funders = list(Organisation.objects.filter(pk__in=funder_ids).order_by("name"))
        return Scope(
            kind="funder",
            label=", ".join(f.name for f in funders),
            organisations=funders,
            commissions=Commission.objects.filter(
                pk__in=FundingAllocation.objects.filter(stream__funder_id__in=funder_ids).values(
                    "commission"
                )
            ),
            requests=None,
            streams=FundingStream.objects.filter(funder_id__in=funder_ids),
            leaders=None,
            funder_ids=funder_ids,
        )
    return None


class DashboardFilterForm(forms.Form):
    year = forms.ChoiceField(label="Academic year", required=False)
    stream = forms.ModelChoiceField(
        label="Funding stream", queryset=FundingStream.objects.none(), required=False
    )
    cluster = forms.ModelChoiceField(
        label="Cluster", queryset=Cluster.objects.none(), required=False
    )
    la = forms.ChoiceField(label="Local authority", required=False)

    def __init__(self, *args, scope: Scope, today: datetime.date, **kwargs):
        super().__init__(*args, **kwargs)
        # Choices come from what the scope holds, so no option names another hub's data.
        schools = Organisation.objects.filter(pk__in=scope.commissions.values("request__school"))
        if scope.requests is not None:
            schools = Organisation.objects.filter(
                Q(pk__in=scope.requests.values("school")) | Q(pk__in=schools)
            )
        years = {academic_year_of(today)}
        years.update(scope.streams.values_list("academic_year", flat=True))
        bounds = scope.commissions.aggregate(first=Min("start"), last=Max("end"))
        if bounds["first"]:
            span = academic_year_choices(bounds["first"], min(bounds["last"], today))
            years.update(year for year, _ in span)
        self.fields["year"].choices = [("", "All years")] + [
            (y, y) for y in sorted(years, reverse=True)
        ]
        self.fields["stream"].queryset = scope.streams.order_by("-academic_year", "name")
        self.fields["stream"].empty_label = "All streams"
        self.fields["cluster"].queryset = Cluster.objects.filter(
            pk__in=schools.values("cluster")
        ).order_by("name")
        self.fields["cluster"].empty_label = "All clusters"
        las = (
            schools.exclude(local_authority="")
            .order_by("local_authority")
            .values_list("local_authority", flat=True)
            .distinct()
        )
        self.fields["la"].choices = [("", "All local authorities")] + [(la, la) for la in las]

    def filters(self) -> dict:
        """The valid choices; an invalid one is reported on the form and left out."""
        if not self.is_bound:
            return {}
        self.is_valid()
        return {k: v for k, v in self.cleaned_data.items() if v}


def _filtered(scope: Scope, f: dict):
    commissions, requests = scope.commissions, scope.requests
    school_q = Q()
    if f.get("cluster"):
        school_q &= Q(school__cluster=f["cluster"])
    if f.get("la"):
        school_q &= Q(school__local_authority=f["la"])
    if school_q:
        commissions = commissions.filter(
            request__in=SupportRequest.objects.filter(school_q).values("pk")
        )
        if requests is not None:
            requests = requests.filter(school_q)
    if f.get("year"):
        first, last = academic_year_bounds(f["year"])
        commissions = commissions.filter(start__lte=last, end__gte=first)
        if requests is not None:
            requests = requests.filter(created_at__date__range=(first, last))
    if f.get("stream"):
        commissions = commissions.filter(
            pk__in=FundingAllocation.objects.filter(stream=f["stream"]).values("commission")
        )
    return commissions, requests


def _requests_section(requests, now: datetime.datetime):
    if requests is None:
        return None
    aggregates = {"count": Count("pk"), "oldest": Min("status_changed_at")}
    for i, (_label, low, high) in enumerate(AGE_BUCKETS):
        q = Q(status_changed_at__lte=now - datetime.timedelta(days=low))
        if high is not None:
            q &= Q(status_changed_at__gt=now - datetime.timedelta(days=high))
        aggregates[f"b{i}"] = Count("pk", filter=q)
    rows = {
        r["status"]: r
        for r in requests.filter(status__in=OPEN_STATES).values("status").annotate(**aggregates)
    }
    labels = dict(SupportRequest.Status.choices)
    table = []
    for status in OPEN_STATES:
        row = rows.get(status, {})
        oldest = row.get("oldest")
        table.append(
            {
                "status": status,
                "label": labels[status],
                "count": row.get("count", 0),
                "buckets": [row.get(f"b{i}", 0) for i in range(len(AGE_BUCKETS))],
                "oldest_days": (now - oldest).days if oldest else None,
            }
        )
    chart = charts.bars(
        "Open requests by state and time in that state",
        "For each state a request can wait in, how many requests are there now, split by "
        "how long they have been in that state.",
        [r["label"] for r in table],
        [
            charts.Series(label, [r["buckets"][i] for r in table])
            for i, (label, _, _) in enumerate(AGE_BUCKETS)
        ],
        stacked=True,
    )
    return {"rows": table, "total": sum(r["count"] for r in table), "chart": chart}


def _commission_section(commissions, scope: Scope, today: datetime.date):
    hours_per_day = Decimal(str(settings.HOURS_PER_DAY))
    totals = commissions.aggregate(
        count=Count("pk"),
        active=Count("pk", filter=Q(start__lte=today, end__gte=today)),
        days=Coalesce(Sum("days_allocated"), Decimal(0)),
    )
    by_org = list(
        commissions.values("lead_organisation", name=F("lead_organisation__name"))
        .annotate(days=Sum("days_allocated"), n=Count("pk"))
        .order_by("-days", "name")
    )
    used_rows = (
        Visit.objects.filter(deployment__commission__in=commissions)
        .values(org=F("deployment__commission__lead_organisation"))
        .annotate(hours=Sum("duration_hours"))
    )
    used = {r["org"]: r["hours"] / hours_per_day for r in used_rows}
    totals["used"] = sum(used.values(), Decimal(0)).quantize(Decimal("0.1"))
    shown = by_org[:10]
    if len(by_org) > 10:
        rest = by_org[10:]
        shown.append(
            {
                "lead_organisation": None,
                "name": f"{len(rest)} other organisations",
                "days": sum(r["days"] for r in rest),
                "others": [r["lead_organisation"] for r in rest],
            }
        )
    for row in shown:
        ids = row.get("others") or [row["lead_organisation"]]
        row["used"] = sum((used.get(i, Decimal(0)) for i in ids), Decimal(0))
    title = "Days allocated and used by lead organisation"
    if scope.kind == "trust":
        title = "Days allocated and used"
    chart = charts.bars(
        title,
        "Days allocated to commissions and days used so far (visit hours divided by "
        f"{hours_per_day} hours a day), per lead organisation, largest first.",
        [r["name"] for r in shown],
        [
            charts.Series("Allocated", [r["days"] for r in shown]),
            charts.Series("Used", [r["used"].quantize(Decimal("0.1")) for r in shown]),
        ],
    )
    return {"totals": totals, "chart": chart}


def _funding_section(commissions, scope: Scope, f: dict):
    allocations = FundingAllocation.objects.filter(commission__in=commissions)
    spend = SpendLine.objects.filter(allocation__commission__in=commissions)
    if scope.funder_ids is not None:
        allocations = allocations.filter(stream__funder_id__in=scope.funder_ids)
        spend = spend.filter(allocation__stream__funder_id__in=scope.funder_ids)
    if f.get("stream"):
        allocations = allocations.filter(stream=f["stream"])
        spend = spend.filter(allocation__stream=f["stream"])
    rows: dict[tuple, dict] = {}
    for r in allocations.values(
        "stream", "carry_forward", name=F("stream__name"), year=F("stream__academic_year")
    ).annotate(allocated=Sum("amount")):
        rows[(r["stream"], r["carry_forward"])] = {**r, "spent": Decimal(0)}
    for r in spend.values(
        stream=F("allocation__stream"), carry_forward=F("allocation__carry_forward")
    ).annotate(spent=Sum("amount")):
        if (r["stream"], r["carry_forward"]) in rows:
            rows[(r["stream"], r["carry_forward"])]["spent"] = r["spent"]
    table = sorted(rows.values(), key=lambda r: (r["carry_forward"], r["year"], r["name"]))
    for row in table:
        row["label"] = f"{row['year']} {row['name']}" + (
            " (carry-forward)" if row["carry_forward"] else ""
        )
        row["remaining"] = row["allocated"] - row["spent"]

    def total(carry):
        chosen = [r for r in table if carry is None or r["carry_forward"] == carry]
        return {
            "allocated": sum((r["allocated"] for r in chosen), Decimal(0)),
            "spent": sum((r["spent"] for r in chosen), Decimal(0)),
        }

    chart = charts.bars(
        "Funding allocated and spent by stream",
        "Money allocated to commissions from each funding stream and the spend recorded "
        "against it; carry-forward from an earlier year is shown as its own row.",
        [r["label"] for r in table],
        [
            charts.Series("Allocated", [r["allocated"] for r in table]),
            charts.Series("Spent", [r["spent"] for r in table]),
        ],
        fmt=charts.money,
    )
    return {
        "rows": table,
        "new": total(False),
        "carry_forward": total(True),
        "combined": total(None),
        "chart": chart,
    }


def _reports_section(commissions, today: datetime.date):
    late = Q(report__isnull=True) | Q(report__status__in=LATE)
    soon = today + datetime.timedelta(days=DUE_SOON_DAYS)
    deadlines = ReportingDeadline.objects.filter(commission__in=commissions).filter(late)
    counts = deadlines.aggregate(
        overdue=Count("pk", filter=Q(due__lt=today)),
        due_soon=Count("pk", filter=Q(due__gte=today, due__lte=soon)),
    )
    rows = list(
        deadlines.filter(due__lte=soon)
        .select_related("commission__request__school", "commission__lead_organisation", "report")
        .order_by("due", "pk")[:SHOWN]
    )
    for row in rows:
        row.days_late = (today - row.due).days
    return {**counts, "rows": rows}


def _capacity_section(scope: Scope, today: datetime.date):
    if scope.leaders is None:
        return None
    term = term_of(today)
    # Only what the table needs: the scope's queryset prefetches details for leader lists.
    profiles = list(
        SystemLeaderProfile.objects.filter(pk__in=scope.leaders.values("pk"), active=True)
        .select_related("user")
        .only("capacity_days_per_term", "user__full_name")
        .order_by("user__full_name")
    )
    loads = leader_loads(leader_ids=[p.pk for p in profiles], term=term)
    rows = []
    for p in profiles:
        load = loads.get(p.pk, Decimal(0))
        rows.append(
            {
                "profile": p,
                "capacity": p.capacity_days_per_term,
                "allocated": load,
                "over": load > p.capacity_days_per_term,
                "ratio": load / p.capacity_days_per_term if p.capacity_days_per_term else 99,
            }
        )
    rows.sort(key=lambda r: (-r["ratio"], r["profile"].user.full_name))
    shown = rows[:SHOWN]
    chart = charts.bars(
        f"System leaders' days this term ({term})",
        "Days each leader is committed to this term against the days they offer; the most "
        "committed first. A leader over their capacity is marked 'over' in the table.",
        [r["profile"].user.full_name + (" (over)" if r["over"] else "") for r in shown],
        [
            charts.Series("Capacity", [r["capacity"] for r in shown]),
            charts.Series("Allocated", [r["allocated"] for r in shown]),
        ],
    )
    return {
        "term": term,
        "rows": shown,
        "count": len(rows),
        "over": sum(r["over"] for r in rows),
        "capacity": sum((r["capacity"] for r in rows), Decimal(0)),
        "allocated": sum((r["allocated"] for r in rows), Decimal(0)),
        "chart": chart,
    }


def _visits_section(commissions, today: datetime.date):
    this_week = today - datetime.timedelta(days=today.weekday())
    first = this_week - datetime.timedelta(weeks=WEEKS - 1)
    # Grouped by day in the database (at most 91 rows) and into weeks here: SQLite's week
    # truncation is a Python function called per visit, ten times slower than this.
    counts: dict[datetime.date, int] = defaultdict(int)
    for day, n in (
        Visit.objects.filter(
            deployment__commission__in=commissions, date__gte=first, date__lte=today
        )
        .values_list("date")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        counts[day - datetime.timedelta(days=day.weekday())] += n
    weeks = [first + datetime.timedelta(weeks=i) for i in range(WEEKS)]
    values = [counts.get(w, 0) for w in weeks]
    chart = charts.columns(
        "Visits per week, last 13 weeks",
        f"Records of visit by the week they took place, from the week of "
        f"{weeks[0]:%-d %B %Y} to this week.",
        [f"{w:%-d %b}" for w in weeks],
        values,
        series_name="Visits",
    )
    return {"total": sum(values), "chart": chart}


def _rag_section(commissions):
    counts = defaultdict(int)
    for r in (
        Objective.objects.filter(plan__commission__in=commissions)
        .values("rag")
        .annotate(n=Count("pk"))
    ):
        counts[r["rag"]] += r["n"]
    order = [(RAG.RED, "Red: off track"), (RAG.AMBER, "Amber: some progress")]
    order += [(RAG.GREEN, "Green: on track"), ("", "Not yet rated")]
    chart = charts.bars(
        "Objectives by RAG rating",
        "How many action-plan objectives are rated red (off track), amber (some progress), "
        "green (on track) or not yet rated.",
        [label for _, label in order],
        [charts.Series("Objectives", [counts[k] for k, _ in order])],
        row_styles=[charts.RAG_STYLES[k] for k, _ in order],
    )
    return {"total": sum(counts.values()), "chart": chart}


def cache_key(scope: Scope, f: dict, today: datetime.date) -> str:
    """Everyone with the same scope (the same hubs, trusts or funders) and filters shares one
    computed dashboard; nobody is ever served another scope's."""
    orgs = ",".join(str(o.pk) for o in sorted(scope.organisations, key=lambda o: o.pk))
    chosen = ",".join(f"{k}={getattr(v, 'pk', v)}" for k, v in sorted(f.items()))
    return f"dashboard:v1:{scope.kind}:{orgs}:{today.isoformat()}:{chosen}"


def build(scope: Scope, f: dict, today: datetime.date, now: datetime.datetime) -> dict:
    commissions, requests = _filtered(scope, f)
    return {
        "computed_at": now,
        "requests": _requests_section(requests, now),
        "commissions": _commission_section(commissions, scope, today),
        "funding": _funding_section(commissions, scope, f),
        "reports": _reports_section(commissions, today),
        "capacity": _capacity_section(scope, today),
        "visits": _visits_section(commissions, today),
        "rag": _rag_section(commissions),
    }
