"""Time the PDF of a large final impact report against a one-page document.

    DJANGO_ENV=test .venv/bin/python bench/report_pdf.py [--runs 5]

Builds a temporary SQLite database (always: it ignores `DATABASE_URL`), runs `migrate`, and
makes a final report through the real services: a commission that started 90 days ago, an
action plan of 10 objectives, 60 visits by the Lead System Leader (each touching 1-3
objectives with progress notes and a RAG), a written narrative, submitted by the trust lead
and approved by the hub's QA lead. It then times, over ``--runs`` runs after one untimed
warm-up, ``reporting.pdf.html_to_pdf(render_html(report))`` (what the
worker does), and a one-page WeasyPrint document through the same wrapper, and prints the
medians, the worst runs, the PDF sizes and page counts.
"""

import argparse
import datetime
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_ENV", "test")
os.environ["DEBUG"] = "0"
os.environ.pop("DATABASE_URL", None)
os.environ.pop("REDIS_URL", None)  # PDFs queued by the services render in-process

OBJECTIVES = 10
VISITS = 60
ONE_PAGE = """<!doctype html><html lang="en-GB"><head><meta charset="utf-8">
<title>One page</title><link rel="stylesheet" href="reporting/report.css"></head>
<body><h1>Interim report</h1><p class="school">Moorside Primary School</p>
<p>Year 6 reading fluency rose from 62% to 78% across the two terms.</p></body></html>"""


def build_report():
    """A final report with OBJECTIVES objectives and VISITS visits, approved."""
    from decimal import Decimal

    from brokerage.models import ReportingDeadline
    from brokerage.services import LeaderDays, offer_accept
    from brokerage.tests.factories import offer_via_services, request_via_services
    from deployments.tests.factories import (
        add_objective,
        days_ago,
        lead_deployment,
        record_visit,
    )
    from reporting import services
    from reporting.tests.factories import NARRATIVE, drafted_report
    from trust.models import Role
    from trust.tests.factories import (
        HubFactory,
        SchoolFactory,
        TrustFactory,
        member,
        system_leader,
    )

    hub = HubFactory(name="Three Rivers Hub")
    trust = TrustFactory(hub=hub, name="Aire Valley Learning Trust")
    home = SchoolFactory(hub=hub, parent_trust=trust, name="Beck Primary", phase="primary")
    school = SchoolFactory(hub=hub, name="Moorside Primary School", phase="primary")
    coordinator = member(Role.HUB_COORDINATOR, hub, full_name="Helen Marsh")
    trust_lead = member(Role.TRUST_LEAD, trust, full_name="Sarah Whitaker")
    qa_lead = member(Role.QA_LEAD, hub, full_name="Tom Okafor")
    leader = system_leader(home, capacity_days_per_term=Decimal("30"))
    request = request_via_services(actor=coordinator, school=school, status="brokering")
    offer = offer_via_services(
        coordinator=coordinator,
        request=request,
        trust=trust,
        leader=leader,
        days="20",
        start=days_ago(90),
        end=days_ago(-90),
    )
    commission = offer_accept(
        offer=offer,
        actor=trust_lead,
        lead=LeaderDays(leader, Decimal("20"), True),
        supporting=[],
        today=datetime.date.today(),
    )
    objectives = [
        add_objective(
            commission,
            leader.user,
            title=f"Objective {n + 1}: raise attainment in strand {n + 1}",
            success_criteria="Pupils' books and the next data drop show the gain. " * 3,
        )
        for n in range(OBJECTIVES)
    ]
    deployment = lead_deployment(commission)
    rags = ["red", "amber", "green"]
    for i in range(VISITS):
        touched = [objectives[(i + k) % OBJECTIVES] for k in range(1 + i % 3)]
        record_visit(
            deployment,
            date=days_ago(88 - (i * 88) // VISITS),
            duration_hours=Decimal("2"),
            objective_ids=tuple(o.pk for o in touched),
            progress=tuple(
                (o.pk, f"Visit {i + 1}: looked at books and met the lead.", rags[(i + k) % 3])
                for k, o in enumerate(touched)
            ),
            summary=f"Visit {i + 1}. Observed lessons, scrutinised books, met the subject "
            "lead and agreed the next steps with the head. " * 2,
        )
    report = drafted_report(commission, leader.user, kind=ReportingDeadline.Kind.FINAL)
    report = services.report_submit(report=report, actor=trust_lead)
    report = services.report_approve(
        report=report, actor=qa_lead, impact="strong", value_for_money="good", comments="Clear."
    )
    assert NARRATIVE["summary"] in str(report.snapshot)
    return report


def timed(fn, runs):
    fn()  # warm-up: fonts, stylesheets and templates loaded once per process
    timings, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        timings.append((time.perf_counter() - started) * 1000)
    return timings, result


def pages_of(pdf: bytes) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(pdf)).pages)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from reporting.pdf import html_to_pdf
    from reporting.services import render_html

    workdir = tempfile.mkdtemp(prefix="bench-report-pdf-")
    settings.MEDIA_ROOT = Path(workdir) / "media"
    connection.settings_dict["NAME"] = f"{workdir}/bench.sqlite3"
    call_command("migrate", verbosity=0)

    started = time.perf_counter()
    report = build_report()
    built = time.perf_counter() - started
    snapshot = report.snapshot
    print(
        f"Built a final report in {built:.1f} s: {len(snapshot['objectives'])} objectives, "
        f"{len(snapshot['visits'])} visits"
    )

    html_ms, html = timed(lambda: render_html(report), args.runs)
    report_ms, report_pdf = timed(lambda: html_to_pdf(render_html(report)), args.runs)
    page_ms, page_pdf = timed(lambda: html_to_pdf(ONE_PAGE), args.runs)

    print(f"{args.runs} runs each after one warm-up; times in ms")
    print(f"{'what':<44}{'median':>9}{'max':>9}{'KB':>8}{'pages':>7}")
    rows = [
        ("render_html only (final report)", html_ms, len(html.encode()), None),
        ("html_to_pdf(render_html(...)) final report", report_ms, len(report_pdf), report_pdf),
        ("html_to_pdf one-page document", page_ms, len(page_pdf), page_pdf),
    ]
    for label, timings, size, pdf in rows:
        pages = pages_of(pdf) if pdf else ""
        print(
            f"{label:<44}{statistics.median(timings):>9.0f}{max(timings):>9.0f}"
            f"{size / 1024:>8.1f}{pages:>7}"
        )


if __name__ == "__main__":
    main()
