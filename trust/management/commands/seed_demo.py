from importlib import import_module
from importlib.util import find_spec

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction


class Command(BaseCommand):
    help = (
        "Create or refresh the demo data and the demo accounts. Idempotent: running it again "
        "changes nothing that is already there. Each app contributes through its demo.seed(), "
        "in the order of INSTALLED_APPS."
    )

    @transaction.atomic
    def handle(self, *args, **options):
        for config in apps.get_app_configs():
            module = f"{config.name}.demo"
            if find_spec(module) is None:
                continue
            for line in import_module(module).seed():
                self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
