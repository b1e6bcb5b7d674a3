"""Every URL in the project, for every demo role and an anonymous visitor, against objects
of their own hub and of another hub: the answer a GET and a POST get.

The URL names come from the resolver, so a new view cannot be forgotten: a name missing from
the table fails. Django's admin is not walked (staff only, with its own permissions; covered
by the apps' test_admin.py), nor static/ or media/ (there are none: WhiteNoise serves static
files, and media only ever leaves through the report PDF view, which is in the table).

Each POST runs inside a transaction that is rolled back, so one action does not change what
the next URL sees; a POST that may not act must write nothing at all.
"""

import pytest
from django.urls import reverse

from .matrix_helpers import ARGS, LOGIN, get, plausible_post, post, url_names
from .world import ROLES

pytestmark = pytest.mark.django_db

# ---------------------------------------------------------------------------- the table
#
# One cell per role, in the order of ROLES: anonymous, hub coordinator, QA lead, trust lead,
# Lead System Leader, school contact, funder viewer. A cell is "GET" or "GET/POST": a bare
# code answers a POST the same way. A POST code ending in "+" is an action the role may take
# (it may write; it is rolled back); every other POST must write nothing. An anonymous
# visitor's 302 goes to sign in (with ?next=); a signed-in person's 302 goes elsewhere.
#
# A name with one row names no object. A name with two rows names one: the first row is for
# our hub's objects, the second for the same objects in another hub (always 404 once signed
# in: another organisation's data is not found, never forbidden).
#
# Our world: a funded commission for our supported school, the Lead System Leader deployed
# with an objective and a visit, the interim report submitted (its PDF made) and the final in
# draft, a spend line; a second request still being brokered with a leader shortlisted (the
# request actions use it); an interim report nobody has started (report_start). Every person
# has a notification and a calendar feed; the other hub's feed address is a revoked one.
# fmt: off
TOP = {
    #                            anon     coord    qa       trust    leader   school   funder
    "healthz":                 "200/405  200/405  200/405  200/405  200/405  200/405  200/405",
    "login":                   "200      302      302      302      302      302      302",
    "logout":                  "405/302+ 405/302+ 405/302+ 405/302+ 405/302+ 405/302+ 405/302+",
    "password_reset":          "200      200      200      200      200      200      200",
    "password_reset_done":     "200/405  200/405  200/405  200/405  200/405  200/405  200/405",
    # A made-up link: the page says it is not valid (for anyone), and changes nothing.
    "password_reset_confirm":  ("200      200      200      200      200      200      200",
                                "200      200      200      200      200      200      200"),
    "password_reset_complete": "200/405  200/405  200/405  200/405  200/405  200/405  200/405",
    "two_factor_setup":        "302      200      200      200      200      200      200",
    "two_factor_verify":       "302      302      302      302      302      302      302",
    # Turning two-factor off needs a current code: without one (or a device), refused.
    "two_factor_remove":       "302      405/400  405/400  405/400  405/400  405/400  405/400",
}
TRUST = {
    #                            anon     coord    qa       trust    leader   school   funder
    "funder_home":             "302      404      404      404      404      404      200",
    "home":                    "302      302      302      302      302      302      302",
    "hub_home":                "302      200      200      404      404      404      404",
    "leader_detail":           ("302      200      200      200      200      404      404",
                                "302      404      404      404      404      404      404"),
    "leader_home":             "302      404      404      404      200      404      404",
    "leader_list":             "302      200      200      200      404      404      404",
    "organisation_detail":     ("302      200      200      404      404      200      404",
                                "302      404      404      404      404      404      404"),
    "organisation_list":       "302      200      200      200      200      200      200",
    "school_home":             "302      404      404      404      404      200      404",
    "school_import":           "302      200      404      404      404      404      404",
    "school_import_detail":    ("302      200      404      404      404      404      404",
                                "302      404      404      404      404      404      404"),
    "trust_home":              "302      404      404      200      404      404      404",
}
BROKERAGE = {
    #                            anon     coord    qa       trust    leader   school   funder
    "commission_deadlines":    ("302      200      404      404      404      404      404",
                                "302      404      404      404      404      404      404"),
    "commission_detail":       ("302      200      200      200      200      200      200",
                                "302      404      404      404      404      404      404"),
    "commission_edit":         ("302      200/302+ 404      404      404      404      404",
                                "302      404      404      404      404      404      404"),
    "commission_funding":      ("302      200/302+ 404      404      404      404      404",
                                "302      404      404      404      404      404      404"),
    "commission_list":         "302      200      200      200      200      200      200",
    "offer_create":            ("302      200/302+ 404      404      404      404      404",
                                "302      404      404      404      404      404      404"),
    "offer_detail":            ("302      200      200      200      404      404      404",
                                "302      404      404      404      404      404      404"),
    "offer_inbox":             "302      404      404      200      404      404      404",
    "pipeline":                "302      200      200      404      404      404      404",
    "request_create":          "302      200/302+ 404      404      404      200/302+ 404",
    "request_detail":          ("302      200      200      200      200      200      404",
                                "302      404      404      404      404      404      404"),
    "request_edit":            ("302      200/302+ 403      404      404      403      404",
                                "302      404      404      404      404      404      404"),
    "request_transition":      ("302      405/302+ 405/400  405/404  405/404  405/400  405/404",
                                "302      405/404  405/404  405/404  405/404  405/404  405/404"),
    "shortlist_add":           ("302      405/302+ 405/400  405/404  405/404  405/400  405/404",
                                "302      405/404  405/404  405/404  405/404  405/404  405/404"),
    "shortlist_remove":        ("302      405/302+ 405/302  405/404  405/404  405/302  405/404",
                                "302      405/404  405/404  405/404  405/404  405/404  405/404"),
    "stream_create":           "302      200/302+ 404      404      404      404      404",
    "stream_detail":           ("302      200      200      404      404      404      200",
                                "302      404      404      404      404      404      404"),
    "stream_edit":             ("302      200/302+ 404      404      404      404      404",
                                "302      404      404      404      404      404      404"),
    "stream_list":             "302      200      200      404      404      404      200",
}
DEPLOYMENTS = {
    #                            anon     coord    qa       trust    leader   school   funder
    "deployment_list":         "302      200/405  200/405  200/405  200/405  200/405  404/405",
    "visit_list":              "302      200/405  200/405  200/405  200/405  200/405  404/405",
    "commission_visits":       ("302      200      200      200      200      200      404",
                                "302      404      404      404      404      404      404"),
    "deployment_detail":       ("302      200      200      200      200      200      404",
                                "302      404      404      404      404      404      404"),
    "objective_create":        ("302      403      403      200/302+ 200/302+ 403      404",
                                "302      404      404      404      404      404      404"),
    "objective_detail":        ("302      200      200      200      200      200      404",
                                "302      404      404      404      404      404      404"),
    "objective_edit":          ("302      403      403      200/302+ 200/302+ 403      404",
                                "302      404      404      404      404      404      404"),
    "plan_detail":             ("302      200/403  200/403  200/302+ 200/302+ 200/403  404",
                                "302      404      404      404      404      404      404"),
    "visit_create":            ("302      403      403      403      200/302+ 403      404",
                                "302      404      404      404      404      404      404"),
    "visit_detail":            ("302      200      200      200      200      200      404",
                                "302      404      404      404      404      404      404"),
    "visit_edit":              ("302      403      403      403      200/302+ 403      404",
                                "302      404      404      404      404      404      404"),
    "visit_plan":              ("302      405/302  405/302  405/302  405/302+ 405/302  405/404",
                                "302      405/404  405/404  405/404  405/404  405/404  405/404"),
    "visit_respond":           ("302      405/403  405/403  405/403  405/403  405/302+ 405/404",
                                "302      405/404  405/404  405/404  405/404  405/404  405/404"),
}
REPORTING = {
    #                            anon     coord    qa       trust    leader   school   funder
    "calendar_feed":           ("200/405  200/405  200/405  200/405  200/405  200/405  200/405",
                                "404/405  404/405  404/405  404/405  404/405  404/405  404/405"),
    "calendar_settings":       "302      200/302+ 200/302+ 200/302+ 200/302+ 200/302+ 200/302+",
    "dashboard":               "302      200/405  200/405  200/405  404/405  404/405  200/405",
    "personal_data":           "302      200      200      200      200      200      200",
    "personal_data_download":  "302      200      200      200      200      200      200",
    "personal_data_for":       "302      405/404  405/404  405/404  405/404  405/404  405/404",
    "funding_return_csv":      "302      200/405  200/405  404/405  404/405  404/405  200/405",
    "funding_return_xlsx":     "302      200/405  200/405  404/405  404/405  404/405  200/405",
    "notification_list":       "302      200      200      200      200      200      200",
    "notification_preferences":"302      200/302+ 200/302+ 200/302+ 200/302+ 200/302  200/302",
    "notification_read":       ("302      405/302+ 405/302+ 405/302+ 405/302+ 405/302+ 405/302+",
                                "302      405/404  405/404  405/404  405/404  405/404  405/404"),
    "notification_read_all":   "302      405/302+ 405/302+ 405/302+ 405/302+ 405/302+ 405/302+",
    "report_detail":           ("302      200      200      200      200      404      404",
                                "302      404      404      404      404      404      404"),
    "report_edit":             ("302      403      403      200/302+ 200/302+ 404      404",
                                "302      404      404      404      404      404      404"),
    "report_list":             "302      200      200      200      200      200      200",
    "report_pdf":              ("302      200/405  200/405  200/405  404/405  404/405  404/405",
                                "302      404/405  404/405  404/405  404/405  404/405  404/405"),
    "report_pdf_retry":        ("302      405/302  405/302  405/302  405/403  405/404  405/404",
                                "302      405/404  405/404  405/404  405/404  405/404  405/404"),
    "report_pdf_status":       ("302      200      200      200      200      404      404",
                                "302      404      404      404      404      404      404"),
    "report_pdf_version":      ("302      200/405  200/405  200/405  404/405  404/405  404/405",
                                "302      404/405  404/405  404/405  404/405  404/405  404/405"),
    "report_review":           ("302      403      200/302+ 403      403      404      404",
                                "302      404      404      404      404      404      404"),
    "report_start":            ("302      405/302  405/302  405/302+ 405/302+ 405/404  405/404",
                                "302      405/404  405/404  405/404  405/404  405/404  405/404"),
    "report_submit":           ("302      405/302  405/302  405/302+ 405/302  405/404  405/404",
                                "302      405/404  405/404  405/404  405/404  405/404  405/404"),
    "spend_delete":            ("302      405/302+ 405/302  405/302+ 405/302  405/404  405/404",
                                "302      405/404  405/404  405/404  405/404  405/404  405/404"),
    "spend_list":              ("302      200/302+ 200/404  200/302+ 200/404  404      404",
                                "302      404      404      404      404      404      404"),
}
# fmt: on

