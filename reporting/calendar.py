"""Private iCalendar feeds: each person's reporting deadlines and visits, for a calendar app.

The address carries a secret token instead of a login, so a calendar app (or the provider
that fetches for it, e.g. Google) can subscribe. Anyone holding the address can read the
feed, so it says only what a calendar needs: school, kind of report or visit mode, date,
and a link back into the site. Never a visit's summary, next steps, the people met or
whether a safeguarding concern was raised. Making a new address revokes the old one.
"""

from __future__ import annotations

import datetime
import re
import secrets
from decimal import Decimal
from urllib.parse import urlencode, urlsplit

import icalendar
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from brokerage.models import ReportingDeadline
from deployments.models import PlannedVisit, Visit

from .models import CalendarFeed, ImpactReport, commissions_reported_by

PRODID = "-//Support brokerage//Calendar feed//EN"
# What the feed covers, around today.
PAST = datetime.timedelta(days=365)
AHEAD = datetime.timedelta(days=2 * 365)
# How often a calendar app should fetch the feed again.
REFRESH = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)


# What secrets.token_urlsafe makes.
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,100}")


def _new_token() -> str:
    return secrets.token_urlsafe(32)


def feed_for(user) -> CalendarFeed:
    """The user's feed, made on first use."""
    feed, _ = CalendarFeed.objects.get_or_create(user=user, defaults={"token": _new_token()})
    return feed


def feed_revoke(user) -> CalendarFeed:
    """A new secret address; the old one answers 404 from now on."""
    with transaction.atomic():
        feed, created = CalendarFeed.objects.select_for_update().get_or_create(
            user=user, defaults={"token": _new_token()}
        )
        if not created:
            feed.token = _new_token()
            feed.created_at = timezone.now()
            feed.save(update_fields=["token", "created_at"])
    return feed


def _site() -> str:
    return settings.SITE_URL.rstrip("/")


def _host() -> str:
    return urlsplit(_site()).hostname or "localhost"


def feed_url(feed: CalendarFeed) -> str:
    return _site() + reverse("reporting:calendar_feed", args=[feed.token])


def webcal_url(url: str) -> str:
    """The same address with the webcal scheme, which opens a calendar app to subscribe."""
    return "webcal://" + url.split("://", 1)[-1]


# ------------------------------------------------------------------------------ pages


@login_required
def calendar_settings(request):
    if request.method == "POST":
        feed_revoke(request.user)
        messages.success(
            request,
            "Your calendar has a new address. The old one no longer works: subscribe again "
            "with the address below.",
        )
        return redirect("reporting:calendar_settings")
    feed = feed_for(request.user)
    url = feed_url(feed)
    context = {"feed": feed, "feed_url": url, "webcal_url": webcal_url(url)}
    return render(request, "reporting/calendar_settings.html", context)


