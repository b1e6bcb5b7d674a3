"""gunicorn settings for production: ``gunicorn -c config/gunicorn.conf.py config.wsgi``.

Each value can be overridden from the environment, so the same file serves one small
machine or several larger ones behind a load balancer (all sharing one PostgreSQL, one Redis
and one file store: see README, "Production")."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# Sync workers: the pages are short database reads; PDFs and imports run in Celery workers.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
# Replace each worker now and then, staggered, so a slow leak can never build up.
max_requests = 2000
max_requests_jitter = 200
# Trust X-Forwarded-* only from the proxy in front (its address, comma-separated).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
