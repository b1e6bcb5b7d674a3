"""Filters for the brokerage lists, and the commission filters the deployment and visit
lists reuse. Every choice a filter offers comes from what the user may see, so an id of
another hub's cluster, trust or stream is refused with a message like any bad choice."""

import datetime

import django_filters
from django.db.models import Max, Min, Q
from django.utils import timezone

from trust.models import HUB_ROLES, Cluster, Organisation, Role

from .models import (
    Commission,
    CommissionLeader,
    FundingStream,
    NeedArea,
    SupportRequest,
    academic_year_of,
)

DATE_INPUT = django_filters.widgets.forms.DateInput(attrs={"type": "date"})


def local_authority_choices(queryset, field: str) -> list[tuple[str, str]]:
    """The local authorities of the rows the user may see, for a filter's choices."""
    names = (
        queryset.order_by()
        .exclude(**{field: ""})
        .values_list(field, flat=True)
        .distinct()
        .order_by(field)
    )
    return [(name, name) for name in names]


def academic_year_bounds(year: str) -> tuple[datetime.date, datetime.date]:
    start = int(year[:4])
    return datetime.date(start, 9, 1), datetime.date(start + 1, 8, 31)


def academic_year_choices(first: datetime.date | None, last: datetime.date | None):
    """The school years from ``first`` to ``last``, newest first."""
    if first is None or last is None:
        return []
    years, day = [], first
    while day <= last:
        year = academic_year_of(day)
        years.append((year, year))
        day = academic_year_bounds(year)[1] + datetime.timedelta(days=1)
        if len(years) > 50:  # a mistyped date far in the future must not make a long list
            break
    return years[::-1]


class CommissionWorkFilter(django_filters.FilterSet):
    """Filters on the commission behind each row: its school, cluster, local authority,
    lead organisation, funding stream, school year and whether it is under way.
    ``path`` is how the rows reach their commission ("" for commissions themselves)."""

    path = ""

    q = django_filters.CharFilter(label="School, URN or leader", method="search", max_length=100)
    state = django_filters.ChoiceFilter(
        label="Support",
        choices=[("upcoming", "Not started"), ("active", "Under way"), ("ended", "Ended")],
        empty_label="Any",
        method="by_state",
    )
    cluster = django_filters.ModelChoiceFilter(
        label="Cluster", queryset=Cluster.objects.none(), empty_label="Any", method="by_cluster"
    )
    local_authority = django_filters.ChoiceFilter(
        label="Local authority", empty_label="Any", method="by_local_authority"
    )
    lead_organisation = django_filters.ModelChoiceFilter(
        label="Lead organisation",
        queryset=Organisation.objects.none(),
        empty_label="Any",
        method="by_lead_organisation",
    )
    stream = django_filters.ModelChoiceFilter(
        label="Funding stream",
        queryset=FundingStream.objects.none(),
        empty_label="Any",
        method="by_stream",
    )
    academic_year = django_filters.ChoiceFilter(
        label="School year", empty_label="Any", method="by_academic_year"
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = timezone.localdate()
        self.filters["cluster"].queryset = Cluster.objects.visible_to(user)
        # Choices come from the commissions the user may see, not from the rows: a list of
        # 20,000 visits would otherwise be read twice more just to fill two selects.
        self.commissions = Commission.objects.visible_to(user)
        self.filters["local_authority"].extra["choices"] = local_authority_choices(
            self.commissions, "request__school__local_authority"
        )
        self.filters["lead_organisation"].queryset = Organisation.objects.filter(
            pk__in=self.commissions.order_by().values("lead_organisation")
        )
        if user.roles & (HUB_ROLES | {Role.FUNDER_VIEWER}) or user.is_superuser:
            self.filters["stream"].queryset = FundingStream.objects.visible_to(user)
        else:
            # Only the hub and funders see funding streams.
            del self.filters["stream"]
        self.filters["academic_year"].extra["choices"] = self.year_choices()

    def year_choices(self):
        span = self.commissions.order_by().aggregate(first=Min("start"), last=Max("end"))
        return academic_year_choices(span["first"], span["last"])

    def p(self, lookup: str) -> str:
        return f"{self.path}{lookup}"

    def leader_match(self, value: str) -> Q:
        """Rows whose leaders' names match: any leader on the commission."""
        named = CommissionLeader.objects.filter(leader__user__full_name__icontains=value)
        return Q(**{self.p("pk__in"): named.values("commission")})

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(**{self.p("request__school__name__icontains"): value})
            | Q(**{self.p("request__school__urn"): value})
            | self.leader_match(value)
        )

    def by_state(self, queryset, name, value):
        today = self.today
        if value == "upcoming":
            return queryset.filter(**{self.p("start__gt"): today})
        if value == "ended":
            return queryset.filter(**{self.p("end__lt"): today})
        return queryset.filter(**{self.p("start__lte"): today, self.p("end__gte"): today})

    def by_cluster(self, queryset, name, value):
        return queryset.filter(**{self.p("request__school__cluster"): value})

    def by_local_authority(self, queryset, name, value):
        return queryset.filter(**{self.p("request__school__local_authority"): value})

    def by_lead_organisation(self, queryset, name, value):
        return queryset.filter(**{self.p("lead_organisation"): value})

    def by_stream(self, queryset, name, value):
        return queryset.filter(**{self.p("pk__in"): value.allocations.values("commission")})

    def by_academic_year(self, queryset, name, value):
        """Support running at any time in the school year."""
        first, last = academic_year_bounds(value)
        return queryset.filter(**{self.p("start__lte"): last, self.p("end__gte"): first})


