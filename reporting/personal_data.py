"""A person's data: what the service holds about them (subject access), and erasure that
keeps the programme's records by anonymising the person instead of deleting their work.

It lives in ``reporting`` because it reads every app's records, and reporting is the app
that may depend on all the others.

Erasure (``anonymise_user``) keeps visits, requests, plans and reports with their figures:
they are the hub's record of public money spent on school improvement, held under the
public task basis, and UK GDPR Article 17(3)(b) exempts them from erasure. What identifies
the person goes: their name and email (replaced by "Former user" and
``deleted-<id>@invalid``, so every page that shows ``full_name`` now shows "Former user"),
job title, phone, password, sign-in, sessions, memberships, notifications, reminders,
email preferences, calendar feed, and their name in report snapshots and PDFs (each PDF
that named them is made again from the same snapshot with the name replaced).
Memberships are deleted rather than kept: a membership is what puts a person in a school's
list of contacts, the hub's staff list and the reminder rota, and the organisations'
history is already kept by the records themselves (the visit still belongs to the
deployment, the report to the commission). Audit history keeps its links to the person's
row (``history_user``), which now names nobody. Free text other people typed (a visit
summary that says "met Jane Smith") is not rewritten: it is their record, and no program
can find every way a name is written.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Prefetch, Q
from django.utils import timezone

from brokerage.models import CommissionLeader, Offer, RequestEvent, SupportRequest
from deployments.models import Visit, VisitObjective
from trust.models import Membership, Role, SystemLeaderProfile, User

from .models import (
    CalendarFeed,
    ImpactReport,
    Notification,
    NotificationPreference,
    PdfJob,
    Reminder,
    ReportEvent,
    ReportFile,
    SpendLine,
)

FORMER_USER = "Former user"
# Text the service composes with people's names in it (none of these models is audited).
GENERATED_TEXT = [
    (RequestEvent, ["action"]),
    (Reminder, ["title", "body"]),
    (Notification, ["title"]),
]
ERASED_DOMAIN = "invalid"


def _day(value):
    return value.isoformat() if value else None


# ------------------------------------------------------------------------- export


def personal_data_export(user: User) -> dict:
    """Everything the service holds about ``user``, and nothing about anyone else: other
    people appear in it only as organisations and schools, never by name or email.

    A fixed number of queries, however much the person has written."""
    memberships = Membership.objects.filter(user=user).select_related("organisation")
    profile = SystemLeaderProfile.objects.filter(user=user).prefetch_related("specialisms").first()
    visits = (
        Visit.objects.filter(recorded_by=user)
        .select_related("deployment__commission__request__school")
        .prefetch_related(
            Prefetch("progress", queryset=VisitObjective.objects.select_related("objective"))
        )
        .order_by("date", "pk")
    )
    responses = (
        Visit.objects.filter(responded_by=user)
        .select_related("deployment__commission__request__school")
        .order_by("date", "pk")
    )
    requests = (
        SupportRequest.objects.filter(raised_by=user).select_related("school").order_by("pk")
    )
    request_steps = (
        RequestEvent.objects.filter(actor=user).select_related("request__school").order_by("pk")
    )
    offers = (
        Offer.objects.filter(Q(offered_by=user) | Q(responded_by=user))
        .select_related("request__school", "lead_organisation")
        .order_by("pk")
    )
    # Drafting leaves history rows by the person while the report is editable; the QA
    # lead's return also saves a "returned" row, which is reviewing, not drafting.
    drafted = (
        ImpactReport.history.filter(history_user=user, status__in=ImpactReport.EDITABLE)
        .exclude(status=ImpactReport.Status.RETURNED, reviewer=user)
        .values("id")
    )
    reports = (
        ImpactReport.objects.filter(
            Q(submitted_by=user) | Q(reviewer=user) | Q(pk__in=drafted) | Q(events__actor=user)
        )
        .distinct()
        .select_related("deadline__commission__request__school")
        .order_by("pk")
    )
    report_steps = ReportEvent.objects.filter(actor=user).order_by("pk")
    spend = SpendLine.objects.filter(recorded_by=user).select_related("allocation__stream")
    notifications = Notification.objects.filter(user=user).order_by("pk")
    reminders = Reminder.objects.filter(recipient=user).order_by("pk")
    preferences = NotificationPreference.objects.filter(user=user).order_by("kind")
    feed = CalendarFeed.objects.filter(user=user).first()

    drafted_ids = set(drafted.values_list("id", flat=True))
    steps_by_report: dict[int, list] = {}
    for event in report_steps:
        steps_by_report.setdefault(event.report_id, []).append(
            {"at": _day(event.at), "from": event.from_status, "to": event.to_status}
        )

    def report_row(report):
        parts = []
        if report.pk in drafted_ids:
            parts.append("drafted")
        if report.submitted_by_id == user.pk:
            parts.append("submitted")
        if report.reviewer_id == user.pk:
            parts.append("reviewed")
        request = report.deadline.commission.request
        return {
            "id": report.pk,
            "kind": report.deadline.kind,
            "school": request.school.name,
            "support": request.title,
            "due": _day(report.deadline.due),
            "status": report.status,
            "your_part": parts,
            "submitted_at": _day(report.submitted_at) if "submitted" in parts else None,
            "reviewed_at": _day(report.reviewed_at) if "reviewed" in parts else None,
            "your_steps": steps_by_report.get(report.pk, []),
        }

    return {
        "exported_at": _day(timezone.now()),
        "profile": {
            "id": user.pk,
            "full_name": user.full_name,
            "email": user.email,
            "job_title": user.job_title,
            "phone": user.phone,
            "active": user.is_active,
            "site_admin": user.is_staff,
            "date_joined": _day(user.date_joined),
            "last_login": _day(user.last_login),
        },
        "memberships": [
            {
                "organisation": m.organisation.name,
                "organisation_kind": m.organisation.kind,
                "role": m.role,
                "role_label": m.get_role_display(),
                "since": _day(m.created_at),
            }
            for m in memberships
        ],
        "system_leader_profile": profile
        and {
            "designation": profile.get_designation_display(),
            "specialisms": [s.name for s in profile.specialisms.all()],
            "phases": profile.phases,
            "capacity_days_per_term": profile.capacity_days_per_term,
            "accreditation_expires": _day(profile.accreditation_expires),
            "dbs_checked_on": _day(profile.dbs_checked_on),
            "active": profile.active,
            "summary": profile.summary,
        },
        "visits_written": [
            {
                "id": v.pk,
                "school": v.deployment.commission.request.school.name,
                "date": _day(v.date),
                "mode": v.mode,
                "duration_hours": v.duration_hours,
                "summary": v.summary,
                "next_steps": v.next_steps,
                "people_met": v.people_met,
                "safeguarding_concern": v.safeguarding_concern,
                "recorded_at": _day(v.recorded_at),
                "school_response": v.response,
                "objectives": [
                    {"objective": p.objective.title, "note": p.note, "rag": p.rag}
                    for p in v.progress.all()
                ],
            }
            for v in visits
        ],
        "visit_responses": [
            {
                "visit_id": v.pk,
                "school": v.deployment.commission.request.school.name,
                "visit_date": _day(v.date),
                "response": v.response,
                "comment": v.response_comment,
                "responded_at": _day(v.responded_at),
            }
            for v in responses
        ],
        "support_requests_raised": [
            {
                "id": r.pk,
                "school": r.school.name,
                "title": r.title,
                "need_areas": r.need_areas,
                "context": r.context,
                "priority": r.priority,
                "days_sought": r.days_sought,
                "funding_sought": r.funding_sought,
                "desired_start": _day(r.desired_start),
                "status": r.status,
                "created_at": _day(r.created_at),
            }
            for r in requests
        ],
        "request_steps": [
            {
                "request_id": e.request_id,
                "school": e.request.school.name,
                "action": e.action,
                "reason": e.reason,
                "at": _day(e.at),
            }
            for e in request_steps
        ],
        "offers": [
            {
                "id": o.pk,
                "school": o.request.school.name,
                "lead_organisation": o.lead_organisation.name,
                "offered_by_you": o.offered_by_id == user.pk,
                "answered_by_you": o.responded_by_id == user.pk,
                "status": o.status,
                "message": o.message if o.offered_by_id == user.pk else "",
                "response": o.response if o.responded_by_id == user.pk else "",
            }
            for o in offers
        ],
        "reports": [report_row(r) for r in reports],
        "spend_recorded": [
            {
                "date": _day(s.date),
                "stream": s.allocation.stream.name,
                "amount": s.amount,
                "description": s.description,
            }
            for s in spend
        ],
        "notifications": [
            {
                "kind": n.kind,
                "title": n.title,
                "created_at": _day(n.created_at),
                "read_at": _day(n.read_at),
            }
            for n in notifications
        ],
        "reminders": [
            {
                "kind": r.kind,
                "title": r.title,
                "about": _day(r.about),
                "state": r.state,
                "sent_at": _day(r.sent_at),
            }
            for r in reminders
        ],
        "email_preferences": [{"kind": p.kind, "email": p.email} for p in preferences],
        "calendar_feed": feed and {"created_at": _day(feed.created_at)},
    }


def personal_data_json(user: User) -> str:
    return json.dumps(personal_data_export(user), cls=DjangoJSONEncoder, indent=2)


def exportable_people_for(coordinator: User):
    """The people a hub coordinator may answer a subject access request for: anyone with a
    membership in one of their hubs, or in an organisation in those hubs' areas."""
    hubs = coordinator.organisation_ids_for(Role.HUB_COORDINATOR)
    if coordinator.is_superuser:
        return User.objects.all()
    if not hubs:
        return User.objects.none()
    members = Membership.objects.filter(
        Q(organisation_id__in=hubs) | Q(organisation__hub_id__in=hubs)
    )
    return User.objects.filter(pk__in=members.values("user_id"))


