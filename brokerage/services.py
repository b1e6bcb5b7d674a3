"""Every write in brokerage that carries a rule: one function per transition.

Each records who, when and why in the request's timeline, and raises ValidationError with a
message the user can act on when the rule says no.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError, Sum
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from trust.models import Organisation, Role, SystemLeaderProfile, User

from .matching import NO_CAPACITY, days_per_term, terms_between
from .models import (
    Candidate,
    Commission,
    CommissionLeader,
    FundingAllocation,
    FundingStream,
    Offer,
    ReportingDeadline,
    RequestEvent,
    SupportRequest,
)

S = SupportRequest.Status


def _is_coordinator(user: User, request: SupportRequest) -> bool:
    return request.hub_id in user.organisation_ids_for(Role.HUB_COORDINATOR)


def _is_school_contact(user: User, request: SupportRequest) -> bool:
    return request.school_id in user.organisation_ids_for(Role.SCHOOL_CONTACT)


def _record(request, actor, action, *, from_status="", to_status="", reason="", hub_only=False):
    limit = RequestEvent._meta.get_field("action").max_length
    if len(action) > limit:
        # A long schedule or many streams: the timeline shows the start, the reason all of it.
        reason = "\n\n".join(part for part in (action, reason) if part)[:2000]
        action = action[: limit - 1] + "…"
    RequestEvent.objects.create(
        request=request,
        actor=actor,
        action=action,
        from_status=from_status,
        to_status=to_status,
        reason=reason,
        hub_only=hub_only,
    )


def _move(request, actor, to: str, action: str, reason: str = "", *, hub_only=False):
    from_status = request.status
    request.status = to
    request.status_changed_at = timezone.now()
    request._history_user = actor
    request.save(update_fields=["status", "status_changed_at", "updated_at"])
    _record(
        request,
        actor,
        action,
        from_status=from_status,
        to_status=to,
        reason=reason,
        hub_only=hub_only,
    )


def _lock(request: SupportRequest) -> SupportRequest:
    """Re-read the request under a row lock so two people cannot move it at once."""
    return SupportRequest.objects.select_for_update().get(pk=request.pk)


# ----------------------------------------------------------------- requests


REQUEST_FIELDS = [
    "title",
    "need_areas",
    "subject",
    "context",
    "priority",
    "days_sought",
    "funding_sought",
    "desired_start",
]


@transaction.atomic
def request_create(*, actor: User, school: Organisation, submit: bool, **fields) -> SupportRequest:
    """A school contact raises a request for their own school; a hub coordinator for any
    school in their hub's area."""
    may = school.pk in actor.organisation_ids_for(Role.SCHOOL_CONTACT) or (
        school.hub_id in actor.organisation_ids_for(Role.HUB_COORDINATOR)
    )
    if not may or school.kind != Organisation.Kind.SCHOOL:
        raise ValidationError({"school": "You can raise requests only for your own school."})
    if not school.hub_id:
        raise ValidationError({"school": "This school is not in a hub's area yet."})
    request = SupportRequest(hub_id=school.hub_id, school=school, raised_by=actor, **fields)
    request.full_clean()
    request._history_user = actor
    request.save()
    _record(request, actor, "Request drafted", to_status=S.DRAFT)
    if submit:
        _move(request, actor, S.SUBMITTED, "Request submitted to the hub")
    return request


def request_editable_by(*, request: SupportRequest, user: User) -> bool:
    """The school edits its request while it is a draft; the hub until it is offered."""
    if _is_coordinator(user, request):
        return request.status in {S.DRAFT, S.SUBMITTED, S.TRIAGE, S.BROKERING}
    return _is_school_contact(user, request) and request.status == S.DRAFT


@transaction.atomic
def request_update(*, request: SupportRequest, actor: User, **fields) -> SupportRequest:
    """Edit a request: its school while it is a draft; the hub until it is offered."""
    request = _lock(request)
    if not request_editable_by(request=request, user=actor):
        raise ValidationError(
            f"This request is {request.get_status_display().lower()} and can no longer be "
            "edited by you. Ask the hub coordinator to change it."
        )
    changed = [name for name in REQUEST_FIELDS if getattr(request, name) != fields[name]]
    for name in REQUEST_FIELDS:
        setattr(request, name, fields[name])
    request.full_clean()
    request._history_user = actor
    request.save()
    if changed:
        _record(request, actor, "Request edited", reason="Changed: " + ", ".join(changed))
    return request


