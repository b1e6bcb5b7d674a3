"""Beat removes the notes of commissions past their retention period once a day, at
03:00 UTC when nobody is working. The schedule lives in django-celery-beat's tables and
can be changed in the admin; this only creates it."""

from django.db import migrations

NAME = "Remove notes past their retention period"


def create(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    nightly, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour="3", day_of_week="*", day_of_month="*", month_of_year="*",
        timezone="UTC",
    )  # fmt: skip
    PeriodicTask.objects.get_or_create(
        name=NAME, defaults={"task": "reporting.tasks.purge_expired_notes", "crontab": nightly}
    )


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("reporting", "0004_reminder_schedule"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, remove)]