# ---------------------------------------------------------------------- erasure


@dataclass
class AnonymiseResult:
    user_id: int
    already_anonymised: bool = False
    memberships: int = 0
    notifications: int = 0
    reminders: int = 0
    email_preferences: int = 0
    calendar_feeds: int = 0
    sessions: int = 0
    reports_rewritten: int = 0
    pdfs_remade: int = 0
    kept: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def is_anonymised(user: User) -> bool:
    return user.email.endswith(f"@{ERASED_DOMAIN}") and user.full_name == FORMER_USER


def _replace_names(value, names: set[str]):
    """``value`` (JSON) with every string that is exactly one of ``names`` replaced."""
    if isinstance(value, str):
        return FORMER_USER if value in names else value
    if isinstance(value, list):
        return [_replace_names(v, names) for v in value]
    if isinstance(value, dict):
        return {k: _replace_names(v, names) for k, v in value.items()}
    return value


def _sessions_of(user: User) -> list[str]:
    keys = []
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
            keys.append(session.session_key)
    return keys


@transaction.atomic
def anonymise_user(*, user: User, by: User | None, dry_run: bool = False) -> AnonymiseResult:
    """Erase what identifies ``user`` and keep their work, as the module says. With
    ``dry_run`` nothing changes and the result says what would.

    Safe to run twice: a person already anonymised is left as they are."""
    from .services import enqueue_pdf_job

    user = User.objects.select_for_update().get(pk=user.pk)
    result = AnonymiseResult(user_id=user.pk)
    result.kept = {
        "visits": Visit.objects.filter(recorded_by=user).count(),
        "support_requests": SupportRequest.objects.filter(raised_by=user).count(),
        "reports": ImpactReport.objects.filter(Q(submitted_by=user) | Q(reviewer=user)).count(),
    }
    if is_anonymised(user):
        result.already_anonymised = True
        return result
    names = {n for n in (user.full_name, user.email, str(user)) if n}

    # Reports that may name the person: on commissions they worked on, or that they
    # submitted or reviewed. Their snapshots and PDF jobs get "Former user" instead.
    led = CommissionLeader.objects.filter(leader__user=user).values("commission")
    reports = list(
        ImpactReport.objects.filter(
            Q(deadline__commission__in=led) | Q(submitted_by=user) | Q(reviewer=user)
        ).distinct()
    )
    jobs_to_remake = []
    for report in reports:
        changed = False
        if report.snapshot:
            scrubbed = _replace_names(report.snapshot, names)
            if scrubbed != report.snapshot:
                report.snapshot = scrubbed
                report._history_user = by
                report._change_reason = "Personal data erased"
                report.save(update_fields=["snapshot"])
                changed = True
        for job in PdfJob.objects.filter(report=report):
            scrubbed = _replace_names(job.state, names)
            if scrubbed != job.state:
                job.state = scrubbed
                job.save(update_fields=["state"])
                changed = True
                jobs_to_remake.append(job)
        result.reports_rewritten += changed

    # Each PDF that named the person is made again, same version, from the scrubbed job.
    files = ReportFile.objects.filter(
        report__in=[j.report_id for j in jobs_to_remake],
        version__in=[j.version for j in jobs_to_remake],
    )
    wanted = {(j.report_id, j.version) for j in jobs_to_remake}
    stale = [f for f in files if (f.report_id, f.version) in wanted]
    result.pdfs_remade = len(stale)
    stale_paths = [f.file.name for f in stale]
    ReportFile.objects.filter(pk__in=[f.pk for f in stale]).delete()
    PdfJob.objects.filter(pk__in=[j.pk for j in jobs_to_remake]).update(
        status=PdfJob.Status.PENDING, attempts=0, claimed_at=None, finished_at=None, error=""
    )

    def remove_files_and_remake():
        storage = ReportFile._meta.get_field("file").storage
        for name in stale_paths:
            storage.delete(name)
        for job in jobs_to_remake:
            enqueue_pdf_job(job.pk)

    transaction.on_commit(remove_files_and_remake)

    # Text the service wrote itself names people ("Shortlisted Jane Smith (score 80)"):
    # the person's name in it becomes "Former user". Text people typed is left alone.
    # As a whole word only, so that "Ann" leaves "Annual review" alone.
    whole_name = re.compile(rf"(?<!\w){re.escape(user.full_name)}(?!\w)")
    for model, fields in GENERATED_TEXT if user.full_name else []:
        match = Q()
        for name_field in fields:
            match |= Q(**{f"{name_field}__contains": user.full_name})
        changed = []
        for row in model.objects.filter(match):
            for name_field in fields:
                setattr(row, name_field, whole_name.sub(FORMER_USER, getattr(row, name_field)))
            changed.append(row)
        model.objects.bulk_update(changed, fields)

    result.memberships = (
        Membership.objects.filter(user=user).delete()[1].get(Membership._meta.label, 0)
    )
    result.notifications = Notification.objects.filter(user=user).count()
    result.reminders = Reminder.objects.filter(recipient=user).count()
    Notification.objects.filter(user=user).delete()
    Reminder.objects.filter(recipient=user).delete()
    result.email_preferences = NotificationPreference.objects.filter(user=user).delete()[0]
    result.calendar_feeds = CalendarFeed.objects.filter(user=user).delete()[0]
    session_keys = _sessions_of(user)
    result.sessions = Session.objects.filter(session_key__in=session_keys).delete()[0]

    profile = SystemLeaderProfile.objects.filter(user=user).first()
    if profile:
        profile.active = False
        profile.summary = ""
        profile.dbs_checked_on = None
        profile.accreditation_expires = None
        profile.save(
            update_fields=["active", "summary", "dbs_checked_on", "accreditation_expires"]
        )

    LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(User), object_id=str(user.pk)
    ).update(object_repr=FORMER_USER, change_message="")

    user.full_name = FORMER_USER
    user.email = f"deleted-{user.pk}@{ERASED_DOMAIN}"
    user.job_title = ""
    user.phone = ""
    user.is_active = False
    user.is_staff = False
    user.is_superuser = False
    user.last_login = None
    user.set_unusable_password()
    user.save()
    user.groups.clear()
    user.user_permissions.clear()

    if dry_run:
        transaction.set_rollback(True)
    return result
