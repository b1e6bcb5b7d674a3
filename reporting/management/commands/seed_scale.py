"""Bulk synthetic data on top of the demo hub, for benchmarks and for trying the overview
screens at the size of a large hub (DESIGN.md §5 and §6).

    python manage.py seed_scale --schools 500 --visits 20000

adds, to the demo hub (``seed_demo`` runs first if it has not), that many schools in
clusters and local authorities, trusts, system leaders, funding streams over two academic
years (so there is carry-forward), open requests in every state, commissions with leaders,
money, reporting deadlines, action plans and objectives, visits spread over the commissions'
weeks, spend and draft reports. ``coordinator@demo.test`` then sees the whole of it.

Everything is written with bulk inserts in batches (with their first audit history row, for
the audited models, marked as synthetic), so the default size takes well under two minutes.
The data is random but repeatable (``--seed``). Run it once per database; a second run
refuses rather than doubling the hub (start again from an empty database).
"""

from __future__ import annotations

import datetime
import random
import time
import uuid
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from brokerage.models import (
    Commission,
    CommissionLeader,
    FundingAllocation,
    FundingStream,
    NeedArea,
    Offer,
    ReportingDeadline,
    SupportRequest,
)
from deployments.models import RAG, ActionPlan, Objective, Visit, VisitObjective
from reporting.models import ImpactReport, SpendLine
from trust.demo import HUB_NAME
from trust.models import (
    Cluster,
    Membership,
    Organisation,
    Role,
    Specialism,
    SystemLeaderProfile,
    User,
)

CHANGE_REASON = "Synthetic data made by seed_scale"
MARK = "scale"  # in e-mail domains and cluster names, so the data is easy to recognise
URN_BASE = 900000
BATCH = 2000
LOCAL_AUTHORITIES = ["Leeds", "Bradford", "Wakefield", "Kirklees", "Calderdale", "York"]
FIRST = ["Amira", "Ben", "Chloe", "Dev", "Elif", "Femi", "Grace", "Hamza", "Isla", "Jack"]
LAST = ["Ahmed", "Brown", "Clarke", "Davies", "Evans", "Green", "Hall", "Iqbal", "Khan", "Reid"]
PLACES = ["Ash", "Beck", "Calder", "Dale", "Eller", "Fern", "Gill", "Holme", "Kirk", "Moor"]
KINDS = ["Primary", "Academy", "Junior", "Infant", "High", "C of E Primary", "Community"]


class Command(BaseCommand):
    help = "Add a large synthetic programme to the demo hub (bulk inserts; for benchmarks)."

    def add_arguments(self, parser):
        parser.add_argument("--schools", type=int, default=500)
        parser.add_argument("--visits", type=int, default=20000)
        parser.add_argument("--leaders", type=int, default=200)
        parser.add_argument("--commissions", type=int, default=1000)
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args, **opts):
        for name in ("schools", "visits", "leaders", "commissions"):
            if opts[name] < 1:
                raise CommandError(f"--{name} must be at least 1.")
        if opts["commissions"] > opts["schools"] * 4:
            raise CommandError("At most four commissions per school: raise --schools.")
        started = time.perf_counter()
        if not Organisation.objects.filter(kind=Organisation.Kind.HUB, name=HUB_NAME).exists():
            call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
        hub = Organisation.objects.get(kind=Organisation.Kind.HUB, name=HUB_NAME)
        if Cluster.objects.filter(hub=hub, name__startswith=f"{MARK.title()} ").exists():
            raise CommandError(
                "This database already has seed_scale data; start from an empty database."
            )
        coordinator = User.objects.get(email="coordinator@demo.test")
        with transaction.atomic():
            counts = Builder(hub, opts, coordinator=coordinator).build()
        elapsed = time.perf_counter() - started
        for label, number in counts.items():
            self.stdout.write(f"{number:>8,} {label}")
        self.stdout.write(self.style.SUCCESS(f"Scale data ready in {elapsed:.1f} s."))


