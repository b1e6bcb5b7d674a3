from django.core.management.base import BaseCommand, CommandError

from reporting.personal_data import anonymise_user
from trust.models import User


class Command(BaseCommand):
    help = (
        "Erase a person: their name and email are replaced, they can no longer sign in, "
        "and their memberships, notifications, reminders, preferences, calendar feed and "
        "sessions go; their visits, requests and reports stay, shown as by 'Former user'. "
        "--dry-run says what would change and changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, email, dry_run=False, **options):
        user = User.objects.filter(email__iexact=email.strip()).first()
        if user is None:
            raise CommandError(f"Nobody has the email address {email!r}.")
        result = anonymise_user(user=user, by=None, dry_run=dry_run)
        if result.already_anonymised:
            self.stdout.write(f"User {user.pk} was already anonymised; nothing changed.")
            return
        verb = "Would remove" if dry_run else "Removed"
        self.stdout.write(
            f"{'Dry run: ' if dry_run else ''}user {result.user_id} "
            f"{'would be' if dry_run else 'is now'} 'Former user' "
            f"(deleted-{result.user_id}@invalid).\n"
            f"{verb}: {result.memberships} memberships, {result.notifications} "
            f"notifications, {result.reminders} reminders, {result.email_preferences} email "
            f"preferences, {result.calendar_feeds} calendar feeds, {result.sessions} "
            f"sessions.\n"
            f"Name replaced in {result.reports_rewritten} reports; {result.pdfs_remade} PDFs "
            f"{'would be' if dry_run else 'are being'} made again.\n"
            f"Kept: {result.kept['visits']} visits, {result.kept['support_requests']} "
            f"support requests, {result.kept['reports']} reports submitted or reviewed."
        )