@dataclass(frozen=True)
class Transition:
    label: str
    sources: frozenset[str]
    target: str
    roles: frozenset[str]  # "coordinator" and/or "school"
    needs_reason: bool
    event: str


TRANSITIONS = {
    "submit": Transition(
        "Submit to the hub",
        frozenset({S.DRAFT}),
        S.SUBMITTED,
        frozenset({"coordinator", "school"}),
        False,
        "Request submitted to the hub",
    ),
    "triage": Transition(
        "Start triage",
        frozenset({S.SUBMITTED}),
        S.TRIAGE,
        frozenset({"coordinator"}),
        False,
        "Triage started",
    ),
    "broker": Transition(
        "Start brokering",
        frozenset({S.TRIAGE}),
        S.BROKERING,
        frozenset({"coordinator"}),
        False,
        "Brokering started",
    ),
    "decline": Transition(
        "Decline the request",
        frozenset({S.SUBMITTED, S.TRIAGE, S.BROKERING}),
        S.DECLINED,
        frozenset({"coordinator"}),
        True,
        "Request declined by the hub",
    ),
    "withdraw": Transition(
        "Withdraw the request",
        frozenset({S.DRAFT, S.SUBMITTED, S.TRIAGE, S.BROKERING, S.OFFERED}),
        S.WITHDRAWN,
        frozenset({"coordinator", "school"}),
        True,
        "Request withdrawn",
    ),
}


def _roles_on(user: User, request: SupportRequest) -> set[str]:
    roles = set()
    if _is_coordinator(user, request):
        roles.add("coordinator")
    if _is_school_contact(user, request):
        roles.add("school")
    return roles


def allowed_transitions(*, request: SupportRequest, user: User) -> list[tuple[str, Transition]]:
    roles = _roles_on(user, request)
    return [
        (name, t)
        for name, t in TRANSITIONS.items()
        if request.status in t.sources and roles & t.roles
    ]


@transaction.atomic
def request_transition(
    *, request: SupportRequest, actor: User, action: str, reason: str = ""
) -> SupportRequest:
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise ValidationError("That is not something that can be done to a request.")
    request = _lock(request)
    roles = _roles_on(actor, request)
    if not roles & transition.roles:
        raise ValidationError("Your role does not allow that step.")
    if request.status not in transition.sources:
        raise ValidationError(
            f"This request is {request.get_status_display().lower()}, so it cannot be moved "
            f"to “{S(transition.target).label.lower()}”. Reload the page to see its state."
        )
    reason = reason.strip()
    if transition.needs_reason and not reason:
        raise ValidationError({"reason": "Give a reason: the school and the hub will see it."})
    if request.status == S.OFFERED:
        for offer in request.offers.select_for_update().filter(status=Offer.Status.OPEN):
            offer.status = Offer.Status.RETRACTED
            offer.response = "The request was withdrawn."
            offer.responded_by, offer.responded_at = actor, timezone.now()
            offer.save(update_fields=["status", "response", "responded_by", "responded_at"])
    _move(request, actor, transition.target, transition.event, reason)
    return request


# ---------------------------------------------------------------- shortlisting


@transaction.atomic
def candidate_shortlist(
    *,
    request: SupportRequest,
    actor: User,
    leader: SystemLeaderProfile,
    today: datetime.date,
    override_reason: str = "",
) -> Candidate:
    """Put a leader on the shortlist with their score as it stands. An excluded leader goes
    on only with the coordinator's reason for overriding the conflict."""
    from .selectors import match_leaders

    request = _lock(request)
    if not _is_coordinator(actor, request):
        raise ValidationError("Only the hub coordinator can shortlist.")
    if request.status not in {S.TRIAGE, S.BROKERING}:
        raise ValidationError("Shortlist while the request is in triage or brokering.")
    visible = SystemLeaderProfile.objects.visible_to(actor).filter(pk=leader.pk)
    eligible, excluded = match_leaders(request=request, profiles=visible, today=today)
    match = (eligible or excluded or [None])[0]
    if match is None:
        raise ValidationError("That system leader is not in your hub's area.")
    override_reason = override_reason.strip()
    if match.excluded and not override_reason:
        raise ValidationError(
            {
                "override_reason": f"{match.leader.name} is excluded: "
                + " ".join(match.conflicts)
                + " Give a reason to shortlist them anyway."
            }
        )
    if request.candidates.filter(leader=leader).exists():
        raise ValidationError(f"{match.leader.name} is already on the shortlist.")
    candidate = Candidate.objects.create(
        request=request,
        leader=leader,
        score=Decimal(str(match.score)),
        parts=[
            {"name": p.name, "points": p.points, "out_of": p.out_of, "why": p.why}
            for p in match.parts
        ],
        conflicts=list(match.conflicts),
        override_reason=override_reason if match.excluded else "",
        shortlisted_by=actor,
    )
    action = f"Shortlisted {match.leader.name} (score {match.score:g})"
    if match.excluded:
        action += " overriding: " + " ".join(match.conflicts)
    _record(
        request, actor, action, reason=override_reason if match.excluded else "", hub_only=True
    )
    return candidate


