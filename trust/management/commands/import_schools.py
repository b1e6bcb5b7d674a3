from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from trust.models import Organisation
from trust.services import ImportFileError, schools_import


class Command(BaseCommand):
    help = (
        "Import or update schools from the national establishment CSV (Get Information about "
        "Schools), keyed on URN. Reads UTF-8 or Windows-1252. Bad rows are listed with their "
        "line numbers and skipped; the good rows are imported. Exits with status 1 only when "
        "the file as a whole cannot be read."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="Path to the CSV file.")
        parser.add_argument(
            "--hub",
            help="Name or id of the hub new schools join. Needed only when there are "
            "several hubs.",
        )

    def handle(self, *args, file: Path, hub: str | None, **options):
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}.") from exc
        hub_org = self._hub(hub)
        try:
            result = schools_import(data=data, hub=hub_org)
        except ImportFileError as exc:
            raise CommandError(f"{file}: {exc} Nothing was imported.") from exc

        for error in result.errors:
            self.stderr.write(str(error))
        summary = (
            f"{result.created} created, {result.updated} updated, {result.unchanged} unchanged "
            f"({result.closed} closed); trusts created: {result.trusts_created}; "
            f"rows skipped: {len(result.errors)}."
        )
        style = self.style.WARNING if result.errors else self.style.SUCCESS
        self.stdout.write(style(summary))
        if hub_org is None:
            self.stdout.write(
                self.style.WARNING("No hub exists yet: the schools belong to no hub.")
            )

    def _hub(self, hub: str | None) -> Organisation | None:
        hubs = Organisation.objects.filter(kind=Organisation.Kind.HUB)
        if hub:
            found = hubs.filter(pk=int(hub)) if hub.isdigit() else hubs.filter(name__iexact=hub)
            if len(found) != 1:
                problem = "No hub" if not found else "More than one hub"
                raise CommandError(f"{problem} called {hub!r}. Hubs: {self._names(hubs)}.")
            return found[0]
        count = hubs.count()
        if count > 1:
            raise CommandError(
                f"There are {count} hubs ({self._names(hubs)}); say which with --hub."
            )
        return hubs.first()

    @staticmethod
    def _names(hubs) -> str:
        return ", ".join(hubs.values_list("name", flat=True)) or "none"
