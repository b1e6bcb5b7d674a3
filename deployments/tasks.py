from celery import shared_task

from .services import safeguarding_alert_send


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def safeguarding_alert_task(visit_id: int) -> None:
    safeguarding_alert_send(visit_id=visit_id)