@require_GET
@never_cache
def calendar_feed(request, token):
    # Only the shape of a real token is looked up (PostgreSQL refuses a NUL in a query).
    if not TOKEN_SHAPE.fullmatch(token):
        raise Http404("No such calendar")
    feed = CalendarFeed.objects.select_related("user").filter(token=token).first()
    if feed is None or not feed.user.is_active:
        raise Http404("No such calendar")
    response = HttpResponse(feed_ical(feed.user), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="support-brokerage.ics"'
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


# ------------------------------------------------------------------------------- feed


def _hours(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return f"{text} hour{'' if value == 1 else 's'}"


def _event(*, uid: str, day: datetime.date, summary: str, description: str, url: str, stamp):
    event = icalendar.Event()
    event.add("uid", f"{uid}@{_host()}")
    event.add("dtstamp", stamp)
    event.add("dtstart", day)
    event.add("dtend", day + DAY)
    event.add("summary", summary)
    event.add("description", description)
    event.add("url", url)
    event.add("transp", "TRANSPARENT")
    return event


def _deadline_events(user, first, last, stamp) -> list[icalendar.Event]:
    # Once the final report is approved the support is over: nothing left to write.
    closed = ReportingDeadline.objects.filter(
        kind=ReportingDeadline.Kind.FINAL, report__status=ImpactReport.Status.APPROVED
    ).values("commission")
    deadlines = (
        ReportingDeadline.objects.filter(
            commission__in=commissions_reported_by(user), due__gte=first, due__lte=last
        )
        .exclude(commission__in=closed)
        .exclude(report__status=ImpactReport.Status.APPROVED)
        .values(
            "pk",
            "kind",
            "due",
            "report__status",
            "commission__request__school__name",
            "commission__request__school__urn",
        )
        .order_by("due", "pk")
    )
    events = []
    for d in deadlines:
        school = d["commission__request__school__name"]
        kind = ReportingDeadline.Kind(d["kind"]).label
        status = d["report__status"]
        state = ImpactReport.Status(status).label if status else "Not started"
        query = urlencode({"q": d["commission__request__school__urn"] or school})
        url = f"{_site()}{reverse('reporting:report_list')}?{query}"
        events.append(
            _event(
                uid=f"deadline-{d['pk']}",
                day=d["due"],
                summary=f"{kind} due: {school}",
                description=f"{kind} for {school}, due {d['due']:%-d %B %Y}.\n"
                f"Report: {state}.\nReports: {url}",
                url=url,
                stamp=stamp,
            )
        )
    return events


def _visit_events(user, first, last, stamp) -> list[icalendar.Event]:
    # values(): the summary and safeguarding fields are never even read.
    visits = (
        Visit.objects.filter(Q(recorded_by=user) | Q(deployment__leader__user=user))
        .filter(date__gte=first, date__lte=last)
        .values(
            "pk", "date", "mode", "duration_hours", "deployment__commission__request__school__name"
        )
        .order_by("date", "pk")
    )
    events = []
    for v in visits:
        school = v["deployment__commission__request__school__name"]
        mode = Visit.Mode(v["mode"]).label
        url = _site() + reverse("deployments:visit_detail", args=[v["pk"]])
        events.append(
            _event(
                uid=f"visit-{v['pk']}",
                day=v["date"],
                summary=f"Visit: {school} ({mode})",
                description=f"{mode}, {_hours(v['duration_hours'])}.\nRecord of Visit: {url}",
                url=url,
                stamp=stamp,
            )
        )
    return events


def _planned_visit_events(user, first, last, stamp) -> list[icalendar.Event]:
    planned = (
        PlannedVisit.objects.filter(
            visit__isnull=True, deployment__leader__user=user, date__gte=first, date__lte=last
        )
        .values(
            "pk", "date", "mode", "deployment_id", "deployment__commission__request__school__name"
        )
        .order_by("date", "pk")
    )
    events = []
    for p in planned:
        school = p["deployment__commission__request__school__name"]
        mode = Visit.Mode(p["mode"]).label
        url = _site() + reverse("deployments:deployment_detail", args=[p["deployment_id"]])
        events.append(
            _event(
                uid=f"planned-visit-{p['pk']}",
                day=p["date"],
                summary=f"Planned visit: {school}",
                description=f"{mode}. Log the Record of Visit afterwards: {url}",
                url=url,
                stamp=stamp,
            )
        )
    return events


def feed_calendar(user, *, today: datetime.date | None = None) -> icalendar.Calendar:
    """The user's calendar: a constant number of queries however many events."""
    today = today or timezone.localdate()
    first, last = today - PAST, today + AHEAD
    stamp = timezone.now().astimezone(datetime.UTC).replace(microsecond=0)
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"Support brokerage: {user.full_name or user.email}")
    cal.add("x-wr-caldesc", "Reporting deadlines and visits from the support brokerage.")
    cal.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT1H")
    for events in (
        _deadline_events(user, first, last, stamp),
        _visit_events(user, first, last, stamp),
        _planned_visit_events(user, first, last, stamp),
    ):
        for event in events:
            cal.add_component(event)
    return cal


def feed_ical(user) -> bytes:
    return feed_calendar(user).to_ical()
