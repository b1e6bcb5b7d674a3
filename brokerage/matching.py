"""Scoring system leaders against a support request.

Pure functions over small fact records, so each rule can be tested on hand-built cases; the
selector in ``brokerage.selectors`` gathers the facts from the database in a fixed number of
queries. Every point of a score comes with a sentence saying why.
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass, field
from decimal import Decimal

SPECIALISM_POINTS = 40
PHASE_POINTS = 20
CAPACITY_POINTS = 15
DISTANCE_POINTS = 15
PRIOR_POINTS = 10
NO_CAPACITY = "No capacity left this term."
# Beyond this straight-line distance a leader earns no distance points.
FAR_KM = 50


# ------------------------------------------------------------------------- terms


@dataclass(frozen=True, order=True)
class Term:
    start: datetime.date
    end: datetime.date
    name: str = field(compare=False)

    def __str__(self):
        return self.name


def term_of(day: datetime.date) -> Term:
    """The school term a day is in: autumn (September to December), spring (January to
    March) or summer (April to August). Real term dates vary by a week or two each year and
    area; capacity is planned at this grain."""
    if day.month >= 9:
        return Term(
            datetime.date(day.year, 9, 1), datetime.date(day.year, 12, 31), f"Autumn {day.year}"
        )
    if day.month <= 3:
        return Term(
            datetime.date(day.year, 1, 1), datetime.date(day.year, 3, 31), f"Spring {day.year}"
        )
    return Term(
        datetime.date(day.year, 4, 1), datetime.date(day.year, 8, 31), f"Summer {day.year}"
    )


def terms_between(start: datetime.date, end: datetime.date) -> list[Term]:
    terms = [term_of(start)]
    while terms[-1].end < end:
        terms.append(term_of(terms[-1].end + datetime.timedelta(days=1)))
    return terms


def days_per_term(days: Decimal, start: datetime.date, end: datetime.date) -> Decimal:
    """A commission's days spread evenly over the terms it spans."""
    return (Decimal(days) / len(terms_between(start, end))).quantize(Decimal("0.01"))


# ----------------------------------------------------------------------- scoring


@dataclass(frozen=True)
class NeedFacts:
    specialisms: frozenset[str]
    days_sought: Decimal


@dataclass(frozen=True)
class SchoolFacts:
    pk: int
    phase: str
    easting: int | None
    northing: int | None
    trust_id: int | None


@dataclass(frozen=True)
class LeaderFacts:
    pk: int
    name: str
    specialisms: frozenset[str]
    phases: frozenset[str]
    remaining_days: Decimal
    home_ids: frozenset[int]
    home_trust_ids: frozenset[int]
    easting: int | None
    northing: int | None
    accreditation_expires: datetime.date | None
    active: bool
    worked_with_school: bool


@dataclass(frozen=True)
class Part:
    name: str
    points: float
    out_of: int
    why: str


@dataclass(frozen=True)
class Match:
    leader: LeaderFacts
    score: float
    parts: tuple[Part, ...]
    conflicts: tuple[str, ...]
    distance_km: float | None

    @property
    def excluded(self) -> bool:
        return bool(self.conflicts)


def _days(days: Decimal) -> str:
    number = f"{Decimal(days).normalize():f}"
    return f"{number} day" if number == "1" else f"{number} days"


def distance_km(a: tuple[int | None, int | None], b: tuple[int | None, int | None]):
    """Straight-line distance between two British National Grid points, in km."""
    if None in a or None in b:
        return None
    return math.hypot(a[0] - b[0], a[1] - b[1]) / 1000


def _phase_fit(school_phase: str, leader_phases: frozenset[str]) -> tuple[float, str]:
    if not school_phase or school_phase == "not_applicable":
        return 0, "The school's phase is not recorded."
    if school_phase in leader_phases:
        return PHASE_POINTS, f"Works in the school's phase ({school_phase.replace('_', '-')})."
    if school_phase == "all_through" and leader_phases & {"primary", "secondary"}:
        return PHASE_POINTS / 2, "Knows one of the phases of this all-through school."
    if "all_through" in leader_phases and school_phase in {"primary", "secondary"}:
        return PHASE_POINTS, "Works across all phases."
    return 0, "Works in other phases."


def score(need: NeedFacts, school: SchoolFacts, leader: LeaderFacts, today: datetime.date):
    """How well one leader fits one request, out of 100, with reasons and hard conflicts."""
    parts = []

    wanted = need.specialisms
    covered = wanted & leader.specialisms
    fit = len(covered) / len(wanted) if wanted else 0
    parts.append(
        Part(
            "Specialism",
            round(SPECIALISM_POINTS * fit, 1),
            SPECIALISM_POINTS,
            f"Covers {len(covered)} of {len(wanted)} needed specialisms."
            if wanted
            else "The request names no specialism to match.",
        )
    )

    points, why = _phase_fit(school.phase, leader.phases)
    parts.append(Part("Phase", points, PHASE_POINTS, why))

    if leader.remaining_days <= 0 or need.days_sought <= 0:
        capacity = 0.0
    else:
        capacity = min(1.0, float(leader.remaining_days / need.days_sought))
    parts.append(
        Part(
            "Capacity",
            round(CAPACITY_POINTS * capacity, 1),
            CAPACITY_POINTS,
            f"{_days(max(leader.remaining_days, Decimal(0)))} free this term for "
            f"{need.days_sought.normalize():f} sought.",
        )
    )

    km = distance_km((school.easting, school.northing), (leader.easting, leader.northing))
    if km is None:
        parts.append(Part("Distance", 0, DISTANCE_POINTS, "Distance unknown."))
    else:
        near = max(0.0, 1 - km / FAR_KM)
        parts.append(
            Part(
                "Distance", round(DISTANCE_POINTS * near, 1), DISTANCE_POINTS, f"{km:.1f} km away."
            )
        )

    parts.append(
        Part(
            "Prior work",
            PRIOR_POINTS if leader.worked_with_school else 0,
            PRIOR_POINTS,
            "Has supported this school before."
            if leader.worked_with_school
            else "Has not supported this school before.",
        )
    )

    conflicts = []
    if school.pk in leader.home_ids:
        conflicts.append("Works at this school.")
    if school.trust_id and school.trust_id in leader.home_trust_ids:
        conflicts.append("Based in the same trust as the school.")
    if leader.remaining_days <= 0:
        conflicts.append(NO_CAPACITY)
    if leader.accreditation_expires and leader.accreditation_expires < today:
        conflicts.append(f"Accreditation expired on {leader.accreditation_expires:%-d %b %Y}.")
    if not leader.active:
        conflicts.append("Not active.")

    total = round(sum(p.points for p in parts), 1)
    return Match(leader, total, tuple(parts), tuple(conflicts), km)


def rank(matches: list[Match]) -> tuple[list[Match], list[Match]]:
    """Eligible matches best first (ties by name), and the excluded ones apart."""
    eligible = sorted(
        (m for m in matches if not m.excluded), key=lambda m: (-m.score, m.leader.name)
    )
    excluded = sorted((m for m in matches if m.excluded), key=lambda m: m.leader.name)
    return eligible, excluded