class CommissionFilter(CommissionWorkFilter):
    class Meta:
        model = Commission
        fields = [
            "q",
            "state",
            "cluster",
            "local_authority",
            "lead_organisation",
            "stream",
            "academic_year",
        ]


class RequestFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label="School, URN or title", method="search", max_length=100)
    status = django_filters.ChoiceFilter(
        choices=SupportRequest.Status.choices, empty_label="Open requests", method="by_status"
    )
    cluster = django_filters.ModelChoiceFilter(
        field_name="school__cluster", queryset=Cluster.objects.none(), empty_label="Any"
    )
    need = django_filters.ChoiceFilter(
        label="Need", choices=NeedArea.choices, empty_label="Any", method="by_need"
    )
    local_authority = django_filters.ChoiceFilter(
        label="Local authority", field_name="school__local_authority", empty_label="Any"
    )
    priority = django_filters.ChoiceFilter(
        choices=SupportRequest.Priority.choices, empty_label="Any"
    )
    stream = django_filters.ModelChoiceFilter(
        label="Funding stream",
        field_name="commission__allocations__stream",
        queryset=FundingStream.objects.none(),
        empty_label="Any",
        distinct=True,
    )

    class Meta:
        model = SupportRequest
        fields = ["q", "status", "cluster", "local_authority", "need", "priority", "stream"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["cluster"].queryset = Cluster.objects.visible_to(user)
        self.filters["local_authority"].extra["choices"] = local_authority_choices(
            self.queryset, "school__local_authority"
        )
        self.filters["stream"].queryset = FundingStream.objects.visible_to(user)

    def filter_queryset(self, queryset):
        # With no status chosen the pipeline shows the requests still in play; but only
        # commissioned (closed) requests have funding, so a chosen stream shows those.
        cleaned = self.form.cleaned_data
        if not cleaned.get("status") and not cleaned.get("stream"):
            queryset = queryset.open()
        return super().filter_queryset(queryset)

    def without_status(self):
        """The requests the other filters select, in every state: for the counts per state."""
        queryset = self.queryset
        for name, value in self.form.cleaned_data.items():
            if name != "status":
                queryset = self.filters[name].filter(queryset, value)
        return queryset

    def by_status(self, queryset, name, value):
        return queryset.filter(status=value)

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(
            Q(school__name__icontains=value) | Q(school__urn=value) | Q(title__icontains=value)
        )

    def by_need(self, queryset, name, value):
        # Need areas are a short JSON list; the quoted code matches on SQLite and PostgreSQL.
        return queryset.filter(need_areas__icontains=f'"{value}"')