EXPECTED = {
    **TOP,
    **{f"trust:{name}": cells for name, cells in TRUST.items()},
    **{f"brokerage:{name}": cells for name, cells in BROKERAGE.items()},
    **{f"deployments:{name}": cells for name, cells in DEPLOYMENTS.items()},
    **{f"reporting:{name}": cells for name, cells in REPORTING.items()},
}


def expectations(name):
    """{"own": cells, "other": cells or None}, each cell (get, post, may_act)."""
    rows = EXPECTED[name]
    own, other = (rows, None) if isinstance(rows, str) else rows
    return {"own": _cells(own), "other": _cells(other) if other else None}


def _cells(row):
    cells = []
    for cell in row.split():
        get_code, _, post_code = cell.partition("/")
        post_code = post_code or get_code
        cells.append((int(get_code), int(post_code.rstrip("+")), post_code.endswith("+")))
    assert len(cells) == len(ROLES), row
    return cells


def test_every_url_name_is_in_the_table():
    names = set(url_names())
    missing = sorted(names - set(EXPECTED))
    assert not missing, f"add these URL names to the permission matrix: {', '.join(missing)}"
    stale = sorted(set(EXPECTED) - names)
    assert not stale, f"these URL names no longer exist: {', '.join(stale)}"
    no_args = sorted(names - set(ARGS))
    assert not no_args, f"say which objects these URLs name (matrix_helpers.ARGS): {no_args}"
    for name in names:
        # An address naming an object is checked against another hub's object too.
        assert (expectations(name)["other"] is None) == (ARGS[name] is None), name


