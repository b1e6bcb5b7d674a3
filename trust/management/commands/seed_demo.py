from django.core.management.base import BaseCommand

from trust.demo import DEMO_PASSWORD, seed_demo


class Command(BaseCommand):
    help = "Create or refresh the demo hub, its organisations and the demo accounts. Idempotent."

    def handle(self, *args, **options):
        summary = seed_demo()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {summary.hub.name}, {summary.schools} schools, "
                f"{summary.leaders} system leaders."
            )
        )
        self.stdout.write(f"Demo sign-ins (password {DEMO_PASSWORD}):")
        for email, role in summary.accounts:
            self.stdout.write(f"  {email:<24} {role}")
