"""The change history of one object, as people read it: who, when, and which fields went
from what to what, in words (field labels, choice labels, the related object's name).

``history_of(records)`` takes a historical queryset (``obj.history.all()``, or the history
of several rows, e.g. a commission's funding allocations) and returns the latest entries,
newest first, with the total count. Its number of queries does not depend on how long the
history is: one for the records and their authors, one for the count when there are more
than shown, and one per kind of related object named in the changes shown.

What a viewer may not read is decided by the caller: ``hide`` drops fields from every
entry (an entry left with nothing to show is dropped too), ``withhold(record, previous)``
names fields whose change is shown without its values (e.g. a visit's text while it was
flagged with a safeguarding concern).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import models
from django.utils import timezone
from django.utils.text import Truncator, capfirst

LIMIT = 20
# Long text (a narrative, a visit summary) is shown up to this many characters each side.
TEXT_SHOWN = 300
ACTIONS = {"+": "Created", "~": "Changed", "-": "Deleted"}


@dataclass
class Change:
    label: str
    old: str
    new: str
    withheld: bool = False


@dataclass
class Entry:
    at: datetime.datetime
    user: object
    action: str
    subject: str
    changes: list[Change] = field(default_factory=list)


@dataclass
class History:
    entries: list[Entry]
    total: int
    limit: int

    @property
    def more(self) -> bool:
        return self.total > self.limit

    def __bool__(self) -> bool:
        return bool(self.entries)

    def __iter__(self):
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)


def _tracked(history_model, hide: Iterable[str]) -> list[models.Field]:
    """The fields a person edits, in the model's order (automatic dates, digests and other
    bookkeeping are not edited, so not shown)."""
    instance_type = history_model.instance_type
    hidden = set(hide)
    tracked = {f.name for f in history_model.tracked_fields}
    return [
        f
        for f in instance_type._meta.concrete_fields
        if f.name in tracked and f.editable and not f.primary_key and f.name not in hidden
    ]


def _plain(value, model_field: models.Field, names: dict) -> str:
    if value is None or value == "":
        return ""
    if model_field.is_relation:
        return names.get((model_field.related_model, value), f"(removed #{value})")
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, datetime.datetime):
        return f"{timezone.localtime(value):%-d %b %Y %H:%M}"
    if isinstance(value, datetime.date):
        return f"{value:%-d %b %Y}"
    if isinstance(value, Decimal):
        if "£" in str(model_field.verbose_name):
            return f"{value:,.2f}"  # money keeps its pence
        return f"{value.normalize():f}"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return Truncator(str(value)).chars(TEXT_SHOWN)


def history_of(
    records: models.QuerySet,
    *,
    limit: int = LIMIT,
    hide: Iterable[str] = (),
    withhold: Callable[[object, object | None], Iterable[str]] | None = None,
    formatters: dict[str, Callable[[object], str]] | None = None,
    subject: str | None = None,
    created_values: bool = False,
) -> History:
    """The latest ``limit`` changes in ``records``, newest first.

    ``subject`` names a field whose value titles each entry (for the history of several
    rows, e.g. an allocation's stream); ``created_values`` lists a new row's values as
    changes from nothing; ``formatters`` turns a field's raw value into words.
    """
    history_model = records.model
    fields = _tracked(history_model, hide)
    formatters = formatters or {}
    rows = list(
        records.select_related("history_user").order_by("-history_date", "-history_id")[
            : limit + 1
        ]
    )
    total = len(rows) if len(rows) <= limit else records.count()
    shown = rows[:limit]
    # The previous state of each row's object is the next older record of the same object.
    previous = {}
    latest_seen = {}
    for row in reversed(rows):
        previous[row.history_id] = latest_seen.get(row.id)
        latest_seen[row.id] = row

    entries = []
    pending = []
    wanted = defaultdict(set)
    subject_field = history_model.instance_type._meta.get_field(subject) if subject else None
    for row in shown:
        before = previous[row.history_id]
        secret = set(withhold(row, before)) if withhold else set()
        changes = []
        for f in fields:
            new = getattr(row, f.attname)
            if row.history_type == "+":
                if not created_values:
                    continue
                old = None
            elif row.history_type == "-" or before is None:
                continue
            else:
                old = getattr(before, f.attname)
            if old == new or (old in (None, "") and new in (None, "")):
                continue
            changes.append((f, old, new, f.name in secret))
            if f.is_relation and f.name not in secret:
                wanted[f.related_model].update(v for v in (old, new) if v is not None)
        if subject_field is not None:
            value = getattr(row, subject_field.attname)
            if subject_field.is_relation and value is not None:
                wanted[subject_field.related_model].add(value)
        if row.history_type == "~" and before is not None and not changes:
            continue  # nothing this viewer may see changed
        pending.append((row, changes))

    names = {}
    for model, pks in wanted.items():
        for pk, obj in model._default_manager.in_bulk(pks).items():
            names[(model, pk)] = str(obj)

    for row, changes in pending:
        shown_changes = []
        for f, old, new, secret in changes:
            label = capfirst(f.verbose_name)
            if secret:
                shown_changes.append(Change(label, "", "", withheld=True))
                continue
            text = formatters.get(f.name)
            old_text = text(old) if text and old not in (None, "") else _plain(old, f, names)
            new_text = text(new) if text and new not in (None, "") else _plain(new, f, names)
            shown_changes.append(Change(label, old_text, new_text))
        title = ""
        if subject_field is not None:
            title = _plain(getattr(row, subject_field.attname), subject_field, names)
        entries.append(
            Entry(
                at=row.history_date,
                user=row.history_user,
                # A row that existed before its history began says so (see the migration).
                action=row.history_change_reason
                or ACTIONS.get(row.history_type, row.history_type),
                subject=title,
                changes=shown_changes,
            )
        )
    return History(entries=entries, total=total, limit=limit)
