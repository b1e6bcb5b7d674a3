"""Time and count the queries of the main pages, as each demo user, on seed_demo data.

    .venv/bin/python bench/pages.py [--runs 20]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_pages .venv/bin/python bench/pages.py

Builds a fresh database (a temporary SQLite file, or the PostgreSQL database named, which
must exist), runs migrate and seed_demo, then requests each page ``--runs`` times through
Django's test client (the whole stack: middleware, views, templates; no network) and prints
the median and worst time and the number of SQL queries.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_ENV", "development")
os.environ["DEBUG"] = "0"

PAGES = [
    ("coordinator@demo.test", "trust:hub_home", []),
    ("coordinator@demo.test", "brokerage:pipeline", []),
    ("coordinator@demo.test", "brokerage:request_detail", ["brokering"]),
    ("coordinator@demo.test", "brokerage:commission_list", []),
    ("coordinator@demo.test", "brokerage:commission_detail", ["commission"]),
    ("coordinator@demo.test", "brokerage:stream_list", []),
    ("coordinator@demo.test", "trust:organisation_list", []),
    ("coordinator@demo.test", "trust:leader_list", []),
    ("trustlead@demo.test", "trust:trust_home", []),
    ("trustlead@demo.test", "brokerage:offer_inbox", []),
    ("leader@demo.test", "trust:leader_home", []),
    ("school@demo.test", "trust:school_home", []),
    ("funder@demo.test", "trust:funder_home", []),
]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from brokerage.models import Commission, SupportRequest
    from trust.models import User

    settings.ALLOWED_HOSTS = ["*"]
    if connection.vendor == "sqlite":
        connection.settings_dict["NAME"] = f"{tempfile.mkdtemp()}/bench.sqlite3"
    call_command("migrate", verbosity=0)
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    ids = {
        "brokering": SupportRequest.objects.filter(status="brokering").first().pk,
        "commission": Commission.objects.first().pk,
    }
    print(f"{connection.vendor}, {args.runs} runs per page")
    print(f"{'user':<24}{'page':<30}{'median ms':>10}{'max ms':>9}{'queries':>9}")
    for email, name, arg_keys in PAGES:
        client = Client()
        client.force_login(User.objects.get(email=email))
        url = reverse(name, args=[ids[k] for k in arg_keys])
        timings = []
        for _ in range(args.runs):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.get(url)
                timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        print(
            f"{email:<24}{name:<30}{statistics.median(timings):>10.1f}{max(timings):>9.1f}"
            f"{len(queries.captured_queries):>9}"
        )


if __name__ == "__main__":
    main()
