from celery import shared_task

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
