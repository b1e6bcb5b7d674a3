"""Reminders: who should be told what today, told exactly once.

``reminders_due(today)`` works out every reminder that is relevant today from the records
(a pure read). ``reminders_run(today)`` claims each one by inserting its ``Reminder`` row
(and the in-app notification) in one small transaction; a row already there means another
run has it, so nothing more happens. After commit each claimed reminder is sent by
``reminder_send``, which moves it pending → sending with a conditional update before it
emails, then marks it sent. See ``Reminder`` for why a row stuck in "sending" is not sent
again.

The schedule per reporting deadline, counted in days from the due date:

    upcoming_14  -14 .. -4     upcoming_3  -3 .. -1     due  0
    overdue_1     +1 .. +6     overdue_7   +7 .. +13    escalation (to the hub)  +14 .. +27

Each runs from its day until the next one starts, so a run missed for days catches up with
the one reminder that fits today and never with a flood of stale ones. Nothing is sent for a
report that is submitted or approved, or once the commission's final report is approved.
Planned visits not logged within 5 working days, deployments with no visit for 21 days and
reports waiting for QA for more than 5 working days nudge once each.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from brokerage.models import Commission, CommissionLeader, ReportingDeadline, add_working_days
from config.celery import enqueue
from deployments.models import PlannedVisit
from trust.models import Membership, Role, User

from .models import (
    ImpactReport,
    Notification,
    NotificationPreference,
    Reminder,
    ReminderKind,
)

K = ReminderKind
# (kind, first day, last day) relative to the due date.
DEADLINE_WINDOWS = [
    (K.UPCOMING_14, -14, -4),
    (K.UPCOMING_3, -3, -1),
    (K.DUE, 0, 0),
    (K.OVERDUE_1, 1, 6),
    (K.OVERDUE_7, 7, 13),
]
ESCALATION_WINDOW = (14, 27)
QUIET_DAYS = 21
VISIT_LOG_WORKING_DAYS = 5
QA_WORKING_DAYS = 5
# Nudges about a single late visit stop mattering after this long.
NUDGE_STALE_DAYS = 14
MAX_SEND_ATTEMPTS = 5
# Hub coordinators cannot switch these off.
ALWAYS_FOR_HUB = {K.ESCALATION}
# Reminders that go to the people writing a report rather than the hub.
AUTHOR_KINDS = {kind for kind, _, _ in DEADLINE_WINDOWS}


@dataclass(frozen=True)
class Due:
    subject: str
    kind: str
    recipient: User
    about: datetime.date
    title: str
    body: str
    url: str
    deadline_id: int | None = None


def _users_with(role: str, organisation_ids) -> dict[int, list[User]]:
    """Active users holding ``role`` in each open organisation, by organisation id."""
    found: dict[int, list[User]] = {}
    memberships = Membership.objects.filter(
        role=role,
        organisation_id__in=set(organisation_ids),
        organisation__is_open=True,
        user__is_active=True,
    ).select_related("user")
    for membership in memberships.order_by("user__pk"):
        found.setdefault(membership.organisation_id, []).append(membership.user)
    return found


def _closed_commissions():
    return Commission.objects.filter(
        deadlines__kind=ReportingDeadline.Kind.FINAL,
        deadlines__report__status=ImpactReport.Status.APPROVED,
    ).values("pk")


def _when(days: int) -> str:
    if days < 0:
        return f"due in {-days} day{'s' if days != -1 else ''}"
    if days == 0:
        return "due today"
    return f"{days} day{'s' if days != 1 else ''} overdue"


def _deadline_reminders(today: datetime.date) -> list[Due]:
    first = today - datetime.timedelta(days=ESCALATION_WINDOW[1])
    last = today + datetime.timedelta(days=-DEADLINE_WINDOWS[0][1])
    deadlines = list(
        ReportingDeadline.objects.filter(due__gte=first, due__lte=last)
        .exclude(commission__in=_closed_commissions())
        .exclude(report__status__in=[ImpactReport.Status.SUBMITTED, ImpactReport.Status.APPROVED])
        .select_related("commission__request__school", "commission__request__hub", "report")
        .order_by("due", "pk")
    )
    commissions = {d.commission_id for d in deadlines}
    leads = {
        cl.commission_id: cl.leader.user
        for cl in CommissionLeader.objects.filter(
            commission_id__in=commissions,
            role=CommissionLeader.Role.LEAD,
            leader__user__is_active=True,
        ).select_related("leader__user")
    }
    trust_leads = _users_with(
        Role.TRUST_LEAD, {d.commission.lead_organisation_id for d in deadlines}
    )
    coordinators = _users_with(
        Role.HUB_COORDINATOR, {d.commission.request.hub_id for d in deadlines}
    )

    due = []
    for deadline in deadlines:
        commission = deadline.commission
        school = commission.request.school.name
        days = (today - deadline.due).days
        report_name = f"{deadline.get_kind_display()} for {school}"
        # The report itself once someone has started it; until then, the list where it
        # is started.
        report = getattr(deadline, "report", None)
        url = (
            report.get_absolute_url()
            if report
            else reverse("reporting:report_list")
            + "?"
            + urlencode({"q": commission.request.school.urn or school})
        )
        for kind, start, end in DEADLINE_WINDOWS:
            if start <= days <= end:
                people = list(trust_leads.get(commission.lead_organisation_id, []))
                if commission.pk in leads and leads[commission.pk] not in people:
                    people.append(leads[commission.pk])
                title = f"{report_name} {_when(days)} ({deadline.due:%-d %b %Y})"
                body = (
                    f"The {deadline.get_kind_display().lower()} on the support for {school} "
                    f"({commission.request.title}) is due on {deadline.due:%A %-d %B %Y}. "
                    "The Lead System Leader drafts it and the trust lead submits it to the hub."
                )
                due += [
                    Due(
                        f"deadline:{deadline.pk}",
                        kind,
                        person,
                        deadline.due,
                        title,
                        body,
                        url,
                        deadline.pk,
                    )
                    for person in people
                ]
        if ESCALATION_WINDOW[0] <= days <= ESCALATION_WINDOW[1]:
            title = f"Escalation: {report_name} is {days} days overdue"
            body = (
                f"The {deadline.get_kind_display().lower()} for {school}, led by "
                f"{commission.lead_organisation.name}, was due on {deadline.due:%-d %B %Y} and "
                "has not been submitted. Reminders went to the trust lead and the Lead System "
                "Leader on the day and after 1 and 7 days."
            )
            due += [
                Due(
                    f"deadline:{deadline.pk}",
                    K.ESCALATION,
                    person,
                    deadline.due,
                    title,
                    body,
                    url,
                    deadline.pk,
                )
                for person in coordinators.get(commission.request.hub_id, [])
            ]
    return due


def _visit_reminders(today: datetime.date) -> list[Due]:
    due = []
    # Planned visits whose date is more than 5 working days ago and still not logged.
    earliest = today - datetime.timedelta(days=NUDGE_STALE_DAYS + 10)
    planned = (
        PlannedVisit.objects.filter(visit__isnull=True, date__gte=earliest, date__lt=today)
        .filter(deployment__leader__user__is_active=True)
        .exclude(deployment__commission__in=_closed_commissions())
        .select_related("deployment__leader__user", "deployment__commission__request__school")
    )
    for plan in planned:
        late_from = add_working_days(plan.date, VISIT_LOG_WORKING_DAYS) + datetime.timedelta(1)
        if not late_from <= today <= late_from + datetime.timedelta(days=NUDGE_STALE_DAYS):
            continue
        school = plan.deployment.commission.request.school.name
        due.append(
            Due(
                f"planned-visit:{plan.pk}",
                K.VISIT_TO_LOG,
                plan.deployment.leader.user,
                plan.date,
                f"Log your visit to {school} of {plan.date:%-d %b}",
                f"You planned a {plan.get_mode_display().lower()} visit to {school} on "
                f"{plan.date:%A %-d %B}. If it happened, log it now; if not, plan a new date.",
                reverse("deployments:visit_create", args=[plan.deployment_id]),
            )
        )

    # Active deployments with no visit for 21 days: once per quiet spell.
    deployments = (
        CommissionLeader.objects.filter(
            commission__start__lte=today,
            commission__end__gte=today,
            leader__user__is_active=True,
        )
        .exclude(commission__in=_closed_commissions())
        .annotate(last_visit=Max("visits__date"))
        .select_related("leader__user", "commission__request__school")
    )
    for deployment in deployments:
        since = max(deployment.last_visit or deployment.commission.start,
                    deployment.commission.start)  # fmt: skip
        if (today - since).days < QUIET_DAYS:
            continue
        school = deployment.commission.request.school.name
        last = (
            f"Your last visit was on {deployment.last_visit:%-d %B}."
            if deployment.last_visit
            else "No visit has been logged yet."
        )
        due.append(
            Due(
                f"deployment:{deployment.pk}:quiet-since:{since.isoformat()}",
                K.NO_VISIT,
                deployment.leader.user,
                since,
                f"No visit to {school} logged for {(today - since).days} days",
                f"{last} Log any visit or call you have made, or plan the next one.",
                reverse("deployments:deployment_detail", args=[deployment.pk]),
            )
        )
    return due


def _qa_reminders(today: datetime.date) -> list[Due]:
    waiting = ImpactReport.objects.filter(
        status=ImpactReport.Status.SUBMITTED,
        submitted_at__isnull=False,
        submitted_at__gte=timezone.now() - datetime.timedelta(days=120),
    ).select_related("deadline__commission__request__school", "deadline__commission__request")
    reports = list(waiting)
    qa_leads = _users_with(Role.QA_LEAD, {r.commission.request.hub_id for r in reports})
    due = []
    for report in reports:
        submitted_on = timezone.localdate(report.submitted_at)
        if today <= add_working_days(submitted_on, QA_WORKING_DAYS):
            continue
        school = report.commission.request.school.name
        for person in qa_leads.get(report.commission.request.hub_id, []):
            due.append(
                Due(
                    f"report:{report.pk}:submission:{report.submissions}",
                    K.QA_WAITING,
                    person,
                    submitted_on,
                    f"{report.deadline.get_kind_display()} for {school} waiting for review "
                    f"since {submitted_on:%-d %b}",
                    f"It was submitted on {submitted_on:%A %-d %B}. Approve it with your "
                    "judgement of impact and value for money, or return it with comments.",
                    report.get_absolute_url(),
                    report.deadline_id,
                )
            )
    return due


def reminders_due(today: datetime.date) -> list[Due]:
    """Every reminder relevant on ``today`` (a local date), whether or not already sent."""
    return _deadline_reminders(today) + _visit_reminders(today) + _qa_reminders(today)


# ------------------------------------------------------------------------ sending


def wants_email(user: User, kind: str) -> bool:
    if kind in ALWAYS_FOR_HUB:
        return True
    return not NotificationPreference.objects.filter(user=user, kind=kind, email=False).exists()


def _claim(item: Due) -> Reminder | None:
    """Insert the reminder and its notification; None when it is already there."""
    state = (
        Reminder.State.PENDING
        if wants_email(item.recipient, item.kind)
        else Reminder.State.SKIPPED
    )
    try:
        with transaction.atomic():
            reminder = Reminder.objects.create(
                subject=item.subject,
                kind=item.kind,
                recipient=item.recipient,
                deadline_id=item.deadline_id,
                about=item.about,
                title=item.title,
                body=item.body,
                url=item.url,
                state=state,
            )
            Notification.objects.create(
                user=item.recipient,
                reminder=reminder,
                kind=item.kind,
                title=item.title,
                url=item.url,
            )
    except IntegrityError:
        return None
    return reminder


@dataclass
class RunResult:
    relevant: int = 0
    claimed: int = 0
    queued: int = 0


def reminders_run(today: datetime.date | None = None) -> RunResult:
    """Claim today's reminders and queue each new (or failed, retryable) one for sending."""
    today = today or timezone.localdate()
    result = RunResult()
    to_send = []
    already = set()
    for item in reminders_due(today):
        result.relevant += 1
        reminder = _claim(item)
        if reminder is not None:
            result.claimed += 1
            if reminder.state == Reminder.State.PENDING:
                to_send.append(reminder.pk)
        else:
            already.add((item.subject, item.kind, item.recipient.pk))
    # Sends that failed earlier get another go, and so does a reminder still relevant today
    # that an earlier run claimed but never queued (it died, or the broker was down).
    waiting = (
        Reminder.objects.filter(state=Reminder.State.PENDING)
        .filter(Q(attempts__gt=0) | Q(subject__in={subject for subject, _, _ in already}))
        .exclude(pk__in=to_send)
        .values_list("pk", "attempts", "subject", "kind", "recipient_id")
    )
    to_send += [pk for pk, attempts, *key in waiting if attempts or tuple(key) in already]
    for pk in to_send:
        result.queued += _enqueue(pk)
    return result


