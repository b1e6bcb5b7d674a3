from django.core.management.base import BaseCommand, CommandError

from reporting.personal_data import personal_data_json
from trust.models import User


class Command(BaseCommand):
    help = (
        "Print (or write to --output) everything the service holds about the person with "
        "this email address, as JSON: the same file they download from Your data."
    )

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--output", help="Write to this file instead of the screen.")

    def handle(self, *args, email, output=None, **options):
        user = User.objects.filter(email__iexact=email.strip()).first()
        if user is None:
            raise CommandError(f"Nobody has the email address {email!r}.")
        data = personal_data_json(user)
        if output:
            with open(output, "w", encoding="utf-8") as file:
                file.write(data)
            self.stderr.write(f"Wrote {output}.")
        else:
            self.stdout.write(data)