@transaction.atomic
def candidate_remove(*, candidate: Candidate, actor: User) -> None:
    request = _lock(candidate.request)
    if not _is_coordinator(actor, request):
        raise ValidationError("Only the hub coordinator can change the shortlist.")
    if request.status not in {S.TRIAGE, S.BROKERING}:
        raise ValidationError("The shortlist can change only in triage or brokering.")
    name = candidate.leader.user.full_name
    candidate.delete()
    _record(request, actor, f"Removed {name} from the shortlist", hub_only=True)


# ---------------------------------------------------------------------- offers


@transaction.atomic
def offer_make(
    *,
    request: SupportRequest,
    actor: User,
    lead_organisation: Organisation,
    proposed_lead: SystemLeaderProfile,
    days: Decimal,
    start: datetime.date,
    end: datetime.date,
    message: str = "",
) -> Offer:
    request = _lock(request)
    if not _is_coordinator(actor, request):
        raise ValidationError("Only the hub coordinator can make offers.")
    if request.status != S.BROKERING:
        raise ValidationError("Offer the request while it is being brokered.")
    if lead_organisation.kind not in Organisation.LEAD_KINDS or (
        lead_organisation.hub_id != request.hub_id
    ):
        raise ValidationError(
            {"lead_organisation": "Choose a trust or teaching school in your hub."}
        )
    if lead_organisation.pk == request.school.parent_trust_id:
        raise ValidationError(
            {"lead_organisation": "The school's own trust cannot be its lead organisation."}
        )
    if not request.candidates.filter(leader=proposed_lead).exists():
        raise ValidationError(
            {"proposed_lead": "Shortlist the proposed Lead System Leader first."}
        )
    if end < start:
        raise ValidationError({"end": "The end date is before the start date."})
    today = timezone.localdate()
    # Past starts are allowed (commissions carried over from spreadsheets); far futures not.
    if not datetime.date(2000, 1, 1) <= start <= today + datetime.timedelta(days=730):
        raise ValidationError({"start": "Choose a start within the next two years."})
    if (end - start).days > 3 * 366:
        raise ValidationError({"end": "Support longer than three years cannot be offered."})
    offer = Offer(
        request=request,
        lead_organisation=lead_organisation,
        proposed_lead=proposed_lead,
        days=days,
        start=start,
        end=end,
        message=message,
        offered_by=actor,
    )
    offer.full_clean()
    offer.save()
    # The message stays on the offer, for the trust it was sent to.
    _move(request, actor, S.OFFERED, f"Offered to {lead_organisation.name}")
    return offer


def _lock_open_offer(offer: Offer, actor: User, *, as_trust: bool) -> Offer:
    # Request first, then offer: the order request_transition uses, so a withdrawal and an
    # acceptance at the same moment queue up rather than deadlock.
    _lock(offer.request)
    offer = (
        Offer.objects.select_for_update(of=("self",)).select_related("request").get(pk=offer.pk)
    )
    if as_trust and offer.lead_organisation_id not in actor.organisation_ids_for(Role.TRUST_LEAD):
        raise ValidationError("Only the lead organisation's trust lead can reply.")
    if not as_trust and not _is_coordinator(actor, offer.request):
        raise ValidationError("Only the hub coordinator can retract an offer.")
    if offer.status != Offer.Status.OPEN:
        raise ValidationError(f"This offer has already been {offer.get_status_display().lower()}.")
    return offer


def _close_offer(offer: Offer, actor: User, status: str, response: str) -> None:
    offer.status = status
    offer.response = response
    offer.responded_by = actor
    offer.responded_at = timezone.now()
    offer.save(update_fields=["status", "response", "responded_by", "responded_at"])


