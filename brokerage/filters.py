import django_filters
from django.db.models import Q

from trust.models import Cluster

from .models import FundingStream, NeedArea, SupportRequest


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
        fields = ["q", "status", "cluster", "need", "priority", "stream"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["cluster"].queryset = Cluster.objects.visible_to(user)
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
