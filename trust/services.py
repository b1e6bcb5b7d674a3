"""Writes for organisations and people."""

from __future__ import annotations

import csv
import datetime
import io
import logging
import re
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from config.celery import enqueue

from .models import Organisation, SchoolImport, User

logger = logging.getLogger(__name__)

# The columns of the national establishment file (Get Information about Schools) we read.
# Others are ignored.
IMPORT_COLUMNS = {
    "urn": "URN",
    "name": "EstablishmentName",
    "local_authority": "LA (name)",
    "establishment_type": "TypeOfEstablishment (name)",
    "phase": "PhaseOfEducation (name)",
    "status": "EstablishmentStatus (name)",
    "postcode": "Postcode",
    "easting": "Easting",
    "northing": "Northing",
    "trust": "Trusts (name)",
}

PHASES = {
    "nursery": Organisation.Phase.NURSERY,
    "primary": Organisation.Phase.PRIMARY,
    "middle deemed primary": Organisation.Phase.MIDDLE,
    "middle deemed secondary": Organisation.Phase.MIDDLE,
    "secondary": Organisation.Phase.SECONDARY,
    "all-through": Organisation.Phase.ALL_THROUGH,
    "16 plus": Organisation.Phase.POST_16,
}

URN_RE = re.compile(r"^\d{6}$")
# Loose on purpose: the national file holds a few odd but real postcodes.
POSTCODE_RE = re.compile(r"^[A-Z0-9]{2,4} ?[A-Z0-9]{3}$")


class ImportFileError(Exception):
    """The file as a whole cannot be read; nothing was imported."""


@dataclass
class RowError:
    line: int
    urn: str
    message: str

    def __str__(self):
        urn = f" (URN {self.urn})" if self.urn else ""
        return f"Line {self.line}{urn}: {self.message}"


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    closed: int = 0
    trusts_created: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def imported(self) -> int:
        return self.created + self.updated + self.unchanged


def decode_csv(data: bytes) -> str:
    """Text of a CSV in UTF-8 (with or without BOM) or the national file's Windows-1252."""
    if not data.removeprefix(b"\xef\xbb\xbf").strip():
        raise ImportFileError("The file is empty.")
    if data.startswith(b"PK\x03\x04"):
        raise ImportFileError(
            "This looks like an Excel workbook, not a CSV file. "
            "Save it as CSV (comma separated) and try again."
        )
    # UTF-16 text is about half NUL bytes; one NUL in a row is that row's problem.
    head = data[:4096]
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or head.count(b"\x00") * 4 > len(head):
        raise ImportFileError(
            "This file is in UTF-16 or another encoding we cannot read. "
            "Save it as CSV in UTF-8 or Windows-1252 and try again."
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"The file is neither UTF-8 nor Windows-1252 (unreadable byte at position "
            f"{exc.start}). Save it as CSV in UTF-8 and try again."
        ) from exc


def _phase(phase_name: str, type_name: str) -> str:
    phase = PHASES.get(phase_name.strip().lower())
    if phase:
        return phase
    kind = type_name.lower()
    if "special" in kind:
        return Organisation.Phase.SPECIAL
    if "pupil referral" in kind or "alternative provision" in kind:
        return Organisation.Phase.ALTERNATIVE
    return Organisation.Phase.NOT_APPLICABLE if phase_name.strip() else ""


def _grid(value: str, label: str, maximum: int) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not (value.isascii() and value.isdigit()):
        raise ValueError(f"{label} must be a whole number of metres, not {value[:20]!r}.")
    if len(value) > 20:  # int() refuses thousands of digits with a message meant for coders
        raise ValueError(f"{label} {value[:20]}… is outside Great Britain (0 to {maximum:,}).")
    number = int(value)
    if number > maximum:
        raise ValueError(f"{label} {number} is outside Great Britain (0 to {maximum:,}).")
    return number


def _parse_row(raw: dict[str, str]) -> dict:
    """The school's fields from one CSV row, or ValueError with a message a user can act on."""
    value = {key: (raw.get(column) or "").strip() for key, column in IMPORT_COLUMNS.items()}
    if not value["urn"]:
        raise ValueError("URN is missing.")
    for key, text in value.items():
        if "\n" in text or "\r" in text:
            raise ValueError(
                f"{IMPORT_COLUMNS[key]} runs over several lines: is a closing quote missing?"
            )
    if not (value["urn"].isascii() and URN_RE.match(value["urn"])):
        raise ValueError(f"URN must be 6 digits, not {value['urn'][:20]!r}.")
    if not value["name"]:
        raise ValueError("EstablishmentName is missing.")
    for key, limit in (("name", 200), ("local_authority", 100), ("establishment_type", 100)):
        if len(value[key]) > limit:
            raise ValueError(f"{IMPORT_COLUMNS[key]} is longer than {limit} characters.")
    postcode = " ".join(value["postcode"].upper().split())
    if postcode and not POSTCODE_RE.match(postcode):
        raise ValueError(f"Postcode {postcode[:20]!r} is not a UK postcode.")
    if len(value["trust"]) > 200:
        raise ValueError("Trusts (name) is longer than 200 characters.")
    return {
        "urn": value["urn"],
        "name": value["name"],
        "local_authority": value["local_authority"],
        "establishment_type": value["establishment_type"],
        "phase": _phase(value["phase"], value["establishment_type"]),
        "postcode": postcode,
        "easting": _grid(value["easting"], "Easting", 700_000),
        "northing": _grid(value["northing"], "Northing", 1_300_000),
        "is_open": value["status"].lower() != "closed",
        "trust": value["trust"],
    }


