"""GET /healthz against real failures: a missing database, a refused and a stuck broker.

Each broken configuration runs in a fresh Python process, because settings (and the Celery
app) are read once at start-up, exactly as in a real server.
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
PROBE = (
    "import django, json; django.setup(); from django.test import Client; "
    "r = Client().get('/healthz'); print(json.dumps([r.status_code, r.json()]))"
)


def healthz_with(**environment) -> tuple[int, dict]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_ENV": "test",
        "DATABASE_URL": "sqlite:///:memory:",
        "REDIS_URL": "",
        **environment,
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=env,
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=30,  # a hung health check fails the test here
        check=True,
    )
    status, body = json.loads(done.stdout.strip().splitlines()[-1])
    return status, body


def test_healthz_says_ok_with_eager_celery(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "eager"}
    assert response["Cache-Control"].startswith("max-age=0")


def test_healthz_answers_only_get(client, db):
    assert client.post("/healthz").status_code == 405


def test_healthz_is_503_when_the_database_is_down(tmp_path):
    missing = tmp_path / "no-such-dir" / "db.sqlite3"
    status, body = healthz_with(DATABASE_URL=f"sqlite:///{missing}")
    assert status == 503
    assert body == {"database": "error", "broker": "eager"}


def test_healthz_is_503_when_the_broker_refuses_connections():
    with socket.socket() as s:  # find a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    status, body = healthz_with(REDIS_URL=f"redis://127.0.0.1:{port}/0")
    assert status == 503
    assert body == {"database": "ok", "broker": "error"}


def test_a_stuck_broker_cannot_hang_the_health_check():
    """A server that accepts the connection and never answers: the socket timeout ends it."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        status, body = healthz_with(REDIS_URL=f"redis://127.0.0.1:{port}/0")
    assert status == 503
    assert body["broker"] == "error"


@pytest.mark.redis
def test_healthz_says_ok_with_a_real_redis_broker():
    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    status, body = healthz_with(REDIS_URL=url)
    assert (status, body) == (200, {"database": "ok", "broker": "ok"})
