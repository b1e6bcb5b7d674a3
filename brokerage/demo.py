"""Demo brokerage on top of trust's demo hub: funding streams, requests in every state, six
commissions. Built through the services, so the timelines read as they would in real use.
Idempotent: a request that already exists (by school and title) is left as it is.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.utils import timezone

from trust.demo import DEMO_PASSWORD, HUB_NAME
from trust.models import Membership, Organisation, Role, SystemLeaderProfile, User

from . import services
from .models import FundingStream, Offer, SupportRequest

OA = "Bradford Opportunity Area"
DFE = "Department for Education"


def _stream(hub, funder, name, year, budget):
    stream, _ = FundingStream.objects.get_or_create(
        hub=hub,
        name=name,
        academic_year=year,
        defaults={"funder": funder, "total_budget": Decimal(budget)},
    )
    return stream


def _year(start_year: int) -> str:
    return f"{start_year}-{(start_year + 1) % 100:02d}"


def seed() -> list[str]:
    today = timezone.localdate()
    hub = Organisation.objects.get(kind=Organisation.Kind.HUB, name=HUB_NAME)
    oa = Organisation.objects.get(kind=Organisation.Kind.FUNDER, name=OA)
    dfe, _ = Organisation.objects.get_or_create(
        kind=Organisation.Kind.FUNDER, name=DFE, defaults={"hub": hub}
    )
    this_year = today.year if today.month >= 9 else today.year - 1
    streams = {
        "oa-2019": _stream(hub, oa, "Opportunity Area school improvement", "2019-20", "40000"),
        "oa-2020": _stream(hub, oa, "Opportunity Area school improvement", "2020-21", "60000"),
        "hub-2020": _stream(hub, dfe, "Hub leadership fund", "2020-21", "25000"),
        "oa-last": _stream(
            hub, oa, "Opportunity Area school improvement", _year(this_year - 1), "50000"
        ),
        "oa-now": _stream(
            hub, oa, "Opportunity Area school improvement", _year(this_year), "60000"
        ),
        "hub-now": _stream(hub, dfe, "Hub leadership fund", _year(this_year), "30000"),
    }

    coordinator = User.objects.get(email="coordinator@demo.test")
    school_contact = User.objects.get(email="school@demo.test")
    av_lead = User.objects.get(email="trustlead@demo.test")
    pennine = Organisation.objects.get(
        kind=Organisation.Kind.TRUST, name="Pennine Crest Academies"
    )
    av = av_lead.memberships.get(role=Role.TRUST_LEAD).organisation
    pennine_lead, created = User.objects.get_or_create(
        email="pennine.lead@demo.test",
        defaults={"full_name": "Mark Sutcliffe", "job_title": "Chief executive"},
    )
    if created:
        pennine_lead.set_password(DEMO_PASSWORD)
        pennine_lead.save(update_fields=["password"])
    Membership.objects.get_or_create(user=pennine_lead, organisation=pennine, role=Role.TRUST_LEAD)

    schools = list(Organisation.objects.schools().filter(hub=hub, urn__startswith="9001"))
    schools.sort(key=lambda s: s.urn)
    school_contact_school = school_contact.memberships.get(role=Role.SCHOOL_CONTACT).organisation
    leader = {
        p.user.email.split("@")[0]: p for p in SystemLeaderProfile.objects.select_related("user")
    }
    start = today - datetime.timedelta(days=21)
    end = start + datetime.timedelta(days=240)

    def request(school, title, needs, *, subject=None, days="10", by=coordinator, **extra):
        existing = SupportRequest.objects.filter(school=school, title=title).first()
        if existing:
            return existing, False
        return (
            services.request_create(
                actor=by,
                school=school,
                submit=extra.pop("submit", True),
                title=title,
                need_areas=needs,
                subject=subject,
                context=extra.pop(
                    "context",
                    "Outcomes have dipped two years running and the new leadership team "
                    "wants an experienced colleague to help plan and check the recovery.",
                ),
                priority=extra.pop("priority", "medium"),
                days_sought=Decimal(days),
                funding_sought=Decimal(extra.pop("funding", "5000")),
                desired_start=extra.pop("desired", start),
            ),
            True,
        )

    def broker(r, *candidates):
        services.request_transition(request=r, actor=coordinator, action="triage")
        services.request_transition(request=r, actor=coordinator, action="broker")
        for profile in candidates:
            services.candidate_shortlist(request=r, actor=coordinator, leader=profile, today=today)

    def commission(r, trust, trust_lead, lead, lead_days, supporting, when, funding):
        broker(r, lead)
        offer = services.offer_make(
            request=r,
            actor=coordinator,
            lead_organisation=trust,
            proposed_lead=lead,
            days=Decimal(lead_days) + sum((Decimal(d) for _, d in supporting), Decimal(0)),
            start=when[0],
            end=when[1],
            message="We think your team is the right fit for this school.",
        )
        made = services.offer_accept(
            offer=offer,
            actor=trust_lead,
            lead=services.LeaderDays(lead, Decimal(lead_days), True),
            supporting=[services.LeaderDays(p, Decimal(d), True) for p, d in supporting],
            today=today,
        )
        services.commission_set_funding(
            commission=made,
            actor=coordinator,
            allocations=[(streams[key], Decimal(amount)) for key, amount in funding],
        )
        return made

    maths = _specialism("maths")
    science = _specialism("science")
    made = 0
    r, new = request(
        school_contact_school,
        "Maths leadership across KS2",
        ["leadership", "subject"],
        subject=maths,
        days="12",
        by=school_contact,
        priority="high",
    )
    if new:
        commission(r, av, av_lead, leader["leader"], "12", [], (start, end),
                   [("oa-now", "6000"), ("oa-last", "2000")])  # fmt: skip
        made += 1
    r, new = request(schools[7], "SEND provision and EHCP quality", ["send"], days="10")
    if new:
        commission(r, av, av_lead, leader["fatima.shaw"], "10", [], (start, end),
                   [("hub-now", "4500")])  # fmt: skip
        made += 1
    r, new = request(schools[22], "Science curriculum in KS3", ["subject", "curriculum"],
                     subject=science, days="15")  # fmt: skip
    if new:
        commission(r, av, av_lead, leader["owen.price"], "9", [(leader["fatima.shaw"], "6")],
                   (start, end), [("oa-now", "7500")])  # fmt: skip
        made += 1
    r, new = request(schools[3], "Governing board review", ["governance"], days="6")
    if new:
        soon = (today, today + datetime.timedelta(days=80))
        commission(r, pennine, pennine_lead, leader["david.clarke"], "6", [], soon,
                   [("hub-now", "3000")])  # fmt: skip
        made += 1
    r, new = request(schools[29], "Behaviour and attendance recovery",
                     ["behaviour_attendance", "leadership"], days="10",
                     desired=datetime.date(2020, 9, 1))  # fmt: skip
    if new:
        commission(r, pennine, pennine_lead, leader["michael.brennan"], "10", [],
                   (datetime.date(2020, 9, 1), datetime.date(2021, 7, 16)),
                   [("oa-2019", "3000"), ("oa-2020", "7000")])  # fmt: skip
        made += 1
    r, new = request(schools[16], "New headteacher induction", ["leadership"], days="8",
                     desired=datetime.date(2020, 10, 1))  # fmt: skip
    if new:
        commission(r, av, av_lead, leader["leader"], "8", [],
                   (datetime.date(2020, 10, 1), datetime.date(2021, 6, 30)),
                   [("hub-2020", "4000")])  # fmt: skip
        made += 1

    # One request in each other state.
    request(school_contact_school, "Attendance of disadvantaged pupils",
            ["behaviour_attendance"], by=school_contact, submit=False)  # fmt: skip
    request(schools[7], "Early reading and phonics", ["early_years", "subject"],
            subject=_specialism("reading-phonics"), priority="high")  # fmt: skip
    r, new = request(schools[40], "Year 6 writing", ["subject"], subject=_specialism("english"))
    if new:
        services.request_transition(request=r, actor=coordinator, action="triage")
    r, new = request(schools[3], "Phonics catch-up", ["subject"],
                     subject=_specialism("reading-phonics"), days="6")  # fmt: skip
    if new:
        broker(r, leader["joanne.kaur"], leader["claire.nolan"])
        declined = services.offer_make(
            request=r, actor=coordinator, lead_organisation=pennine,
            proposed_lead=leader["joanne.kaur"], days=Decimal("6"), start=start, end=end,
        )  # fmt: skip
        services.offer_decline(
            offer=declined,
            actor=pennine_lead,
            reason="No primary phonics specialist free until the summer term.",
        )
    r, new = request(schools[36], "Middle leadership development", ["leadership"], days="8")
    if new:
        broker(r, leader["fatima.shaw"])
        services.offer_make(
            request=r, actor=coordinator, lead_organisation=av,
            proposed_lead=leader["fatima.shaw"], days=Decimal("8"), start=start, end=end,
            message="Could Fatima lead this? The head is keen to start before Christmas.",
        )  # fmt: skip
        # Sent three weeks ago and not answered: flagged on the pipeline.
        Offer.objects.filter(request=r).update(
            offered_at=timezone.now() - datetime.timedelta(days=21)
        )
    r, new = request(schools[40], "New sports hall", ["other"], days="2")
    if new:
        services.request_transition(
            request=r,
            actor=coordinator,
            action="decline",
            reason="Capital works are outside school-to-school support; see the LA's "
            "capital programme.",
        )
    r, new = request(school_contact_school, "Governor training", ["governance"],
                     by=school_contact)  # fmt: skip
    if new:
        services.request_transition(
            request=r,
            actor=school_contact,
            action="withdraw",
            reason="We found training through the local authority.",
        )

    return [
        f"Brokerage: {len(streams)} funding streams, "
        f"{SupportRequest.objects.filter(hub=hub).count()} requests, "
        f"{made} new commissions.",
        "  pennine.lead@demo.test   Trust lead (Pennine Crest Academies)",
    ]


def _specialism(code):
    from trust.models import Specialism

    return Specialism.objects.get(code=code)
