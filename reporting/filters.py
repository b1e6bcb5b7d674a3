import django_filters
from django.db.models import Q

from brokerage.models import FundingStream, ReportingDeadline

from .models import ImpactReport

NOT_STARTED = "not_started"


class ReportFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label="School or URN", method="search", max_length=100)
    status = django_filters.ChoiceFilter(
        choices=[(NOT_STARTED, "Not started"), *ImpactReport.Status.choices],
        empty_label="Any",
        method="by_status",
    )
    kind = django_filters.ChoiceFilter(choices=ReportingDeadline.Kind.choices, empty_label="Any")
    stream = django_filters.ModelChoiceFilter(
        label="Funding stream",
        field_name="commission__allocations__stream",
        queryset=FundingStream.objects.none(),
        empty_label="Any",
        distinct=True,
    )
    due_after = django_filters.DateFilter(
        label="Due from",
        field_name="due",
        lookup_expr="gte",
        widget=django_filters.widgets.forms.DateInput(attrs={"type": "date"}),
    )
    due_before = django_filters.DateFilter(
        label="Due by",
        field_name="due",
        lookup_expr="lte",
        widget=django_filters.widgets.forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = ReportingDeadline
        fields = ["q", "status", "kind", "stream", "due_after", "due_before"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["stream"].queryset = FundingStream.objects.visible_to(user)

    def by_status(self, queryset, name, value):
        if value == NOT_STARTED:
            return queryset.filter(report__isnull=True)
        return queryset.filter(report__status=value)

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(
            Q(commission__request__school__name__icontains=value)
            | Q(commission__request__school__urn=value)
        )
