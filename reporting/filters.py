import django_filters
from django.db.models import Max, Min

from brokerage.filters import (
    DATE_INPUT,
    CommissionWorkFilter,
    academic_year_bounds,
    academic_year_choices,
)
from brokerage.models import ReportingDeadline

from .models import ImpactReport

NOT_STARTED = "not_started"


class ReportFilter(CommissionWorkFilter):
    """Reporting deadlines, each with its report (or none yet), filtered by the report and
    by the commission behind it."""

    path = "commission__"

    status = django_filters.ChoiceFilter(
        label="Status",
        choices=[(NOT_STARTED, "Not started"), *ImpactReport.Status.choices],
        empty_label="Any",
        method="by_status",
    )
    kind = django_filters.ChoiceFilter(choices=ReportingDeadline.Kind.choices, empty_label="Any")
    due_after = django_filters.DateFilter(
        label="Due from", field_name="due", lookup_expr="gte", widget=DATE_INPUT
    )
    due_before = django_filters.DateFilter(
        label="Due by", field_name="due", lookup_expr="lte", widget=DATE_INPUT
    )

    class Meta:
        model = ReportingDeadline
        fields = [
            "q",
            "status",
            "kind",
            "due_after",
            "due_before",
            "cluster",
            "local_authority",
            "lead_organisation",
            "stream",
            "academic_year",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.filters["state"]

    def year_choices(self):
        span = self.queryset.order_by().aggregate(first=Min("due"), last=Max("due"))
        return academic_year_choices(span["first"], span["last"])

    def by_academic_year(self, queryset, name, value):
        """Reports due in the school year."""
        first, last = academic_year_bounds(value)
        return queryset.filter(due__gte=first, due__lte=last)

    def by_status(self, queryset, name, value):
        if value == NOT_STARTED:
            return queryset.filter(report__isnull=True)
        return queryset.filter(report__status=value)
