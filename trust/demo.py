"""Demo data: a hub in West Yorkshire with its trusts, clusters, schools and people.

Deterministic and idempotent: running it again updates the same rows rather than adding
new ones, so `make run` can call it every time. Later apps add their own demo data on top.
"""

from __future__ import annotations

import datetime
import random
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.utils import timezone

from .models import (
    DEFAULT_SPECIALISMS,
    Cluster,
    Membership,
    Organisation,
    Role,
    Specialism,
    SystemLeaderProfile,
    User,
)

DEMO_PASSWORD = "demo-pass-2026"  # nosec B105  # the published demo password (README)
HUB_NAME = "Three Rivers Teaching School Hub"
FUNDER_NAME = "Bradford Opportunity Area"
TRUST_NAMES = [
    "Aire Valley Learning Trust",
    "Pennine Crest Academies",
    "Three Rivers Education Trust",
]

# (cluster, local authority, postcode area, easting, northing of its centre)
CLUSTERS = [
    ("Bradford North", "Bradford", "BD10", 416_500, 438_000),
    ("Calder Valley", "Calderdale", "HX7", 399_000, 426_000),
    ("Leeds East", "Leeds", "LS14", 437_500, 435_500),
    ("Leeds South", "Leeds", "LS10", 431_000, 428_500),
]
PRIMARIES_PER_CLUSTER = 9
PLACES = [
    "Moorside",
    "Beckfield",
    "Hollins",
    "Greenhill",
    "Westfield",
    "Oakwood",
    "Low Bank",
    "Thornton",
    "Highgate",
    "Millbrook",
    "Ashgrove",
    "Brookside",
    "Riverside",
    "Heaton",
    "Eastburn",
    "Fairweather",
    "Sandal",
    "Cliffe",
    "Lidget",
    "Park Lane",
    "Stonegate",
    "Harewood",
    "Kirkstall",
    "Copley",
    "Norwood",
    "Bankfoot",
    "Longroyd",
    "Holme Wood",
    "Spring Bank",
    "Woodhouse",
    "Cross Flatts",
    "Beeston Hill",
    "Fieldhead",
    "Wharfe",
    "Bierley",
    "Lane End",
    "Shibden",
    "Calverley",
    "Gledhow",
    "Rodley",
]

DEMO_ACCOUNTS = [
    # email, full name, job title, role
    ("coordinator@demo.test", "Helen Marsh", "Hub coordinator", Role.HUB_COORDINATOR),
    ("qa@demo.test", "Tom Okafor", "Quality assurance lead", Role.QA_LEAD),
    ("trustlead@demo.test", "Sarah Whitaker", "Director of school improvement", Role.TRUST_LEAD),
    ("leader@demo.test", "Priya Patel", "Headteacher", Role.SYSTEM_LEADER),
    ("school@demo.test", "Gareth Hughes", "Headteacher", Role.SCHOOL_CONTACT),
    ("funder@demo.test", "Aisha Rahman", "Programme manager", Role.FUNDER_VIEWER),
]

# The other eleven system leaders: (email, name, designation, specialisms, phases,
# capacity, home (school index or trust name), note)
LEADERS = [
    (
        "david.clarke@demo.test",
        "David Clarke",
        "nle",
        ["leadership", "governance"],
        ["primary"],
        "20",
        1,
        "",
    ),
    (
        "fatima.shaw@demo.test",
        "Fatima Shaw",
        "nle",
        ["leadership", "send"],
        ["special", "primary"],
        "15",
        10,
        "",
    ),
    (
        "michael.brennan@demo.test",
        "Michael Brennan",
        "lle",
        ["leadership", "curriculum"],
        ["secondary"],
        "12",
        12,
        "",
    ),
    (
        "joanne.kaur@demo.test",
        "Joanne Kaur",
        "lle",
        ["early-years", "reading-phonics"],
        ["primary", "nursery"],
        "10",
        14,
        "",
    ),
    (
        "samuel.osei@demo.test",
        "Samuel Osei",
        "lle",
        ["behaviour-attendance", "safeguarding"],
        ["secondary", "all_through"],
        "8",
        23,
        "expired",
    ),
    ("rachel.dunn@demo.test", "Rachel Dunn", "sle", ["maths"], ["primary"], "6", 25, ""),
    (
        "imran.hussain@demo.test",
        "Imran Hussain",
        "sle",
        ["maths", "assessment"],
        ["secondary"],
        "6",
        34,
        "",
    ),
    (
        "claire.nolan@demo.test",
        "Claire Nolan",
        "sle",
        ["english", "reading-phonics"],
        ["primary"],
        "5",
        36,
        "dbs",
    ),
    ("owen.price@demo.test", "Owen Price", "sle", ["science"], ["secondary"], "4", 0, ""),
    (
        "laura.bennett@demo.test",
        "Laura Bennett",
        "lp",
        ["send", "disadvantaged"],
        ["primary", "special"],
        "4",
        "Pennine Crest Academies",
        "",
    ),
    (
        "kwame.asante@demo.test",
        "Kwame Asante",
        "lp",
        ["computing", "curriculum"],
        ["secondary"],
        "3",
        40,
        "inactive",
    ),
]