def _enqueue(reminder_id: int) -> bool:
    from .tasks import send_reminder

    return enqueue(send_reminder, reminder_id, what=f"reminder {reminder_id}")


def _message(reminder: Reminder) -> EmailMultiAlternatives:
    site = settings.SITE_URL.rstrip("/")
    context = {
        "reminder": reminder,
        "link": site + reminder.url,
        "preferences": site + reverse("reporting:notification_preferences"),
        "user": reminder.recipient,
    }
    message = EmailMultiAlternatives(
        subject=reminder.title,
        body=render_to_string("reporting/email/reminder.txt", context),
        to=[reminder.recipient.email],
        headers={
            # The same id on any resend lets mail systems drop a duplicate.
            "Message-ID": f"<reminder-{reminder.pk}@{urlsplit(site).hostname or 'localhost'}>",
            "List-Unsubscribe": f"<{context['preferences']}>",
        },
    )
    message.attach_alternative(
        render_to_string("reporting/email/reminder.html", context), "text/html"
    )
    return message


def reminder_send(*, reminder_id: int) -> bool:
    """Send one claimed reminder at most once. Returns True when this call sent it."""
    took = Reminder.objects.filter(pk=reminder_id, state=Reminder.State.PENDING).update(
        state=Reminder.State.SENDING
    )
    if not took:
        return False  # sent, being sent, skipped, or given up on
    reminder = Reminder.objects.select_related("recipient").get(pk=reminder_id)
    try:
        _message(reminder).send()
    except Exception as exc:
        attempts = reminder.attempts + 1
        Reminder.objects.filter(pk=reminder_id).update(
            state=(
                Reminder.State.FAILED if attempts >= MAX_SEND_ATTEMPTS else Reminder.State.PENDING
            ),
            attempts=attempts,
            last_error=f"{type(exc).__name__}: {exc}"[:1000],
        )
        raise
    Reminder.objects.filter(pk=reminder_id).update(
        state=Reminder.State.SENT, sent_at=timezone.now(), attempts=reminder.attempts + 1
    )
    return True


def unread_count(user: User) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()