@transaction.atomic
def offer_decline(*, offer: Offer, actor: User, reason: str) -> Offer:
    """The trust lead says no; the request goes back to brokering."""
    offer = _lock_open_offer(offer, actor, as_trust=True)
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Say why, so the hub can find the right support."})
    _close_offer(offer, actor, Offer.Status.DECLINED, reason)
    request = _lock(offer.request)
    _move(
        request,
        actor,
        S.BROKERING,
        f"{offer.lead_organisation.name} declined the offer",
        reason,
        hub_only=True,
    )
    return offer


@transaction.atomic
def offer_retract(*, offer: Offer, actor: User, reason: str) -> Offer:
    offer = _lock_open_offer(offer, actor, as_trust=False)
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Say why the offer is withdrawn."})
    _close_offer(offer, actor, Offer.Status.RETRACTED, reason)
    request = _lock(offer.request)
    _move(
        request,
        actor,
        S.BROKERING,
        f"Offer to {offer.lead_organisation.name} retracted",
        reason,
        hub_only=True,
    )
    return offer


@dataclass(frozen=True)
class LeaderDays:
    leader: SystemLeaderProfile
    days: Decimal
    release_agreed: bool


def _check_capacity(entries: list[LeaderDays], start: datetime.date, end: datetime.date) -> None:
    """Refuse if any leader would go over their days in any term the commission spans.
    Call with the leaders' profile rows locked."""
    from .selectors import leader_loads

    problems = []
    for term in terms_between(start, end):
        loads = leader_loads(leader_ids=[e.leader.pk for e in entries], term=term)
        for entry in entries:
            asked = days_per_term(entry.days, start, end)
            free = entry.leader.capacity_days_per_term - loads.get(entry.leader.pk, Decimal("0"))
            if asked > free:
                problems.append(
                    f"{entry.leader.user.full_name} has {max(free, Decimal(0)).normalize():f} "
                    f"days free in {term} but this needs {asked.normalize():f}."
                )
    if problems:
        raise ValidationError(problems)


def default_deadlines(start: datetime.date, end: datetime.date) -> list[tuple[str, datetime.date]]:
    """An interim report half-way through support longer than eight weeks, and a final
    report four weeks after it ends."""
    deadlines = []
    if (end - start).days > 56:
        deadlines.append((ReportingDeadline.Kind.INTERIM, start + (end - start) / 2))
    deadlines.append((ReportingDeadline.Kind.FINAL, end + datetime.timedelta(days=28)))
    return deadlines


@transaction.atomic
def offer_accept(
    *, offer: Offer, actor: User, lead: LeaderDays, supporting: list[LeaderDays], today
) -> Commission:
    """The trust lead accepts, naming the leaders; the commission is created at once."""
    from .selectors import match_leaders

    offer = _lock_open_offer(offer, actor, as_trust=True)
    request = _lock(offer.request)
    entries = [lead, *supporting]
    leader_ids = [e.leader.pk for e in entries]
    if len(set(leader_ids)) != len(leader_ids):
        raise ValidationError("Name each leader once.")
    missing = [e.leader.user.full_name for e in entries if not e.release_agreed]
    if missing:
        raise ValidationError(
            "Record that the home headteacher has agreed the release of "
            + ", ".join(missing)
            + "."
        )
    # Lock the leaders' profiles (in a fixed order) so two acceptances cannot both spend
    # the same leader's last days.
    locked = {
        p.pk: p
        for p in SystemLeaderProfile.objects.select_for_update()
        .select_related("user")
        .filter(pk__in=leader_ids)
        .order_by("pk")
    }
    entries = [LeaderDays(locked[e.leader.pk], e.days, e.release_agreed) for e in entries]
    # Hard conflicts hold however the leader was chosen (capacity is checked per term below).
    _, excluded = match_leaders(
        request=request,
        profiles=SystemLeaderProfile.objects.filter(pk__in=leader_ids),
        today=today,
    )
    for match in excluded:
        reasons = [c for c in match.conflicts if c != NO_CAPACITY]
        if reasons:
            raise ValidationError(f"{match.leader.name} cannot lead here: " + " ".join(reasons))
    total = sum((e.days for e in entries), Decimal("0"))
    if total > offer.days:
        raise ValidationError(
            f"The leaders' days add up to {total.normalize():f}, more than the "
            f"{offer.days.normalize():f} days offered."
        )
    from .selectors import trust_leader_choices

    allowed = set(trust_leader_choices(user=actor, offer=offer).values_list("pk", flat=True))
    strangers = [e.leader.user.full_name for e in entries if e.leader.pk not in allowed]
    if strangers:
        raise ValidationError(
            "Name leaders from your own trust, or the leader the hub proposed; not "
            + ", ".join(strangers)
            + "."
        )
    _check_capacity(entries, offer.start, offer.end)

    commission = Commission(
        request=request,
        offer=offer,
        lead_organisation=offer.lead_organisation,
        days_allocated=offer.days,
        start=offer.start,
        end=offer.end,
    )
    commission.full_clean()
    commission._history_user = actor
    commission.save()
    for index, entry in enumerate(entries):
        CommissionLeader.objects.create(
            commission=commission,
            leader=entry.leader,
            role=CommissionLeader.Role.LEAD if index == 0 else CommissionLeader.Role.SUPPORTING,
            days=entry.days,
            release_agreed=entry.release_agreed,
        )
    bulk_create_with_history(
        [
            ReportingDeadline(commission=commission, kind=kind, due=due)
            for kind, due in default_deadlines(commission.start, commission.end)
        ],
        ReportingDeadline,
        default_user=actor,
    )
    _close_offer(offer, actor, Offer.Status.ACCEPTED, "")
    names = ", ".join(e.leader.user.full_name for e in entries)
    _move(
        request,
        actor,
        S.COMMISSIONED,
        f"{offer.lead_organisation.name} accepted; commissioned with {names}",
    )
    return commission


