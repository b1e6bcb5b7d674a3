"""The Celery app. Without REDIS_URL, settings make every task run eagerly in-process."""

import logging
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("brokerage")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


logger = logging.getLogger(__name__)


def enqueue(task, *args, what: str = "") -> bool:
    """Send a task; never fail the caller. A broker that is down or hung (3 s timeouts) is
    logged and the row the task works on stays pending for a beat sweep or the next run.
    In eager mode the task ran here, and its own failure is left the same way, as a
    worker's would be. Returns whether the task went (or ran) without error."""
    try:
        task.delay(*args)
    except Exception:
        logger.exception("Could not queue %s; it stays pending", what or f"{task.name}{args!r}")
        return False
    return True