def seed() -> list[str]:
    """Create or refresh the demo hub; the lines say what is there and how to sign in."""
    today = timezone.localdate()
    rng = random.Random(2026)  # nosec B311  # repeatable made-up demo data
    password = make_password(DEMO_PASSWORD)

    hub, _ = Organisation.objects.update_or_create(
        kind=Organisation.Kind.HUB,
        name=HUB_NAME,
        defaults={"local_authority": "Bradford", "postcode": "BD1 1HY"},
    )
    funder, _ = Organisation.objects.update_or_create(
        kind=Organisation.Kind.FUNDER, name=FUNDER_NAME, defaults={"hub": hub}
    )
    trusts = []
    for name in TRUST_NAMES:
        trust, _ = Organisation.objects.update_or_create(
            kind=Organisation.Kind.TRUST, name=name, defaults={"hub": hub}
        )
        trusts.append(trust)

    schools = _schools(hub, trusts, rng)

    accounts = []
    homes = {
        Role.HUB_COORDINATOR: hub,
        Role.QA_LEAD: hub,
        Role.TRUST_LEAD: trusts[0],
        Role.SYSTEM_LEADER: schools[2],  # a primary in Aire Valley Learning Trust
        Role.SCHOOL_CONTACT: schools[18],  # a maintained primary, in no trust
        Role.FUNDER_VIEWER: funder,
    }
    for email, name, title, role in DEMO_ACCOUNTS:
        user = _user(email, name, title, password)
        Membership.objects.get_or_create(user=user, organisation=homes[role], role=role)
        accounts.append((email, Role(role).label))

    specialisms = {
        code: Specialism.objects.get_or_create(code=code, defaults={"name": name})[0]
        for code, name in DEFAULT_SPECIALISMS
    }
    leader = User.objects.get(email="leader@demo.test")
    _profile(
        leader,
        designation="nle",
        specialisms=[specialisms["leadership"], specialisms["maths"]],
        phases=["primary"],
        capacity="18",
        accreditation_expires=today + datetime.timedelta(days=700),
        dbs_checked_on=today - datetime.timedelta(days=200),
        summary="Headteacher of a good primary for nine years; led two schools out of "
        "requires improvement with a focus on maths and leadership capacity.",
    )
    for email, name, designation, codes, phases, capacity, home, note in LEADERS:
        user = _user(email, name, "Headteacher" if designation == "nle" else "Leader", password)
        organisation = (
            Organisation.objects.get(kind=Organisation.Kind.TRUST, name=home)
            if isinstance(home, str)
            else schools[home]
        )
        Membership.objects.get_or_create(
            user=user, organisation=organisation, role=Role.SYSTEM_LEADER
        )
        _profile(
            user,
            designation=designation,
            specialisms=[specialisms[c] for c in codes],
            phases=phases,
            capacity=capacity,
            accreditation_expires=today
            + datetime.timedelta(days=-30 if note == "expired" else rng.randint(200, 900)),
            dbs_checked_on=today
            - datetime.timedelta(days=1200 if note == "dbs" else rng.randint(30, 700)),
            active=note != "inactive",
            summary=f"{name}: {SystemLeaderProfile.Designation(designation).label}.",
        )

    lines = [
        f"{hub.name}: {len(schools)} demo schools in {len(CLUSTERS)} clusters, "
        f"{1 + len(LEADERS)} system leaders.",
        f"Demo sign-ins (password {DEMO_PASSWORD}):",
    ]
    lines += [f"  {email:<24} {role}" for email, role in accounts]
    return lines


def _schools(hub, trusts, rng) -> list[Organisation]:
    """Eleven schools per cluster: a secondary, a special school and nine primaries."""
    schools = []
    places = iter(PLACES)
    urn = 900_100
    for cluster_index, (cluster_name, la, area, east, north) in enumerate(CLUSTERS):
        cluster, _ = Cluster.objects.get_or_create(hub=hub, name=cluster_name)
        plan = [("Academy", "secondary", "Academy converter")]
        plan.append(("Special School", "special", "Academy special converter"))
        plan += [("Primary School", "primary", "Community school")] * PRIMARIES_PER_CLUSTER
        for index, (suffix, phase, kind) in enumerate(plan):
            place = next(places) if index != 1 else cluster_name
            urn += 1
            # Trusts own most schools, one trust per pair of clusters, some stay maintained.
            trust = trusts[(cluster_index + (index % 2)) % 3] if index % 4 != 3 else None
            name = f"{place} {suffix}"
            school, _ = Organisation.objects.update_or_create(
                urn=str(urn),
                defaults={
                    "kind": Organisation.Kind.SCHOOL,
                    "name": name,
                    "phase": phase,
                    "establishment_type": kind if trust else "Community school",
                    "local_authority": la,
                    "postcode": f"{area} {rng.randint(1, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"
                    f"{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}",
                    "easting": east + rng.randint(-3000, 3000),
                    "northing": north + rng.randint(-3000, 3000),
                    "hub": hub,
                    "parent_trust": trust,
                    "cluster": cluster,
                    "is_open": True,
                },
            )
            schools.append(school)
    return schools


def _user(email, name, title, password) -> User:
    user, created = User.objects.get_or_create(
        email=email, defaults={"full_name": name, "job_title": title, "password": password}
    )
    if not created and (user.full_name, user.job_title) != (name, title):
        user.full_name, user.job_title = name, title
        user.save(update_fields=["full_name", "job_title"])
    return user


def _profile(user, *, specialisms, capacity, active=True, **fields) -> SystemLeaderProfile:
    profile, _ = SystemLeaderProfile.objects.update_or_create(
        user=user,
        defaults={"capacity_days_per_term": Decimal(capacity), "active": active, **fields},
    )
    profile.specialisms.set(specialisms)
    return profile
