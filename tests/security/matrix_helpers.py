"""Walking the URL resolver, the addresses each URL name takes in a world, and one GET or
one rolled-back POST to an address."""

from __future__ import annotations

import re

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver

from deployments.tests.factories import objective_fields, visit_post
from reporting.tests.factories import NARRATIVE

# Not walked: Django's admin (its own permission system, staff only; trust/tests/test_admin.py
# and reporting/tests/test_admin.py cover it). There are no static/ or media/ patterns
# (WhiteNoise serves static files; media is only ever served through report_pdf), but any
# that appear are skipped too.
SKIPPED_PREFIXES = ("admin/", "static/", "media/")


def url_names(patterns=None, prefix="", namespace="") -> dict[str, str]:
    """Every URL name in the project, namespaced ("brokerage:pipeline"), with its route.
    A pattern without a name is returned under "<unnamed: route>" so the matrix fails on it."""
    if patterns is None:
        patterns = get_resolver().url_patterns
    found = {}
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if route.startswith(SKIPPED_PREFIXES):
            continue
        if isinstance(pattern, URLResolver):
            if pattern.app_name == "admin":
                continue
            inner = ":".join(part for part in (namespace, pattern.namespace) if part)
            found.update(url_names(pattern.url_patterns, route, inner))
        elif isinstance(pattern, URLPattern):
            if pattern.name is None:
                found[f"<unnamed: {route}>"] = route
            else:
                found[f"{namespace}:{pattern.name}" if namespace else pattern.name] = route
    return found


def _notification(w, role):
    return [w.notifications.get(role, w.notifications["coordinator"]).pk]


def _feed(w, role):
    # Ours: the person's own secret address. Another's: an address that was revoked.
    if w.label == "Ours":
        return [w.feeds.get(role, w.feeds["coordinator"]).token]
    return [w.revoked_token]


# The arguments each URL name takes, from a world and the role looking at it. A name with
# no arguments names no object: it is checked once, not against another hub's world.
ARGS = {
    "healthz": None,
    "login": None,
    "logout": None,
    "brokerage:pipeline": None,
    "brokerage:request_create": None,
    "brokerage:request_detail": lambda w, r: [w.request.pk],
    "brokerage:request_edit": lambda w, r: [w.open_request.pk],
    "brokerage:request_transition": lambda w, r: [w.open_request.pk, "decline"],
    "brokerage:shortlist_add": lambda w, r: [w.open_request.pk],
    "brokerage:shortlist_remove": lambda w, r: [w.open_request.pk, w.open_candidate.pk],
    "brokerage:offer_create": lambda w, r: [w.open_request.pk],
    "brokerage:offer_inbox": None,
    "brokerage:offer_detail": lambda w, r: [w.offer.pk],
    "brokerage:commission_list": None,
    "brokerage:commission_detail": lambda w, r: [w.commission.pk],
    "brokerage:commission_funding": lambda w, r: [w.commission.pk],
    "brokerage:commission_deadlines": lambda w, r: [w.commission.pk],
    "brokerage:commission_edit": lambda w, r: [w.commission.pk],
    "brokerage:stream_list": None,
    "brokerage:stream_create": None,
    "brokerage:stream_detail": lambda w, r: [w.stream.pk],
    "brokerage:stream_edit": lambda w, r: [w.stream.pk],
    "deployments:deployment_detail": lambda w, r: [w.deployment.pk],
    "deployments:visit_create": lambda w, r: [w.deployment.pk],
    "deployments:visit_plan": lambda w, r: [w.deployment.pk],
    "deployments:visit_detail": lambda w, r: [w.visit.pk],
    "deployments:visit_edit": lambda w, r: [w.visit.pk],
    "deployments:visit_respond": lambda w, r: [w.visit.pk],
    "deployments:commission_visits": lambda w, r: [w.commission.pk],
    "deployments:plan_detail": lambda w, r: [w.commission.pk],
    "deployments:objective_create": lambda w, r: [w.commission.pk],
    "deployments:objective_edit": lambda w, r: [w.commission.pk, w.objective.pk],
    "deployments:objective_detail": lambda w, r: [w.objective.pk],
    "trust:home": None,
    "trust:hub_home": None,
    "trust:trust_home": None,
    "trust:leader_home": None,
    "trust:school_home": None,
    "trust:funder_home": None,
    "trust:organisation_list": None,
    "trust:school_import": None,
    "trust:school_import_detail": lambda w, r: [w.school_import.pk],
    "trust:organisation_detail": lambda w, r: [w.school.pk],
    "trust:leader_list": None,
    "trust:leader_detail": lambda w, r: [w.leader_profile.pk],
    "reporting:report_list": None,
    "reporting:report_start": lambda w, r: [w.open_deadline.pk],
    "reporting:report_detail": lambda w, r: [w.submitted.pk],
    "reporting:report_edit": lambda w, r: [w.draft.pk],
    "reporting:report_submit": lambda w, r: [w.draft.pk],
    "reporting:report_review": lambda w, r: [w.submitted.pk],
    "reporting:report_pdf": lambda w, r: [w.submitted.pk],
    "reporting:report_pdf_version": lambda w, r: [w.submitted.pk, 1],
    "reporting:report_pdf_retry": lambda w, r: [w.submitted.pk],
    "reporting:report_pdf_status": lambda w, r: [w.submitted.pk],
    "reporting:spend_list": lambda w, r: [w.commission.pk],
    "reporting:spend_delete": lambda w, r: [w.commission.pk, w.spend.pk],
    "reporting:notification_list": None,
    "reporting:notification_read": _notification,
    "reporting:notification_read_all": None,
    "reporting:notification_preferences": None,
    "reporting:calendar_settings": None,
    "reporting:calendar_feed": _feed,
    "reporting:funding_return_csv": None,
    "reporting:dashboard": None,
    "reporting:personal_data": None,
    "reporting:personal_data_download": None,
    "reporting:personal_data_for": None,
    "deployments:deployment_list": None,
    "deployments:visit_list": None,
    "password_reset": None,
    "password_reset_done": None,
    "password_reset_complete": None,
    # Not an object of either world: a link whose token is made up.
    "password_reset_confirm": lambda w, r: ["MQ", "made-up-token"],
    "two_factor_setup": None,
    "two_factor_verify": None,
    "two_factor_remove": None,
    "reporting:funding_return_xlsx": None,
}

