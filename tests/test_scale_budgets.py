"""Every list page and the dashboard cost the same number of SQL queries for a small hub and
for one ten times its size, built by seed_scale's builder (DESIGN.md §6). The per-app tests
check each page on hand-made rows; this one checks them on the shape of real programme data:
many schools, clusters, leaders, commissions, visits and reports at once."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from brokerage.models import Commission
from reporting.management.commands.seed_scale import Builder

# (URL name, args from the data) as the hub coordinator sees them; each page is paginated.
PAGES = [
    ("reporting:dashboard", None),
    ("brokerage:pipeline", None),
    ("brokerage:commission_list", None),
    ("brokerage:stream_list", None),
    ("reporting:report_list", None),
    ("trust:organisation_list", None),
    ("trust:leader_list", None),
    ("trust:hub_home", None),
    ("deployments:deployment_list", None),
    ("deployments:visit_list", None),
    ("brokerage:commission_detail", "commission"),
    ("deployments:commission_visits", "commission"),
]


def query_counts(client, urls):
    counts = {}
    for name, url in urls.items():
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        assert response.status_code == 200, (name, response.status_code)
        counts[name] = len(ctx.captured_queries)
    return counts


def urls_for(commission):
    return {name: reverse(name, args=[commission.pk] if arg else []) for name, arg in PAGES}


@pytest.mark.django_db
def test_pages_cost_the_same_queries_at_two_sizes(client, hub, coordinator, funder):
    Builder(
        hub,
        {"schools": 12, "visits": 40, "leaders": 5, "commissions": 6, "seed": 3},
        coordinator=coordinator,
    ).build()
    # The same commission before and after the hub grows: the biggest pages are the detail
    # pages of a commission whose visits and deadlines also grow.
    commission = Commission.objects.order_by("pk").first()
    client.force_login(coordinator)
    small = query_counts(client, urls_for(commission))
    Builder(
        hub,
        {"schools": 60, "visits": 600, "leaders": 20, "commissions": 40, "seed": 4, "tag": "b"},
        coordinator=coordinator,
    ).build()
    large = query_counts(client, urls_for(commission))
    grown = {name: (small[name], large[name]) for name in small if small[name] != large[name]}
    assert not grown, f"queries grew with the data (small, large): {grown}"