# ------------------------------------------------------------------ commissions


def _require_commission_coordinator(commission: Commission, actor: User) -> None:
    if commission.request.hub_id not in actor.organisation_ids_for(Role.HUB_COORDINATOR):
        raise ValidationError("Only the hub coordinator can change the commission.")


@transaction.atomic
def commission_set_funding(
    *, commission: Commission, actor: User, allocations: list[tuple[FundingStream, Decimal]]
) -> list[FundingAllocation]:
    """Replace the commission's funding. Each stream is locked while its remaining budget is
    checked, so two coordinators saving at once cannot overspend it."""
    commission = (
        Commission.objects.select_for_update().select_related("request").get(pk=commission.pk)
    )
    _require_commission_coordinator(commission, actor)
    stream_ids = [stream.pk for stream, _ in allocations]
    if len(set(stream_ids)) != len(stream_ids):
        raise ValidationError("Use each funding stream once; add the amounts together.")
    streams = {
        s.pk: s
        for s in FundingStream.objects.select_for_update().filter(pk__in=stream_ids).order_by("pk")
    }
    year = commission.academic_year
    problems = []
    new_rows = []
    for stream, amount in allocations:
        stream = streams[stream.pk]
        if stream.hub_id != commission.request.hub_id:
            raise ValidationError("That funding stream belongs to another hub.")
        if amount <= 0:
            problems.append(f"The amount from {stream} must be more than £0.")
            continue
        if stream.academic_year > year:
            problems.append(f"{stream} is for a later year than this commission ({year}).")
            continue
        already = stream.allocations.exclude(commission=commission).aggregate(total=Sum("amount"))[
            "total"
        ] or Decimal("0")
        remaining = stream.total_budget - already
        if amount > remaining:
            problems.append(
                f"{stream} has £{remaining:,.2f} left; £{amount:,.2f} is more than that."
            )
            continue
        new_rows.append(
            FundingAllocation(
                commission=commission,
                stream=stream,
                amount=amount,
                carry_forward=stream.academic_year < year,
            )
        )
    if problems:
        raise ValidationError(problems)
    # Rows are changed in place, so spend recorded against a stream keeps its allocation.
    existing = {row.stream_id: row for row in commission.allocations.all()}
    for row in new_rows:
        if row.stream_id in existing:
            old = existing.pop(row.stream_id)
            old.amount, old.carry_forward = row.amount, row.carry_forward
            old._history_user = actor
            old.save(update_fields=["amount", "carry_forward"])
        else:
            row._history_user = actor
            row.save()
    for row in existing.values():
        row._history_user = actor
        try:
            with transaction.atomic():
                row.delete()
        except ProtectedError:
            raise ValidationError(
                f"Money has already been spent from {row.stream}, so it stays on this "
                "commission; you can reduce its amount instead."
            ) from None
    total = sum((row.amount for row in new_rows), Decimal("0"))
    _record(
        commission.request,
        actor,
        f"Funding set to £{total:,.2f} from "
        + (", ".join(str(r.stream) for r in new_rows) or "no streams"),
    )
    return new_rows


