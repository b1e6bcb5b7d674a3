from celery import shared_task

from .services import school_import_run, school_imports_sweep


@shared_task(acks_late=True)
def school_import_run_task(import_id: int) -> None:
    school_import_run(import_id=import_id)


@shared_task(acks_late=True)
def sweep_school_imports() -> int:
    return school_imports_sweep()