@transaction.atomic
def schools_import(
    *, data: bytes, hub: Organisation | None, only_this_hub: bool = False
) -> ImportResult:
    """Create or update schools from an establishment CSV, keyed on URN.

    Bad rows are reported with their line number and skipped; good rows are imported.
    Running the same file twice changes nothing. New schools, and existing ones without a
    hub, join ``hub``; trusts named in the file are found by name or created. With
    ``only_this_hub`` (a coordinator's upload) a school in another hub's area is skipped
    with a message rather than changed; the site admin's command may update any school.
    """
    text = decode_csv(data)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except csv.Error as exc:
        raise ImportFileError(f"The first line is not valid CSV: {exc}.") from exc
    missing = [c for c in IMPORT_COLUMNS.values() if c not in header]
    if missing:
        raise ImportFileError(
            "The file is missing required column"
            + ("s " if len(missing) > 1 else " ")
            + ", ".join(f"“{c}”" for c in missing)
            + ". Export the establishment file with these columns and try again."
        )

    last_needed = max(header.index(c) for c in IMPORT_COLUMNS.values())
    result = ImportResult()
    rows: dict[str, tuple[int, dict]] = {}
    line = 1
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            result.errors.append(RowError(start, "", f"not valid CSV ({exc})."))
            if reader.line_num < start:  # nothing was read: the rest cannot be either
                break
            continue  # the reader starts afresh on the next line
        line = start
        if not any(c.strip() for c in cells):
            continue
        raw = dict(zip(header, cells, strict=False))
        try:
            # (A row cut short by a stray quote is explained by _parse_row instead.)
            if len(cells) <= last_needed and not any("\n" in c or "\r" in c for c in cells):
                raise ValueError(
                    f"the row stops after {len(cells)} of {len(header)} columns; "
                    "is the file cut short?"
                )
            if "\x00" in "".join(cells):
                raise ValueError("the row contains a null character.")
            parsed = _parse_row(raw)
        except ValueError as exc:
            result.errors.append(RowError(line, (raw.get("URN") or "").strip()[:20], str(exc)))
            continue
        if parsed["urn"] in rows:
            first_line = rows[parsed["urn"]][0]
            result.errors.append(
                RowError(
                    line,
                    parsed["urn"],
                    f"this URN already appears on line {first_line}; this row was skipped.",
                )
            )
            continue
        rows[parsed["urn"]] = (line, parsed)

    existing = {o.urn: o for o in Organisation.objects.filter(urn__in=list(rows))}
    if only_this_hub and hub is not None:
        for urn, school in list(existing.items()):
            if school.hub_id not in (None, hub.pk):
                line = rows.pop(urn)[0]
                del existing[urn]
                result.errors.append(
                    RowError(
                        line, urn, "this school is in another hub's area; it was not changed."
                    )
                )
        result.errors.sort(key=lambda e: e.line)
    # A school keeps the hub it has; only new or unassigned schools join this one.
    hub_of = {
        urn: (existing[urn].hub_id if urn in existing else None) or (hub.pk if hub else None)
        for urn in rows
    }
    trusts = _trusts_by_name(
        {(hub_of[urn], p["trust"]) for urn, (_, p) in rows.items() if p["trust"]}, result
    )
    now = timezone.now()
    to_create, to_update = [], []
    for urn, (_, parsed) in rows.items():
        trust = trusts.get((hub_of[urn], parsed.pop("trust").lower()))
        school = existing.get(urn)
        if school is None:
            school = Organisation(kind=Organisation.Kind.SCHOOL, urn=urn)
            to_create.append(school)
        parsed["parent_trust_id"] = trust.pk if trust else None
        parsed["hub_id"] = hub_of[urn]
        changes = {name: value for name, value in parsed.items() if getattr(school, name) != value}
        for name, value in changes.items():
            setattr(school, name, value)
        if not school.is_open:
            result.closed += 1
        if school.pk is None:
            continue
        if changes:
            to_update.append((school.pk, changes))
        else:
            result.unchanged += 1
    Organisation.objects.bulk_create(to_create, batch_size=500)
    # One small UPDATE per changed school: far quicker than bulk_update's CASE expressions
    # over every field, and a refresh of the national file changes few schools.
    for pk, changes in to_update:
        Organisation.objects.filter(pk=pk).update(**changes, updated_at=now)
    result.created = len(to_create)
    result.updated = len(to_update)
    return result


