"""Lighthouse mobile scores for the sign-in page, the system leader's home and the Record of
Visit form, on seed_demo data, with Debian's Chromium.

    .venv/bin/python bench/lighthouse.py [--runs 3] [--port 8765]

Installs lighthouse@12.2.3 into bench/.lighthouse/ with npm the first time (12.2.3: 13 wants
Node 22). Builds a temporary SQLite database, runs migrate and seed_demo, collects the static
files and serves the site as it is deployed (production settings, gunicorn, WhiteNoise's
compressed and cached static files, TLS settings off since this is plain HTTP on 127.0.0.1):
the development server sends uncompressed, uncached files and would score performance for a
set-up no user sees. Signs in as leader@demo.test through the real login form, hands the
session cookie to Lighthouse, and prints the median of --runs runs of each category score
per page (Lighthouse's mobile default: a Moto G-class phone on a throttled 4G connection).
Reports go to bench/out/lighthouse-*.json.
"""

import argparse
import http.client
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PREFIX = ROOT / "bench" / ".lighthouse"
LIGHTHOUSE = PREFIX / "node_modules" / ".bin" / "lighthouse"
OUT = ROOT / "bench" / "out"
CHROME = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
CATEGORIES = ["performance", "accessibility", "best-practices", "seo"]
LEADER = "leader@demo.test"


def run(command, **kwargs):
    """Our own commands only: paths and arguments built here, never from input."""
    return subprocess.run(command, **kwargs)


def fetch(url, headers=None):
    """GET from the server started here (http://127.0.0.1 only)."""
    request = urllib.request.Request(url, headers=headers or {})
    # Loopback http://127.0.0.1 URLs built here, never a file: or other scheme.
    return urllib.request.urlopen(request, timeout=30)  # nosec B310


def install_lighthouse():
    if LIGHTHOUSE.exists():
        return
    print("Installing lighthouse@12.2.3 into bench/.lighthouse/ ...", flush=True)
    run(
        [
            shutil.which("npm") or "npm",
            "install",
            "--prefix",
            str(PREFIX),
            "--no-save",
            "--no-audit",
            "--no-fund",
            "-E",
            "lighthouse@12.2.3",
        ],
        check=True,
    )


def serve(env, port):
    python = sys.executable
    manage = [python, str(ROOT / "manage.py")]
    run([*manage, "migrate", "--noinput", "-v0"], env=env, check=True, cwd=ROOT)
    run([*manage, "seed_demo"], env=env, check=True, cwd=ROOT, capture_output=True)
    run([*manage, "collectstatic", "--noinput", "-v0"], env=env, check=True, cwd=ROOT)
    gunicorn = Path(python).with_name("gunicorn")
    server = subprocess.Popen(
        [
            str(gunicorn),
            "config.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            "2",
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            fetch(f"{base}/healthz")
            return server, base
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("the server did not start")


def sign_in(base, email, password):
    """The session cookie, got through the login form as a browser would. The cookies are
    handled by hand: production marks them Secure, which a cookie jar keeps off plain HTTP."""
    host = urllib.parse.urlsplit(base).netloc
    connection = http.client.HTTPConnection(host, timeout=30)
    connection.request("GET", "/accounts/login/")
    response = connection.getresponse()
    page = response.read().decode()
    csrf = re.search(r"csrftoken=([^;]+)", response.getheader("Set-Cookie")).group(1)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    body = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token, "username": email, "password": password}
    )
    connection.request(
        "POST",
        "/accounts/login/",
        body=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={csrf}",
            "Referer": f"{base}/accounts/login/",
        },
    )
    response = connection.getresponse()
    response.read()
    cookies = " ".join(response.headers.get_all("Set-Cookie") or [])
    session = re.search(r"sessionid=([^;]+)", cookies)
    assert response.status == 302 and session, f"{email} could not sign in ({response.status})"
    csrf = (re.search(r"csrftoken=([^;]+)", cookies) or [None, csrf])[1]
    return f"sessionid={session.group(1)}; csrftoken={csrf}"


def lighthouse(url, name, cookie, number):
    OUT.mkdir(exist_ok=True)
    report = OUT / f"lighthouse-{name}-{number}.json"
    command = [
        str(LIGHTHOUSE),
        url,
        "--quiet",
        "--output=json",
        f"--output-path={report}",
        f"--only-categories={','.join(CATEGORIES)}",
        "--chrome-flags=--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage",
    ]
    if cookie:
        command.append("--extra-headers=" + json.dumps({"Cookie": cookie}))
    for _ in range(3):  # Chromium now and then loses the trace (NO_NAVSTART): retry
        done = run(command, env={**os.environ, "CHROME_PATH": CHROME})
        if done.returncode == 0:
            break
    else:
        raise SystemExit(f"lighthouse failed three times on {url}")
    result = json.loads(report.read_text())
    landed = result.get("finalDisplayedUrl") or result.get("finalUrl")
    assert landed == url, f"{url} ended at {landed}: was the session cookie refused?"
    scores = {c: round(result["categories"][c]["score"] * 100) for c in CATEGORIES}
    failing = [
        audit_id
        for audit_id, audit in result["audits"].items()
        if audit.get("score") is not None
        and audit["score"] < 0.9
        and audit.get("scoreDisplayMode") in ("binary", "numeric", "metricSavings")
    ]
    return scores, failing


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    install_lighthouse()

    workdir = Path(tempfile.mkdtemp(prefix="lighthouse-"))
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
        "DJANGO_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}",
        "STATIC_ROOT": str(workdir / "static"),
        "MEDIA_ROOT": str(workdir / "media"),
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_HSTS_SECONDS": "0",
        "SECURE_HSTS_PRELOAD": "0",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": "0",
    }
    # seed_demo's password, read from its source so this script needs no Django set-up.
    demo = (ROOT / "trust" / "demo.py").read_text()
    password = re.search(r'DEMO_PASSWORD = "([^"]+)"', demo).group(1)

    server, base = serve(env, args.port)
    try:
        cookie = sign_in(base, LEADER, password)
        # The form of the leader's first deployment, as the "Log a visit" button links it.
        home = fetch(f"{base}/leader/", {"Cookie": cookie}).read().decode()
        visit_form = re.search(r'href="(/deployments/\d+/visits/new/)"', home).group(1)
        pages = [
            ("login", f"{base}/accounts/login/", None),
            ("leader-home", f"{base}/leader/", cookie),
            ("visit-form", f"{base}{visit_form}", cookie),
        ]
        print(f"\nLighthouse 12.2.3, mobile, median of {args.runs} runs ({CHROME})")
        print(f"{'page':<14}" + "".join(f"{c:>16}" for c in CATEGORIES))
        for name, url, page_cookie in pages:
            runs = [lighthouse(url, name, page_cookie, n) for n in range(args.runs)]
            medians = {c: statistics.median(r[0][c] for r in runs) for c in CATEGORIES}
            print(f"{name:<14}" + "".join(f"{medians[c]:>16g}" for c in CATEGORIES))
            below = sorted({a for _, failing in runs for a in failing})
            if below:
                print(f"{'':<14}audits under 0.9 in some run: {', '.join(below)}")
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.stdout.reconfigure(line_buffering=True)
    main()