@transaction.atomic
def commission_set_deadlines(
    *, commission: Commission, actor: User, deadlines: list[tuple[str, datetime.date]]
) -> None:
    """Set the reporting schedule. Rows are changed in place where a report of that kind
    is still due, so what hangs off a deadline (reminders, reports) keeps its row."""
    commission = (
        Commission.objects.select_for_update().select_related("request").get(pk=commission.pk)
    )
    _require_commission_coordinator(commission, actor)
    if any(kind not in ReportingDeadline.Kind.values for kind, _ in deadlines):
        raise ValidationError("A report is either interim or final.")
    finals = [due for kind, due in deadlines if kind == ReportingDeadline.Kind.FINAL]
    if len(finals) != 1:
        raise ValidationError("Set exactly one final report deadline.")
    latest = commission.end + datetime.timedelta(days=366)
    problems = []
    if finals[0] < commission.end:
        problems.append(
            f"The final report is due once the support has ended: on or after "
            f"{commission.end:%-d %b %Y}."
        )
    for kind, due in deadlines:
        if due < commission.start:
            problems.append(f"A report cannot be due ({due:%-d %b %Y}) before the support starts.")
        if due > latest:
            problems.append("A report cannot be due more than a year after the support ends.")
        if kind == ReportingDeadline.Kind.INTERIM and due >= finals[0]:
            problems.append("Interim reports must be due before the final report.")
    interims = [due for kind, due in deadlines if kind == ReportingDeadline.Kind.INTERIM]
    if len(set(interims)) != len(interims):
        problems.append("Two interim reports cannot be due on the same day.")
    if problems:
        raise ValidationError(list(dict.fromkeys(problems)))

    for kind in ReportingDeadline.Kind.values:
        rows = list(commission.deadlines.filter(kind=kind).order_by("due", "pk"))
        dues = sorted(due for k, due in deadlines if k == kind)
        for row, due in zip(rows, dues, strict=False):
            if row.due != due:
                row.due = due
                row._history_user = actor
                row.save(update_fields=["due"])
        for row in rows[len(dues) :]:
            row._history_user = actor
            try:
                with transaction.atomic():
                    row.delete()
            except ProtectedError:
                raise ValidationError(
                    f"The {row.get_kind_display().lower()} due {row.due:%-d %b %Y} has been "
                    "started, so it cannot be removed; change its date instead."
                ) from None
        bulk_create_with_history(
            [
                ReportingDeadline(commission=commission, kind=kind, due=due)
                for due in dues[len(rows) :]
            ],
            ReportingDeadline,
            default_user=actor,
        )
    schedule = "; ".join(
        f"{ReportingDeadline.Kind(k).label.lower()} {d:%-d %b %Y}"
        for k, d in sorted(deadlines, key=lambda d: d[1])
    )
    _record(commission.request, actor, f"Reporting schedule set: {schedule}")


@transaction.atomic
def commission_update(*, commission: Commission, actor: User, grant_conditions: str) -> Commission:
    commission = (
        Commission.objects.select_for_update().select_related("request").get(pk=commission.pk)
    )
    _require_commission_coordinator(commission, actor)
    commission.grant_conditions = grant_conditions
    commission._history_user = actor
    commission.full_clean()
    commission.save(update_fields=["grant_conditions", "updated_at"])
    _record(commission.request, actor, "Grant conditions updated")
    return commission


# --------------------------------------------------------------- funding streams


@transaction.atomic
def stream_save(*, actor: User, stream: FundingStream) -> FundingStream:
    if stream.hub_id not in actor.organisation_ids_for(Role.HUB_COORDINATOR):
        raise ValidationError("Only the hub coordinator can manage funding streams.")
    if stream.funder.kind != Organisation.Kind.FUNDER:
        raise ValidationError({"funder": "Choose a funder."})
    if stream.pk:
        # Lock the stream so an allocation cannot slip in while the budget is cut.
        FundingStream.objects.select_for_update().get(pk=stream.pk)
        allocated = stream.allocations.aggregate(total=Sum("amount"))["total"] or Decimal("0")
        if stream.total_budget < allocated:
            raise ValidationError(
                {
                    "total_budget": f"£{allocated:,.2f} is already allocated from this stream; "
                    "the budget cannot be less than that."
                }
            )
    stream.full_clean()
    stream.save()
    return stream