LOGIN = "/accounts/login/"
WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.I)


class _Rollback(Exception):
    pass


def plausible_post(w) -> dict:
    """One body that every form in the project would find mostly valid, naming the objects
    of world ``w``: a refusal is then about who posts, not about what they posted."""
    data = {
        **visit_post(objectives=[str(w.objective.pk)]),
        **{k: str(v) for k, v in objective_fields().items()},
        **NARRATIVE,
        "title": "Posted by the matrix",
        "reason": "Because the matrix says so.",
        "leader": str(w.leader_profile.pk),
        "override_reason": "",
        "decision": "approve",
        "impact": "strong",
        "value_for_money": "good",
        "comments": "Clear.",
        "agreed": "yes",
        "comment": "",
        "grant_conditions": "Conditions",
        "allocation": str(w.allocation.pk),
        "amount": "10",
        "description": "Cover",
        "funder": str(w.funder.pk),
        "name": "Matrix stream",
        "academic_year": "2026-27",
        "total_budget": "10000",
        "lead_organisation": str(w.trust.pk),
        "proposed_lead": str(w.spare_profile.pk),
        "days": "6",
        "start": "2026-12-01",
        "end": "2027-03-31",
        "school": str(w.school.pk),
        "need_areas": ["leadership"],
        "context": "Context.",
        "priority": "high",
        "days_sought": "6",
        "funding_sought": "3000",
        "desired_start": "2026-12-01",
        "scope": "school",
        "scope_name": "",
        "decline-reason": "Declined by the matrix.",
        "decline": "",
        "open": "1",
        "form-TOTAL_FORMS": "1",
        "form-INITIAL_FORMS": "0",
        "form-0-stream": str(w.stream.pk),
        "form-0-amount": "100",
    }
    return data


def get(client, url):
    response = client.get(url)
    return response.status_code, response.get("Location", "")


def post(client, url, data):
    """POST in a transaction that is rolled back; the status, where it redirects, and how
    many statements wrote to the database (the session table aside)."""
    with CaptureQueriesContext(connection) as queries:
        try:
            with transaction.atomic():
                response = client.post(url, data)
                raise _Rollback
        except _Rollback:
            pass
    writes = [
        q["sql"]
        for q in queries.captured_queries
        if WRITE.match(q["sql"]) and "django_session" not in q["sql"]
    ]
    return response.status_code, response.get("Location", ""), writes
