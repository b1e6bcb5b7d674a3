"""Latency of the main pages under load, on the seed_scale data, served by gunicorn.

    make bench-load                                   # SQLite, the default size
    .venv/bin/python bench/load.py --db postgres --seconds 60

Builds a fresh database (a temporary SQLite file, or the PostgreSQL database ``bench_load``,
dropped and created again), runs ``migrate``, ``seed_demo`` and ``seed_scale`` (500 schools,
200 leaders, 1,000 commissions, 20,000 visits by default), collects the static files, and
starts gunicorn with production settings (DEBUG off, compressed static files; only the TLS
redirect is off, since this is plain HTTP on loopback) and several workers. A second process,
Locust, then runs ``--users`` simulated people who request, one after another with no pause,
the hub dashboard, the pipeline, the commission page with the most visits, the visit list and
a trivial view (``/healthz``: one ``SELECT 1``), as ``coordinator@demo.test``, for
``--seconds``. All pages are requested in the same run, so they see the same load.

It prints, per page, the requests made, failures, the median (p50) and 95th percentile (p95)
in milliseconds, and each page's p95 divided by the trivial view's p95. The goal is every
page within 3x of the trivial view.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
BIN = Path(PYTHON).parent
PORT = 8765

URLS_SNIPPET = """
import json
from django.db.models import Count
from django.test import Client
from django.urls import NoReverseMatch, reverse
from brokerage.models import Commission
from trust.models import User

user = User.objects.get(email="coordinator@demo.test")
client = Client()
client.force_login(user)
busiest = (
    Commission.objects.annotate(n=Count("leaders__visits")).order_by("-n", "pk").first()
)
try:
    visits = reverse("deployments:visit_list")
except NoReverseMatch:  # before the all-visits list existed
    visits = reverse("deployments:commission_visits", args=[busiest.pk])
print(json.dumps({
    "cookie": client.cookies["sessionid"].value,
    "pages": {
        "trivial view (/healthz)": reverse("healthz"),
        "hub dashboard": reverse("reporting:dashboard"),
        "pipeline": reverse("brokerage:pipeline"),
        "commission page": reverse("brokerage:commission_detail", args=[busiest.pk]),
        "visit list": visits,
    },
}))
"""


def run(cmd, env, **kw):
    return subprocess.run(cmd, env=env, cwd=ROOT, check=True, **kw)


def prepare_database(kind: str, workdir: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'bench.sqlite3'}"
    import psycopg2

    conn = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("DROP DATABASE IF EXISTS bench_load")
        cur.execute("CREATE DATABASE bench_load")
    conn.close()
    return "postgres://postgres@127.0.0.1:5432/bench_load"


def wait_for(url: str, seconds: float = 30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            # Loopback http://127.0.0.1 URLs built here, never a file: or other scheme.
            with urllib.request.urlopen(url, timeout=2) as response:  # nosec B310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"gunicorn did not answer {url} within {seconds} s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--schools", type=int, default=500)
    parser.add_argument("--visits", type=int, default=20000)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-load-"))
    env = {
        **os.environ,
        "DJANGO_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "TWO_FACTOR_REQUIRED": "0",
        "STATIC_ROOT": str(workdir / "static"),
        "MEDIA_ROOT": str(workdir / "media"),
        "DATABASE_URL": prepare_database(args.db, workdir),
    }
    env.pop("REDIS_URL", None)  # PDFs of the demo data are made in-process
    manage = [PYTHON, "manage.py"]
    started = time.perf_counter()
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    run([*manage, "migrate", "--noinput", "-v0"], env)
    run([*manage, "seed_demo"], env, **quiet)
    scale = run(
        [*manage, "seed_scale", f"--schools={args.schools}", f"--visits={args.visits}"],
        env,
        capture_output=True,
        text=True,
    )
    run([*manage, "collectstatic", "--noinput", "-v0"], env)
    print(f"{args.db}: data ready in {time.perf_counter() - started:.0f} s")
    print(scale.stdout.strip().splitlines()[-1])
    setup = run([*manage, "shell", "-c", URLS_SNIPPET], env, capture_output=True, text=True)
    plan = json.loads(setup.stdout.strip().splitlines()[-1])

    server = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "config.wsgi",
            f"--workers={args.workers}",
            f"--bind=127.0.0.1:{PORT}",
            "--log-level=warning",
        ],
        env=env,
        cwd=ROOT,
    )
    try:
        host = f"http://127.0.0.1:{PORT}"
        wait_for(f"{host}/healthz")
        for url in plan["pages"].values():  # warm each worker's caches a little
            request = urllib.request.Request(
                host + url, headers={"Cookie": f"sessionid={plan['cookie']}"}
            )
            with urllib.request.urlopen(request, timeout=30) as response:  # nosec B310
                assert response.status == 200, url
        stats = workdir / "locust"
        locust_env = {
            **env,
            "BENCH_PAGES": json.dumps(plan["pages"]),
            "BENCH_COOKIE": plan["cookie"],
        }
        run(
            [
                str(BIN / "locust"),
                "-f",
                str(ROOT / "bench" / "locustfile.py"),
                "--headless",
                f"--users={args.users}",
                f"--spawn-rate={args.users}",
                f"--run-time={args.seconds}s",
                f"--host={host}",
                f"--csv={stats}",
                "--only-summary",
                "--loglevel=WARNING",
            ],
            locust_env,
            **quiet,
        )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    with open(f"{stats}_stats.csv", newline="") as handle:
        rows = {row["Name"]: row for row in csv.DictReader(handle)}
    trivial = float(rows["trivial view (/healthz)"]["95%"])
    print(
        f"gunicorn {args.workers} workers, Locust {args.users} users for {args.seconds} s, "
        f"{args.db}"
    )
    print(f"{'page':<26}{'requests':>9}{'failed':>8}{'p50 ms':>8}{'p95 ms':>8}{'p95/trivial':>13}")
    for name in plan["pages"]:
        row = rows[name]
        p95 = float(row["95%"])
        print(
            f"{name:<26}{row['Request Count']:>9}{row['Failure Count']:>8}"
            f"{row['50%']:>8}{row['95%']:>8}{p95 / trivial:>12.1f}x"
        )


if __name__ == "__main__":
    main()
