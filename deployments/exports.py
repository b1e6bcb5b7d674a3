"""The deployment and visit lists as CSV rows (written by ``trust.csv_export``).

Each function takes the filtered queryset the page shows; related rows are loaded in one
query each before the rows stream, so the number of queries does not depend on the rows.
What a safeguarding-flagged visit says is written only for those who may read it
(``visit_text_reader``); anyone else gets its date, length and mode.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from django.db.models import QuerySet

from trust.models import User

from .models import RAG, Deployment, Visit, VisitObjective
from .selectors import WITHHELD, visit_text_reader

DEPLOYMENT_HEADER = [
    "System leader",
    "Role",
    "School",
    "URN",
    "Local authority",
    "Cluster",
    "Lead organisation",
    "Start",
    "End",
    "Days allocated",
    "Days used",
    "Last visit",
    "Release agreed",
]


def deployment_rows(deployments: QuerySet[Deployment]) -> Iterator[list]:
    for d in deployments.prefetch_related(None).iterator():
        commission = d.commission
        school = commission.request.school
        yield [
            d.leader.user.full_name,
            d.get_role_display(),
            school.name,
            school.urn,
            school.local_authority,
            school.cluster.name if school.cluster else "",
            commission.lead_organisation.name,
            commission.start,
            commission.end,
            d.days,
            d.days_used(),
            d.last_visit,
            d.release_agreed,
        ]


VISIT_HEADER = [
    "Date",
    "School",
    "URN",
    "Local authority",
    "System leader",
    "Mode",
    "Hours",
    "Objectives (RAG)",
    "Summary",
    "Next steps",
    "People met",
    "Progress notes",
    "Safeguarding concern",
    "School's reply",
    "School's comment",
    "Recorded by",
    "Recorded at",
]


def visit_rows(visits: QuerySet[Visit], *, user: User) -> Iterator[list]:
    visits = visits.prefetch_related(None)
    may_read = visit_text_reader(user)
    rag_names = {value: value.capitalize() for value in RAG.values}
    progress = defaultdict(list)
    for visit_id, title, rag, note in (
        VisitObjective.objects.filter(visit__in=visits.values("pk"))
        .order_by("visit_id", "objective__position", "objective_id")
        .values_list("visit_id", "objective__title", "rag", "note")
    ):
        progress[visit_id].append((title, rag_names.get(rag, ""), note))
    for v in visits.select_related("deployment__commission__request__school").iterator():
        school = v.deployment.commission.request.school
        readable = may_read(v)
        covered = progress[v.pk]
        notes = "; ".join(f"{title}: {note}" for title, _, note in covered if note)
        yield [
            v.date,
            school.name,
            school.urn,
            school.local_authority,
            v.deployment.leader.user.full_name,
            v.get_mode_display(),
            v.duration_hours,
            "; ".join(f"{title} ({rag})" if rag else title for title, rag, _ in covered)
            if readable
            else "",
            v.summary if readable else WITHHELD,
            v.next_steps if readable else "",
            v.people_met if readable else "",
            notes if readable else "",
            v.safeguarding_concern,
            v.get_response_display(),
            v.response_comment if readable else "",
            v.recorded_by.full_name,
            v.recorded_at,
        ]