def _trusts_by_name(
    wanted: set[tuple[int | None, str]], result: ImportResult
) -> dict[tuple[int | None, str], Organisation]:
    """Trusts by (hub id, lower-cased name), creating those a hub does not know yet.

    A trust is looked up in the hub of the school that names it, so a school that stays in
    another hub is never linked to this hub's trust of the same name.
    """
    if not wanted:
        return {}
    hubs = {hub_id for hub_id, _ in wanted}
    known = Organisation.objects.trusts().filter(
        Q(hub_id__in=hubs - {None}) | Q(hub__isnull=True) if None in hubs else Q(hub_id__in=hubs)
    )
    # Compared in Python: SQLite's lower() leaves non-ASCII letters ("É") as they are.
    # Newest first, so where two trusts share a name the oldest wins.
    by_key = {(t.hub_id, t.name.lower()): t for t in known.order_by("-pk")}
    new_trusts = {}
    for hub_id, name in sorted(wanted, key=lambda pair: (pair[0] or 0, pair[1])):
        key = (hub_id, name.lower())
        if key not in by_key and key not in new_trusts:
            new_trusts[key] = Organisation(kind=Organisation.Kind.TRUST, name=name, hub_id=hub_id)
    Organisation.objects.bulk_create(new_trusts.values(), batch_size=500)
    result.trusts_created = len(new_trusts)
    return by_key | new_trusts


# ------------------------------------------------------------- imports by a worker


def school_import_start(
    *, hub: Organisation, user: User, file_name: str, data: bytes
) -> SchoolImport:
    """Keep the upload and ask a worker to import it once this transaction commits."""
    from .tasks import school_import_run_task

    school_import = SchoolImport.objects.create(
        hub=hub, uploaded_by=user, file_name=file_name[:255], data=data
    )
    transaction.on_commit(lambda: enqueue(school_import_run_task, school_import.pk))
    return school_import


# A worker that died mid-import leaves its row "running"; after this long another may take it.
STALE_IMPORT = datetime.timedelta(minutes=15)


# The sweeper leaves a fresh upload to the task its request queued.
SWEEP_IMPORTS_AFTER = datetime.timedelta(minutes=2)


def school_imports_sweep(now: datetime.datetime | None = None) -> int:
    """Queue again every import no worker has: uploaded while the broker was down, or left
    "running" by a worker that died. Returns how many were sent."""
    from .tasks import school_import_run_task

    now = now or timezone.now()
    waiting = SchoolImport.objects.filter(
        Q(status=SchoolImport.Status.PENDING, created_at__lt=now - SWEEP_IMPORTS_AFTER)
        | Q(status=SchoolImport.Status.RUNNING, started_at__lt=now - STALE_IMPORT)
    ).values_list("pk", flat=True)
    pks = list(waiting)
    for pk in pks:
        enqueue(school_import_run_task, pk)
    return len(pks)


def school_import_run(*, import_id: int) -> SchoolImport | None:
    """Run an uploaded import once, however often the task is delivered.

    The worker claims the row with a conditional update; a second delivery of the same task
    finds nothing to claim and does nothing. The import itself is one transaction and
    idempotent, so taking over from a worker that died part-way is safe.
    """
    now = timezone.now()
    claimable = Q(status=SchoolImport.Status.PENDING) | Q(
        status=SchoolImport.Status.RUNNING, started_at__lt=now - STALE_IMPORT
    )
    claimed = SchoolImport.objects.filter(claimable, pk=import_id).update(
        status=SchoolImport.Status.RUNNING, started_at=now
    )
    if not claimed:
        logger.info("School import %s: nothing to claim", import_id)
        return None
    school_import = SchoolImport.objects.select_related("hub").get(pk=import_id)
    try:
        result = schools_import(
            data=bytes(school_import.data), hub=school_import.hub, only_this_hub=True
        )
    except ImportFileError as exc:
        school_import.status = SchoolImport.Status.FAILED
        school_import.failure = str(exc)
    except Exception:
        logger.exception("School import %s failed unexpectedly", import_id)
        school_import.status = SchoolImport.Status.FAILED
        school_import.failure = (
            "Something went wrong while importing, so nothing was imported. "
            "Please tell the site team."
        )
    else:
        school_import.status = SchoolImport.Status.DONE
        for name in ("created", "updated", "unchanged", "closed", "trusts_created"):
            setattr(school_import, name, getattr(result, name))
        school_import.row_errors = [
            {"line": e.line, "urn": e.urn, "message": e.message} for e in result.errors
        ]
    school_import.data = b""
    school_import.finished_at = timezone.now()
    school_import.save()
    return school_import
