import datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from reporting.retention import notes_purge, retention_cutoff


class Command(BaseCommand):
    help = (
        "Remove the notes of commissions that ended more than "
        "CLOSED_COMMISSION_NOTES_RETENTION_DAYS ago: the same service as the daily beat "
        "task. --dry-run prints what would be removed, per kind, and changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true")
        parser.add_argument("--today", help="The day to run for, e.g. 2033-01-25.")

    def handle(self, *args, dry_run=False, today=None, **options):
        day = timezone.localdate()
        if today:
            try:
                day = datetime.date.fromisoformat(today)
            except ValueError as error:
                raise CommandError("Give --today as YYYY-MM-DD, e.g. 2033-01-25.") from error
        counts = notes_purge(today=day, dry_run=dry_run)
        days = settings.CLOSED_COMMISSION_NOTES_RETENTION_DAYS
        self.stdout.write(
            f"{'Dry run: would remove' if dry_run else 'Removed'} the notes of commissions "
            f"that ended before {retention_cutoff(day):%-d %b %Y} ({days} days before "
            f"{day:%-d %b %Y}):"
        )
        for label, count in counts.items():
            self.stdout.write(f"  {label}: {count}")
