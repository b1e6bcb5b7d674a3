"""How heavy the Record of Visit form is on a phone's connection.

    .venv/bin/python bench/visit_page_weight.py [--budget-kb 60]

Builds a fresh temporary SQLite database, runs migrate and seed_demo, signs in as
leader@demo.test through Django's test client, requests the visit form of one of their
deployments, and prints the HTML's size raw and gzipped (level 6, what a typical server
sends). The budget (default 60 KB gzipped) is for the page itself; the static files it
references (CSS, JavaScript) are listed with their sizes too but kept out of the budget,
since a phone caches them after the first visit. Exits 1 when the page is over budget.
"""

import argparse
import gzip
import os
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["DJANGO_ENV"] = "development"
os.environ["DEBUG"] = "0"
os.environ.pop("DATABASE_URL", None)  # always the temporary SQLite file, never a real database

GZIP_LEVEL = 6
ASSET = re.compile(r"""<(?:script[^>]*\ssrc|link[^>]*\shref)=["']([^"']+)["']""", re.I)


def gzipped(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0))


def kb(size: int) -> str:
    return f"{size / 1024:.1f} KB"


def row(label: str, raw: int, packed: int) -> str:
    return f"{label:<52}{raw:>10,} B{kb(raw):>11}{packed:>10,} B{kb(packed):>11}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget-kb", type=float, default=60.0)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.staticfiles import finders
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from deployments.models import Deployment
    from trust.models import User

    settings.ALLOWED_HOSTS = ["*"]
    workdir = tempfile.TemporaryDirectory()
    connection.settings_dict["NAME"] = f"{workdir.name}/visit_page_weight.sqlite3"
    call_command("migrate", verbosity=0)
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115

    leader = User.objects.get(email="leader@demo.test")
    deployment = Deployment.objects.filter(leader__user=leader).order_by("pk").first()
    assert deployment is not None, "seed_demo gave leader@demo.test no deployment"
    client = Client()
    client.force_login(leader)
    url = reverse("deployments:visit_create", args=[deployment.pk])
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    html = response.content
    objectives = deployment.commission.action_plan.objectives.count()

    print(f"Record of Visit form: {url} ({objectives} objectives on the plan)")
    print(f"{'':<52}{'raw':>23}{'gzip -' + str(GZIP_LEVEL):>21}")
    page = gzipped(html)
    print(row("HTML page (the budget)", len(html), page))

    static_prefix = "/" + settings.STATIC_URL.lstrip("/")
    total_raw = total_packed = 0
    print("Static files it references (cached after the first visit; not in the budget):")
    for ref in dict.fromkeys(ASSET.findall(html.decode())):
        if not ref.startswith(static_prefix):
            print(f"  {ref}: not a local static file, not measured")
            continue
        path = finders.find(ref[len(static_prefix) :].split("?")[0])
        if not path:
            print(f"  {ref}: not found by the static finders")
            continue
        data = Path(path).read_bytes()
        total_raw += len(data)
        total_packed += gzipped(data)
        print(row(f"  {ref}", len(data), gzipped(data)))
    print(row("  static total (first visit only)", total_raw, total_packed))
    print(row("First visit, page and static", len(html) + total_raw, page + total_packed))

    connection.close()
    workdir.cleanup()
    budget = args.budget_kb * 1024
    verdict = "within" if page < budget else "OVER"
    print(f"Budget: under {args.budget_kb:g} KB gzipped for the page: {verdict} ({kb(page)})")
    return 0 if page < budget else 1


if __name__ == "__main__":
    sys.exit(main())
