import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from reporting.reminders import reminders_run


class Command(BaseCommand):
    help = (
        "Send the reminders due today (or on --today YYYY-MM-DD): the same service as the "
        "daily beat task. Safe to run again: nothing is sent twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("--today", help="The day to run for, e.g. 2027-01-25.")

    def handle(self, *args, **options):
        today = timezone.localdate()
        if options["today"]:
            try:
                today = datetime.date.fromisoformat(options["today"])
            except ValueError as error:
                raise CommandError("Give --today as YYYY-MM-DD, e.g. 2027-01-25.") from error
        result = reminders_run(today)
        self.stdout.write(
            f"{today:%-d %b %Y}: {result.relevant} reminders relevant, {result.claimed} new, "
            f"{result.queued} queued to send."
        )
