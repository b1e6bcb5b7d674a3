import smtplib
from dataclasses import asdict

from celery import shared_task

from .reminders import reminder_send, reminders_run
from .retention import notes_purge
from .services import pdf_job_run, pdf_jobs_sweep


@shared_task(
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=4,
    soft_time_limit=120,
    time_limit=150,
)
def render_report_pdf(job_id: int) -> None:
    pdf_job_run(job_id=job_id)


@shared_task(acks_late=True)
def sweep_pdf_jobs() -> int:
    return pdf_jobs_sweep()


@shared_task(
    acks_late=True,
    autoretry_for=(OSError, smtplib.SMTPException),
    retry_backoff=30,
    retry_backoff_max=1800,
    max_retries=4,
)
def send_reminder(reminder_id: int) -> bool:
    return reminder_send(reminder_id=reminder_id)


@shared_task(acks_late=True)
def send_due_reminders() -> dict:
    return asdict(reminders_run())


@shared_task(acks_late=True)
def purge_expired_notes() -> dict:
    return notes_purge()
