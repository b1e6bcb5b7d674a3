"""Filters for the deployment and visit lists: the commission filters of brokerage, and what
belongs to deployments and visits themselves (role, dates, mode, RAG, the school's reply)."""

import django_filters
from django import forms
from django.db.models import Q

from brokerage.filters import (
    DATE_INPUT,
    CommissionWorkFilter,
    academic_year_bounds,
)
from brokerage.models import CommissionLeader

from .models import RAG, Deployment, Visit, VisitObjective

COMMISSION_FIELDS = [
    "q",
    "state",
    "cluster",
    "local_authority",
    "lead_organisation",
    "stream",
    "academic_year",
]


class DeploymentFilter(CommissionWorkFilter):
    path = "commission__"

    role = django_filters.ChoiceFilter(choices=CommissionLeader.Role.choices, empty_label="Any")

    class Meta:
        model = Deployment
        fields = ["q", "role", *COMMISSION_FIELDS[1:]]

    def leader_match(self, value):
        return Q(leader__user__full_name__icontains=value)


class VisitFilterForm(forms.Form):
    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "This date is before the “from” date.")
        return cleaned


class VisitFilter(CommissionWorkFilter):
    path = "deployment__commission__"

    date_from = django_filters.DateFilter(
        label="From", field_name="date", lookup_expr="gte", widget=DATE_INPUT
    )
    date_to = django_filters.DateFilter(
        label="To", field_name="date", lookup_expr="lte", widget=DATE_INPUT
    )
    mode = django_filters.ChoiceFilter(choices=Visit.Mode.choices, empty_label="Any")
    rag = django_filters.ChoiceFilter(
        label="RAG given", choices=RAG.choices, empty_label="Any", method="by_rag"
    )
    response = django_filters.ChoiceFilter(
        label="School's reply",
        choices=[("none", "Not yet"), *Visit.Response.choices],
        empty_label="Any",
        method="by_response",
    )
    safeguarding = django_filters.ChoiceFilter(
        label="Safeguarding",
        choices=[("flagged", "Concern flagged")],
        empty_label="Any",
        method="by_safeguarding",
    )

    class Meta:
        model = Visit
        form = VisitFilterForm
        fields = [
            "q",
            "date_from",
            "date_to",
            "mode",
            "rag",
            "response",
            "safeguarding",
            *COMMISSION_FIELDS[2:],
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A visit's own date says when it happened; whether its support is under way is
        # a question for the deployment list.
        del self.filters["state"]

    def by_academic_year(self, queryset, name, value):
        first, last = academic_year_bounds(value)
        return queryset.filter(date__gte=first, date__lte=last)

    def leader_match(self, value):
        return Q(deployment__leader__user__full_name__icontains=value)

    def by_rag(self, queryset, name, value):
        return queryset.filter(pk__in=VisitObjective.objects.filter(rag=value).values("visit"))

    def by_response(self, queryset, name, value):
        return queryset.filter(response="" if value == "none" else value)

    def by_safeguarding(self, queryset, name, value):
        return queryset.filter(safeguarding_concern=True)
