"""Settings as a fresh server process reads them from its environment."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[1]
READ = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({k: getattr(s, k, None) for k in %r}, default=str))"
)


# Each test says exactly which of these the server process gets.
SET_BY_THE_TEST = {
    "DJANGO_ENV",
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DEBUG",
    "TRUSTED_PROXY_COUNT",
    "TWO_FACTOR_REQUIRED",
    "SESSION_IDLE_SECONDS",
}


def settings_with(names, **environment):
    env = {k: v for k, v in os.environ.items() if k not in SET_BY_THE_TEST}
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings", **environment})
    done = subprocess.run(
        [sys.executable, "-c", READ % (names,)],
        env=env,
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=30,
    )
    return done


def test_production_is_the_default_and_refuses_to_start_without_a_secret_key():
    for secret in ({}, {"SECRET_KEY": ""}, {"SECRET_KEY": "short"}):
        done = settings_with(["DEBUG"], ALLOWED_HOSTS="example.org", **secret)
        assert done.returncode != 0, secret
        assert "SECRET_KEY" in done.stderr


def test_production_refuses_to_start_without_allowed_hosts():
    done = settings_with(["DEBUG"], SECRET_KEY="x" * 50, ALLOWED_HOSTS="")
    assert done.returncode != 0
    assert "ALLOWED_HOSTS" in done.stderr


def test_production_defaults_are_safe():
    done = settings_with(
        [
            "DEBUG",
            "SESSION_COOKIE_SECURE",
            "CSRF_COOKIE_SECURE",
            "SECURE_HSTS_SECONDS",
            "SECURE_SSL_REDIRECT",
            "CELERY_TASK_ALWAYS_EAGER",
            "EMAIL_BACKEND",
        ],
        SECRET_KEY="x" * 50,
        ALLOWED_HOSTS="example.org",
    )
    assert done.returncode == 0, done.stderr
    values = json.loads(done.stdout)
    assert values["DEBUG"] is False
    assert values["SESSION_COOKIE_SECURE"] and values["CSRF_COOKIE_SECURE"]
    assert values["SECURE_HSTS_SECONDS"] >= 31_536_000
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"


def test_database_and_broker_urls_switch_backends_with_short_broker_timeouts():
    done = settings_with(
        [
            "DATABASES",
            "CELERY_BROKER_URL",
            "CELERY_TASK_ALWAYS_EAGER",
            "CELERY_BROKER_TRANSPORT_OPTIONS",
            "CELERY_BROKER_CONNECTION_TIMEOUT",
        ],
        DJANGO_ENV="development",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/brokerage",
        REDIS_URL="redis://127.0.0.1:6379/3",
    )
    assert done.returncode == 0, done.stderr
    values = json.loads(done.stdout)
    assert values["DATABASES"]["default"]["ENGINE"] == "django.db.backends.postgresql"
    assert values["DATABASES"]["default"]["NAME"] == "brokerage"
    assert values["CELERY_BROKER_URL"] == "redis://127.0.0.1:6379/3"
    assert values["CELERY_TASK_ALWAYS_EAGER"] is False
    options = values["CELERY_BROKER_TRANSPORT_OPTIONS"]
    assert options["socket_timeout"] <= 5 and options["socket_connect_timeout"] <= 5
    assert values["CELERY_BROKER_CONNECTION_TIMEOUT"] <= 5


def test_without_redis_url_tasks_run_eagerly_on_sqlite():
    done = settings_with(
        ["DATABASES", "CELERY_TASK_ALWAYS_EAGER", "DEBUG"], DJANGO_ENV="development"
    )
    values = json.loads(done.stdout)
    assert values["DATABASES"]["default"]["ENGINE"] == "django.db.backends.sqlite3"
    assert values["CELERY_TASK_ALWAYS_EAGER"] is True
    assert values["DEBUG"] is True


def test_an_unknown_environment_name_is_refused():
    done = settings_with(["DEBUG"], DJANGO_ENV="staging")
    assert done.returncode != 0
    assert "DJANGO_ENV must be production, development or test" in done.stderr


def test_two_factor_is_required_for_hub_staff_in_production_only_by_default():
    names = ["TWO_FACTOR_REQUIRED", "SESSION_COOKIE_AGE"]
    production = settings_with(names, SECRET_KEY="x" * 50, ALLOWED_HOSTS="example.org")
    development = settings_with(names, DJANGO_ENV="development")
    switched_off = settings_with(
        names, SECRET_KEY="x" * 50, ALLOWED_HOSTS="example.org", TWO_FACTOR_REQUIRED="0"
    )
    assert json.loads(production.stdout) == {
        "TWO_FACTOR_REQUIRED": True,
        "SESSION_COOKIE_AGE": 2 * 60 * 60,
    }
    assert json.loads(development.stdout)["TWO_FACTOR_REQUIRED"] is False
    assert json.loads(switched_off.stdout)["TWO_FACTOR_REQUIRED"] is False


CLIENT_ADDRESS = (
    "import django; django.setup(); from django.test import RequestFactory; "
    "from axes.helpers import get_client_ip_address; "
    "print(get_client_ip_address(RequestFactory().post('/accounts/login/', "
    "REMOTE_ADDR='10.0.0.2', HTTP_X_FORWARDED_FOR='6.6.6.6, 203.0.113.5, 10.0.0.1')))"
)


@pytest.mark.parametrize(
    "proxies,client",
    [
        # No proxy trusted: the header is the client's own words, ignored.
        ("0", "10.0.0.2"),
        # One proxy (it connects as 10.0.0.2): the address it appended, 10.0.0.1.
        ("1", "10.0.0.1"),
        # Two: the outer proxy appended the client, the inner one appended the outer proxy.
        ("2", "203.0.113.5"),
    ],
)
def test_the_client_address_for_lockouts_trusts_only_our_own_proxies(proxies, client):
    env = {k: v for k, v in os.environ.items() if k not in SET_BY_THE_TEST}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings", DJANGO_ENV="test", TRUSTED_PROXY_COUNT=proxies
    )
    done = subprocess.run(
        [sys.executable, "-c", CLIENT_ADDRESS],
        env=env,
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == client


def test_a_negative_proxy_count_is_refused():
    done = settings_with(["DEBUG"], DJANGO_ENV="development", TRUSTED_PROXY_COUNT="-1")
    assert done.returncode != 0
    assert "TRUSTED_PROXY_COUNT" in done.stderr


STORAGE_READ = (
    "import django; django.setup(); from django.core.files.storage import storages; "
    "d = storages['default']; "
    "print(type(d).__name__, d.bucket_name, d.endpoint_url, d.location, d.default_acl)"
)


def test_report_files_go_to_an_s3_compatible_bucket_when_configured():
    env = {k: v for k, v in os.environ.items() if k not in SET_BY_THE_TEST}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_ENV="development",
        FILE_STORAGE="s3",
        AWS_STORAGE_BUCKET_NAME="brokerage-reports",
        AWS_S3_ENDPOINT_URL="https://s3.example.org",
    )
    done = subprocess.run(
        [sys.executable, "-c", STORAGE_READ],
        env=env,
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [
        "S3Storage",
        "brokerage-reports",
        "https://s3.example.org",
        "media",
        "private",
    ]


def test_an_unknown_file_storage_is_refused_at_start():
    done = settings_with(["FILE_STORAGE"], DJANGO_ENV="development", FILE_STORAGE="ftp")
    assert done.returncode != 0
    assert "FILE_STORAGE must be 'local' or 's3'" in done.stderr


def test_s3_storage_needs_a_bucket():
    done = settings_with(["FILE_STORAGE"], DJANGO_ENV="development", FILE_STORAGE="s3")
    assert done.returncode != 0
    assert "AWS_STORAGE_BUCKET_NAME" in done.stderr
