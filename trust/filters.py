import django_filters
from django import forms
from django.db.models import Q

from .models import Cluster, Membership, Organisation, Role, Specialism, SystemLeaderProfile


class OrganisationFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label="Name, URN or postcode", method="search", max_length=100)
    kind = django_filters.ChoiceFilter(choices=Organisation.Kind.choices, empty_label="Any")
    phase = django_filters.ChoiceFilter(choices=Organisation.Phase.choices, empty_label="Any")
    local_authority = django_filters.ChoiceFilter(label="Local authority", empty_label="Any")
    cluster = django_filters.ModelChoiceFilter(queryset=Cluster.objects.none(), empty_label="Any")
    trust = django_filters.ModelChoiceFilter(
        label="Trust",
        field_name="parent_trust",
        queryset=Organisation.objects.none(),
        empty_label="Any",
    )
    is_open = django_filters.ChoiceFilter(
        label="Status",
        choices=[("true", "Open"), ("false", "Closed")],
        empty_label="Open and closed",
        method="filter_open",
    )

    class Meta:
        model = Organisation
        fields = ["q", "kind", "phase", "local_authority", "cluster", "trust", "is_open"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["cluster"].queryset = Cluster.objects.visible_to(user)
        self.filters["trust"].queryset = Organisation.objects.visible_to(user).trusts()
        authorities = (
            self.queryset.exclude(local_authority="")
            .order_by("local_authority")
            .values_list("local_authority", flat=True)
            .distinct()
        )
        self.filters["local_authority"].extra["choices"] = [(a, a) for a in authorities]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        postcode = " ".join(value.upper().split())
        return queryset.filter(
            Q(name__icontains=value) | Q(urn=value) | Q(postcode__istartswith=postcode)
        )

    def filter_open(self, queryset, name, value):
        return queryset.filter(is_open=value == "true")


class LeaderFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label="Name", method="search", max_length=100)
    designation = django_filters.ChoiceFilter(
        choices=SystemLeaderProfile.Designation.choices, empty_label="Any"
    )
    specialism = django_filters.ModelChoiceFilter(
        field_name="specialisms", queryset=Specialism.objects.all(), empty_label="Any"
    )
    phase = django_filters.ChoiceFilter(
        label="Phase",
        choices=Organisation.Phase.choices,
        empty_label="Any",
        method="filter_phase",
    )
    cluster = django_filters.ModelChoiceFilter(
        label="Based in cluster",
        queryset=Cluster.objects.none(),
        empty_label="Any",
        method="filter_cluster",
    )
    active = django_filters.BooleanFilter(widget=forms.NullBooleanSelect)

    class Meta:
        model = SystemLeaderProfile
        fields = ["q", "designation", "specialism", "phase", "cluster", "active"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["cluster"].queryset = Cluster.objects.visible_to(user)

    def filter_cluster(self, queryset, name, value):
        based = Membership.objects.filter(role=Role.SYSTEM_LEADER, organisation__cluster=value)
        return queryset.filter(user_id__in=based.values("user_id"))

    def search(self, queryset, name, value):
        return queryset.filter(user__full_name__icontains=value.strip())

    def filter_phase(self, queryset, name, value):
        # Phases are a short JSON list; matching the quoted code works on SQLite and PostgreSQL.
        return queryset.filter(phases__icontains=f'"{value}"')