class Builder:
    """Builds the data into ``hub``; ``coordinator`` is the hub user who offered the work.
    Tests use it directly, at small sizes, to check pages cost the same at two sizes."""

    DEFAULTS = {"schools": 500, "visits": 20000, "leaders": 200, "commissions": 1000, "seed": 1}
    # ``tag`` tells apart two builds into one hub (tests grow a hub in two steps).

    def __init__(self, hub: Organisation, opts, *, coordinator: User):
        opts = {**self.DEFAULTS, **opts}
        self.coordinator = coordinator
        self.hub = hub
        self.opts = opts
        self.tag = opts.get("tag", "")
        # Repeatable made-up data, no secrets.
        self.rng = random.Random(opts["seed"])  # noqa: S311  # nosec B311
        self.today = timezone.localdate()
        self.now = timezone.now()
        self.counts: dict[str, int] = {}

    def bulk(self, model, objs, label=None):
        if hasattr(model, "history"):  # audited models get their first history row too
            created = bulk_create_with_history(
                objs, model, batch_size=BATCH, default_change_reason=CHANGE_REASON
            )
        else:
            created = model.objects.bulk_create(objs, batch_size=BATCH)
        if label:
            self.counts[label] = self.counts.get(label, 0) + len(created)
        return created

    def build(self) -> dict[str, int]:
        self.people()
        self.organisations()
        self.leaders()
        self.funding()
        self.open_requests()
        self.commissions()
        self.plans()
        self.visits()
        self.money_and_reports()
        return self.counts

    # ------------------------------------------------------------------ people

    def name(self) -> str:
        return f"{self.rng.choice(FIRST)} {self.rng.choice(LAST)}"

    def people(self):
        self.password = make_password(None)  # unusable: scale accounts are not for signing in

    def users(self, prefix: str, count: int) -> list[User]:
        return self.bulk(
            User,
            [
                User(
                    email=f"{prefix}{self.tag}-{i}@{MARK}.test",
                    full_name=self.name(),
                    password=self.password,
                )
                for i in range(count)
            ],
        )

    # ----------------------------------------------------------- organisations

    def organisations(self):
        rng, n = self.rng, self.opts["schools"]
        clusters = self.bulk(
            Cluster,
            [
                Cluster(hub=self.hub, name=f"{MARK.title()} cluster {i + 1}{self.tag}")
                for i in range(n // 12 + 1)
            ],
            "clusters",
        )
        self.trusts = self.bulk(
            Organisation,
            [
                Organisation(
                    kind=Organisation.Kind.TRUST,
                    name=f"{rng.choice(PLACES)} {rng.choice(PLACES)} Learning Trust {i + 1}",
                    hub=self.hub,
                )
                for i in range(n // 15 + 1)
            ],
            "trusts",
        )
        taken = set(Organisation.objects.filter(urn__startswith="9").values_list("urn", flat=True))
        urns = (str(u) for u in range(URN_BASE, 1000000) if str(u) not in taken)
        phases = [Organisation.Phase.PRIMARY] * 6 + [Organisation.Phase.SECONDARY] * 2
        phases += [Organisation.Phase.SPECIAL]
        schools = []
        for i in range(n):
            phase = rng.choice(phases)
            schools.append(
                Organisation(
                    kind=Organisation.Kind.SCHOOL,
                    name=f"{rng.choice(PLACES)}{rng.choice(['dale', 'field', 'side', 'ton'])} "
                    f"{rng.choice(KINDS)} {i + 1}",
                    urn=next(urns),
                    phase=phase,
                    local_authority=rng.choice(LOCAL_AUTHORITIES),
                    postcode=f"LS{rng.randint(1, 29)} {rng.randint(1, 9)}AB",
                    easting=rng.randint(400000, 450000),
                    northing=rng.randint(410000, 450000),
                    hub=self.hub,
                    parent_trust=rng.choice(self.trusts) if rng.random() < 0.6 else None,
                    cluster=clusters[i % len(clusters)],
                    is_open=rng.random() > 0.02,
                )
            )
        self.schools = self.bulk(Organisation, schools, "schools")
        self.open_schools = [s for s in self.schools if s.is_open]
        contacts = self.users("school", len(self.open_schools) // 4 + 1)
        self.school_contacts = {}
        memberships = []
        for user, school in zip(contacts, self.open_schools, strict=False):
            self.school_contacts[school.pk] = user
            memberships.append(
                Membership(user=user, organisation=school, role=Role.SCHOOL_CONTACT)
            )
        self.trust_leads = self.users("trustlead", len(self.trusts))
        memberships += [
            Membership(user=user, organisation=trust, role=Role.TRUST_LEAD)
            for user, trust in zip(self.trust_leads, self.trusts, strict=True)
        ]
        self.bulk(Membership, memberships, "memberships")

    def leaders(self):
        rng, n = self.rng, self.opts["leaders"]
        users = self.users("leader", n)
        specialisms = list(Specialism.objects.all())
        designations = ["nle", "lle", "sle", "sle", "sle", "lp", "lp"]
        profiles, memberships = [], []
        for user in users:
            home = rng.choice(self.trusts + self.open_schools)
            memberships.append(Membership(user=user, organisation=home, role=Role.SYSTEM_LEADER))
            profiles.append(
                SystemLeaderProfile(
                    user=user,
                    designation=rng.choice(designations),
                    phases=rng.sample(["primary", "secondary", "special"], rng.randint(1, 2)),
                    capacity_days_per_term=Decimal(rng.choice([5, 8, 10, 12, 15, 20])),
                    accreditation_expires=self.today + datetime.timedelta(rng.randint(-60, 900)),
                    dbs_checked_on=self.today - datetime.timedelta(rng.randint(30, 1400)),
                    active=rng.random() > 0.05,
                )
            )
        self.bulk(Membership, memberships, "memberships")
        self.profiles = self.bulk(SystemLeaderProfile, profiles, "system leaders")
        through = SystemLeaderProfile.specialisms.through
        self.bulk(
            through,
            [
                through(systemleaderprofile_id=p.pk, specialism_id=s.pk)
                for p in self.profiles
                for s in rng.sample(specialisms, min(len(specialisms), rng.randint(1, 3)))
            ],
        )

    # ----------------------------------------------------------------- money

    def funding(self):
        this_year = self.today.year if self.today.month >= 9 else self.today.year - 1
        funder = Organisation.objects.filter(kind=Organisation.Kind.FUNDER, hub=self.hub).first()
        funder = funder or Organisation.objects.create(
            kind=Organisation.Kind.FUNDER, name="Scale funder", hub=self.hub
        )
        size = Decimal(self.opts["commissions"] * 6000)
        self.streams = {}
        for offset in (2, 1, 0):
            year = this_year - offset
            label = f"{year}-{(year + 1) % 100:02d}"
            self.streams[year] = FundingStream.objects.create(
                hub=self.hub,
                funder=funder,
                name=f"Scale school improvement fund {label}{self.tag}",
                academic_year=label,
                total_budget=size,
            )
        self.counts["funding streams"] = len(self.streams)

    # -------------------------------------------------------------- requests

    def request(self, school, status, created: datetime.datetime) -> SupportRequest:
        rng = self.rng
        need = rng.choice(NeedArea.values)
        return SupportRequest(
            hub=self.hub,
            school=school,
            raised_by=self.school_contacts.get(school.pk, self.coordinator),
            title=f"Support with {NeedArea(need).label.lower()}",
            need_areas=[need],
            context="Synthetic request made by seed_scale.",
            priority=rng.choice(SupportRequest.Priority.values),
            days_sought=Decimal(rng.choice([5, 8, 10, 12, 15])),
            funding_sought=Decimal(rng.choice([3000, 5000, 8000])),
            desired_start=created.date() + datetime.timedelta(days=21),
            status=status,
        )

    def open_requests(self):
        rng = self.rng
        states = ["draft", "submitted", "triage", "brokering", "offered", "declined"]
        objs, ages = [], []
        for _ in range(max(10, self.opts["commissions"] // 6)):
            created = self.now - datetime.timedelta(days=rng.randint(0, 90))
            objs.append(self.request(rng.choice(self.open_schools), rng.choice(states), created))
            ages.append(created)
        self.bulk(SupportRequest, objs, "support requests")
        # auto_now_add cannot be set on create: age the requests afterwards, in one statement
        # per batch through a CASE would be neater, but these few hundred rows are quick.
        for obj, created in zip(objs, ages, strict=True):
            obj.created_at = obj.status_changed_at = created
        bulk_update_with_history(
            objs,
            SupportRequest,
            ["created_at", "status_changed_at"],
            batch_size=BATCH,
            default_change_reason=CHANGE_REASON,
        )

    def commissions(self):
        rng, n = self.rng, self.opts["commissions"]
        starts, requests = [], []
        for i in range(n):
            start = self.today - datetime.timedelta(days=rng.randint(-30, 720))
            starts.append(start)
            school = self.open_schools[i % len(self.open_schools)]
            created = timezone.make_aware(
                datetime.datetime.combine(start - datetime.timedelta(days=40), datetime.time(9))
            )
            requests.append(self.request(school, SupportRequest.Status.COMMISSIONED, created))
        self.bulk(SupportRequest, requests, "support requests")
        offers, commissions = [], []
        for request, start in zip(requests, starts, strict=True):
            end = start + datetime.timedelta(days=rng.choice([120, 180, 270, 330]))
            trust = rng.choice(self.trusts)
            offers.append(
                Offer(
                    request=request,
                    lead_organisation=trust,
                    days=request.days_sought,
                    start=start,
                    end=end,
                    status=Offer.Status.ACCEPTED,
                    offered_by=self.coordinator,
                    responded_at=self.now,
                )
            )
        self.bulk(Offer, offers, "offers")
        for offer in offers:
            commissions.append(
                Commission(
                    request=offer.request,
                    offer=offer,
                    lead_organisation=offer.lead_organisation,
                    days_allocated=offer.days,
                    start=offer.start,
                    end=offer.end,
                )
            )
        self.commissions_list = self.bulk(Commission, commissions, "commissions")
        leaders, allocations, deadlines = [], [], []
        active_profiles = [p for p in self.profiles if p.active]
        self.deployments = []
        for c in self.commissions_list:
            chosen = rng.sample(active_profiles, 2)
            lead_days = (c.days_allocated * Decimal("0.7")).quantize(Decimal("0.5"))
            leaders.append(
                CommissionLeader(
                    commission=c,
                    leader=chosen[0],
                    role="lead",
                    days=lead_days,
                    release_agreed=True,
                )
            )
            if rng.random() < 0.5:
                leaders.append(
                    CommissionLeader(
                        commission=c,
                        leader=chosen[1],
                        role="supporting",
                        days=max(Decimal("0.5"), c.days_allocated - lead_days),
                        release_agreed=True,
                    )
                )
            year = c.start.year if c.start.month >= 9 else c.start.year - 1
            stream = self.streams.get(year, self.streams[min(self.streams)])
            allocations.append(
                FundingAllocation(
                    commission=c, stream=stream, amount=Decimal(rng.choice([3000, 4500, 6000]))
                )
            )
            earlier = self.streams.get(year - 1)
            if earlier and rng.random() < 0.25:
                allocations.append(
                    FundingAllocation(
                        commission=c, stream=earlier, amount=Decimal(1500), carry_forward=True
                    )
                )
            middle = c.start + (c.end - c.start) / 2
            deadlines.append(ReportingDeadline(commission=c, kind="interim", due=middle))
            deadlines.append(
                ReportingDeadline(
                    commission=c, kind="final", due=c.end + datetime.timedelta(days=28)
                )
            )
        self.deployments = self.bulk(CommissionLeader, leaders, "deployments")
        self.allocations = self.bulk(FundingAllocation, allocations, "funding allocations")
        self.deadlines = self.bulk(ReportingDeadline, deadlines, "reporting deadlines")

    def plans(self):
        rng = self.rng
        plans = self.bulk(
            ActionPlan,
            [ActionPlan(commission=c) for c in self.commissions_list],
            "action plans",
        )
        objectives = []
        for plan in plans:
            for position in range(rng.randint(3, 5)):
                objectives.append(
                    Objective(
                        plan=plan,
                        title=f"Objective {position + 1}: {rng.choice(NeedArea.labels)}",
                        success_criteria="Measured by the school's own assessment.",
                        rag=rng.choice(["", *RAG.values, RAG.AMBER, RAG.GREEN]),
                        position=position,
                    )
                )
        self.objectives = self.bulk(Objective, objectives, "objectives")
        self.objectives_by_commission: dict[int, list[Objective]] = {}
        by_plan = {p.pk: p.commission_id for p in plans}
        for objective in self.objectives:
            self.objectives_by_commission.setdefault(by_plan[objective.plan_id], []).append(
                objective
            )

    def visits(self):
        rng = self.rng
        commissions = {c.pk: c for c in self.commissions_list}
        started = [d for d in self.deployments if commissions[d.commission_id].start <= self.today]
        users = dict(SystemLeaderProfile.objects.values_list("pk", "user_id"))
        visits = []
        for i in range(self.opts["visits"]):
            deployment = started[i % len(started)]
            c = commissions[deployment.commission_id]
            last = min(c.end, self.today)
            day = c.start + datetime.timedelta(days=rng.randint(0, max(0, (last - c.start).days)))
            visits.append(
                Visit(
                    deployment_id=deployment.pk,
                    date=day,
                    mode=rng.choice(Visit.Mode.values),
                    duration_hours=Decimal(rng.choice(["1", "1.5", "2", "2.5", "3", "3.5"])),
                    summary="Met the headteacher and the subject lead; reviewed the plan.",
                    next_steps="Observe lessons next visit.",
                    people_met="Headteacher, subject lead",
                    safeguarding_concern=rng.random() < 0.005,
                    idempotency_key=uuid.UUID(int=rng.getrandbits(128)),
                    payload_digest="0" * 64,
                    recorded_by_id=users[deployment.leader_id],
                    response=rng.choice(["", "", "agreed"]),
                )
            )
        visits = self.bulk(Visit, visits, "visits")
        progress = []
        for i, visit in enumerate(visits):
            deployment = started[i % len(started)]
            objectives = self.objectives_by_commission.get(deployment.commission_id, [])
            if objectives:
                progress.append(
                    VisitObjective(
                        visit=visit,
                        objective=rng.choice(objectives),
                        rag=rng.choice(RAG.values),
                    )
                )
        self.bulk(VisitObjective, progress, "visit objective notes")

    def money_and_reports(self):
        rng = self.rng
        commissions = {c.pk: c for c in self.commissions_list}
        spend = []
        for allocation in self.allocations:
            c = commissions[allocation.commission_id]
            if c.start > self.today:
                continue
            spend.append(
                SpendLine(
                    allocation=allocation,
                    date=min(self.today, c.start + datetime.timedelta(days=30)),
                    amount=(allocation.amount * Decimal(rng.choice(["0.2", "0.5", "0.8"]))),
                    description="Supply cover and leader days",
                    recorded_by=self.coordinator,
                )
            )
        self.bulk(SpendLine, spend, "spend lines")
        # Most reports due more than a month ago were written and approved; a few are late.
        # Their figures are not frozen here (that would cost a computation per report): the
        # report page computes them when a snapshot is missing.
        reports, approved = [], 0
        long_ago = self.today - datetime.timedelta(days=30)
        for d in self.deadlines:
            if d.due > self.today + datetime.timedelta(days=14) or rng.random() < 0.15:
                continue
            if d.due < long_ago and rng.random() < 0.9:
                approved += 1
                reports.append(
                    ImpactReport(
                        deadline=d,
                        status=ImpactReport.Status.APPROVED,
                        summary="Synthetic report made by seed_scale.",
                        submissions=1,
                        submitted_at=self.now,
                        reviewer=self.coordinator,
                        reviewed_at=self.now,
                        impact="some",
                        value_for_money="good",
                    )
                )
            else:
                reports.append(ImpactReport(deadline=d))
        self.bulk(ImpactReport, reports)
        self.counts["approved reports"] = approved
        self.counts["draft reports"] = len(reports) - approved