def _redirect_problem(role, response_location):
    to_sign_in = response_location.startswith(f"{LOGIN}?next=")
    if role == "anonymous" and not to_sign_in:
        return f"redirects to {response_location!r}, not to sign in"
    if role != "anonymous" and to_sign_in:
        return "asks a signed-in person to sign in"
    return None


def checks_for(role, ours, theirs):
    """(name, own/other, url, expected cell) for every address this role is checked at."""
    column = ROLES.index(role)
    for name in sorted(url_names()):
        expected = expectations(name)
        for label, world in (("own", ours), ("other", theirs)):
            if expected[label] is None:
                continue
            args = ARGS[name](world, role) if ARGS[name] else []
            yield name, label, reverse(name, args=args), expected[label][column]


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_what_the_table_says(client, role, ours, theirs):
    person = None if role == "anonymous" else getattr(ours, role)
    if person:
        client.force_login(person)
    body = plausible_post(ours)
    wrong = []
    for name, label, url, (get_code, post_code, may_act) in checks_for(role, ours, theirs):
        where = f"{name} ({label}) {url}"
        status, location = get(client, url)
        if status != get_code:
            wrong.append(f"GET {where}: {status}, expected {get_code}")
        elif status == 302 and (problem := _redirect_problem(role, location)):
            wrong.append(f"GET {where}: {problem}")

        status, location, writes = post(client, url, body)
        if status != post_code:
            wrong.append(f"POST {where}: {status}, expected {post_code}")
        if not may_act:
            if writes:
                wrong.append(f"POST {where} was refused but wrote: {writes[0][:120]}")
            if status == 302 and (problem := _redirect_problem(role, location)):
                wrong.append(f"POST {where}: {problem}")
        elif person:
            client.force_login(person)  # signing out, say, is rolled back with the rest
    assert not wrong, "\n".join(wrong)


def test_the_matrix_covers_every_url_role_and_hub(ours, theirs):
    """The size of the matrix: addresses × roles × own/other hub (each with a GET and a
    POST). It grows with every URL; it never silently shrinks."""
    checked = sum(1 for role in ROLES for _ in checks_for(role, ours, theirs))
    object_urls = sum(1 for name in url_names() if ARGS[name])
    assert checked == len(ROLES) * (len(url_names()) + object_urls)
    assert checked >= 735  # 65 addresses, 40 of them naming an object, × 7 roles
