"""How long the establishment import takes on a national-sized file.

    DJANGO_ENV=development .venv/bin/python bench/import_schools.py [--rows 50000]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_import ... (PostgreSQL; the
    database must exist and is migrated by the script)

Builds a synthetic file shaped like the Get Information about Schools export (Windows-1252,
every column the real one has that we read), imports it into a fresh hub, then imports it
again (nothing changes), then again with 5% of rows edited. Prints seconds and queries.
"""

import argparse
import csv
import io
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_ENV", "development")

HEADER = [
    "URN", "LA (code)", "LA (name)", "EstablishmentNumber", "EstablishmentName",
    "TypeOfEstablishment (name)", "EstablishmentStatus (name)", "PhaseOfEducation (name)",
    "Trusts (name)", "Street", "Town", "Postcode", "Easting", "Northing",
]  # fmt: skip
LAS = ["Leeds", "Bradford", "Calderdale", "Kirklees", "Wakefield", "Sheffield", "York"]
PHASES = ["Primary"] * 6 + ["Secondary"] * 2 + ["Not applicable", "Nursery", "All-through"]


def build(rows: int, rng: random.Random, edited: float = 0.0) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for n in range(rows):
        rng_row = random.Random(n)
        name = f"St Mary’s School {n}" if n % 17 == 0 else f"School {n}"
        if edited and rng.random() < edited:
            name += " (renamed)"
        writer.writerow([
            f"{100000 + n}", "383", rng_row.choice(LAS), f"{n % 9999}", name,
            "Academy converter" if n % 3 else "Community school",
            "Closed" if n % 25 == 0 else "Open", rng_row.choice(PHASES),
            f"Trust {n % 800}" if n % 3 else "", "1 High Street", "Town",
            f"LS{n % 30} {n % 9}AB", 400000 + n % 60000, 400000 + n % 90000,
        ])  # fmt: skip
    return out.getvalue().encode("cp1252")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50_000)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    from trust.models import Organisation
    from trust.services import schools_import

    if connection.vendor == "sqlite":
        tmp = tempfile.mkdtemp()
        connection.settings_dict["NAME"] = f"{tmp}/bench.sqlite3"
    call_command("migrate", verbosity=0)
    Organisation.objects.filter(kind="school").delete()
    Organisation.objects.filter(kind="trust").delete()
    hub, _ = Organisation.objects.get_or_create(kind="hub", name="Bench Hub")

    rng = random.Random(1)
    first = build(args.rows, rng)
    edited = build(args.rows, random.Random(2), edited=0.05)
    print(f"{connection.vendor}: {args.rows:,} rows, {len(first) / 1e6:.1f} MB")
    for label, data in (("first import", first), ("same file again", first),
                        ("5% of rows edited", edited)):  # fmt: skip
        reset_queries()
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            result = schools_import(data=data, hub=hub)
            seconds = time.perf_counter() - started
        print(
            f"  {label:<18} {seconds:6.2f} s  {len(queries.captured_queries):5d} queries  "
            f"created {result.created:,} updated {result.updated:,} "
            f"unchanged {result.unchanged:,} errors {len(result.errors)}"
        )


if __name__ == "__main__":
    main()
