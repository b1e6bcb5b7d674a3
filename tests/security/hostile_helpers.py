"""The hostile values, and how one is posted and judged.

Every value belongs to a kind of field. For each kind a value is either one that must be
refused (with a message the user can see, or a 4xx) or one that may be saved; text that may
be saved (markup, SQL) must be saved as typed and shown escaped. Nothing may answer 500.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from urllib.parse import urlencode

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils.html import escape

from .matrix_helpers import WRITE

SCRIPT = "<script>alert(1)</script>"
ESCAPED_SCRIPT = escape(SCRIPT)
MEGABYTE = 1024 * 1024

# What a refused form shows: the error summary, a field's message or an alert.
ERROR_MARKERS = ('role="alert"', "invalid-feedback", "is-invalid", "alert-danger", "errorlist")

MUST_REFUSE, MAY_SAVE, MUST_SAVE = "must refuse", "may save", "must save"


@dataclasses.dataclass(frozen=True)
class Hostile:
    label: str
    value: str | None = None  # posted as UTF-8 form data
    raw: bytes | None = None  # or these bytes, exactly, as the field's encoded value
    verdict: str = MUST_REFUSE


# Lone surrogates cannot be encoded as UTF-8 by a browser; a hostile client sends the bytes
# a lenient encoder would make (CESU-8, percent-encoded), or bytes that are not UTF-8 at all.
SURROGATE = Hostile("lone-surrogate", raw=b"%ED%A0%80kept", verdict=MAY_SAVE)
BAD_UTF8 = Hostile("invalid-utf8-bytes", raw=b"caf\xe9\xff\xfe", verdict=MAY_SAVE)
NUL = Hostile("null-byte", "before\x00after")
MEGA = Hostile("1MB", "A" * MEGABYTE)

VALUES = {
    # Free text: markup and SQL are only text, saved as typed and shown escaped.
    "text": [
        Hostile("script", f"{SCRIPT} said the head", verdict=MUST_SAVE),
        Hostile("sql", "Robert'); DROP TABLE trust_organisation;--", verdict=MUST_SAVE),
        MEGA,
        NUL,
        SURROGATE,
        BAD_UTF8,
    ],
    # Text with a shape (an academic year, an email address): refused or saved, never a 500.
    "code": [
        Hostile("script", SCRIPT, verdict=MAY_SAVE),
        Hostile("sql", "' OR 1=1--", verdict=MAY_SAVE),
        MEGA,
        NUL,
        SURROGATE,
        BAD_UTF8,
    ],
    "number": [
        Hostile("negative", "-1"),
        Hostile("zero", "0", verdict=MAY_SAVE),
        Hostile("1e309", "1e309"),
        Hostile("huge", "99999999999999999999"),
        Hostile("nan", "NaN"),
        Hostile("words", "ten"),
        Hostile("null-byte", "5\x00"),
        Hostile("1MB", "9" * MEGABYTE),
        Hostile("invalid-utf8-bytes", raw=b"5\xff"),
    ],
    "date": [
        Hostile("feb-30", "2026-02-30"),
        Hostile("yesterday", "yesterday"),
        Hostile("zeros", "0000-00-00"),
        Hostile("year-0", "0000-01-01"),
        Hostile("null-byte", "2026-12-01\x00"),
        Hostile("1MB", "2" * MEGABYTE),
        Hostile("invalid-utf8-bytes", raw=b"2026-12-01\xff"),
    ],
    "choice": [
        Hostile("unknown", "telepathy"),
        Hostile("script", SCRIPT),
        Hostile("sql", "' OR 1=1--"),
        Hostile("null-byte", "\x00"),
        Hostile("1MB", "x" * MEGABYTE),
        Hostile("invalid-utf8-bytes", raw=b"\xff"),
    ],
    # A key to another row: "theirs" is replaced by the other hub's object's id.
    "id": [
        Hostile("theirs", "theirs"),
        Hostile("sql", "1 OR 1=1"),
        Hostile("negative", "-1"),
        Hostile("huge", "99999999999999999999"),
        Hostile("null-byte", "1\x00"),
        Hostile("1MB", "1" * MEGABYTE),
    ],
    # A page number in a list's address: any value shows a page.
    "page": [
        Hostile(label, value, verdict=MAY_SAVE)
        for label, value in [
            ("negative", "-1"),
            ("zero", "0"),
            ("huge", "99999999999999999999"),
            ("1e309", "1e309"),
            ("nan", "NaN"),
            ("null-byte", "\x00"),
            ("1MB", "9" * MEGABYTE),
        ]
    ],
    # A checkbox: any value is "on"; only a 500 would be wrong.
    "flag": [
        Hostile("script", SCRIPT, verdict=MAY_SAVE),
        Hostile("null-byte", "\x00", verdict=MAY_SAVE),
        Hostile("1MB", "x" * MEGABYTE, verdict=MAY_SAVE),
        Hostile("invalid-utf8-bytes", raw=b"\xff", verdict=MAY_SAVE),
    ],
}


@dataclasses.dataclass
class FormCase:
    """One form: who posts it where, a valid body, and its fields by kind."""

    id: str
    role: str
    url: Callable  # (ours) -> address; may set things up first
    data: Callable  # (ours) -> a body the form saves
    fields: dict[str, str] | Callable  # name -> kind ("text", ...), or (ours) -> that
    theirs: dict[str, Callable] = dataclasses.field(default_factory=dict)  # id fields
    keep: tuple[str, ...] = ()  # typed values shown again when the form is refused
    shown: tuple[str, ...] = ()  # text fields shown on the page after saving
    show: Callable | None = None  # (ours) -> that page; default: where the save redirects
    json: bool = False  # the Record of Visit's queue asks for JSON
    redirects: bool = False  # refusals redirect with a message instead of re-rendering


def encode(data: dict, field: str | None = None, raw: bytes | None = None) -> bytes:
    """A form body, with ``field`` replaced by ``raw`` bytes when given."""
    items = [(k, v) for k, v in data.items() if k != field or raw is None]
    body = urlencode(items, doseq=True).encode()
    if raw is not None:
        body += b"&" + field.encode() + b"=" + raw
    return body


class _Rollback(Exception):
    pass


# Tables a refused request still writes to, and should: the session, the failed sign-in
# records django-axes counts for lockouts, and the audit log of sign-ins and downloads.
BOOKKEEPING = ("django_session", "axes_access", "trust_auditevent")


def writes_in(queries) -> list[str]:
    return [
        q["sql"]
        for q in queries.captured_queries
        if WRITE.match(q["sql"]) and not any(table in q["sql"] for table in BOOKKEEPING)
    ]


def try_case(client, case: FormCase, ours, url, field, hostile: Hostile, value) -> list[str]:
    """Post ``value`` (or the raw bytes) into ``field`` with the rest valid; what went
    wrong, if anything. Everything is rolled back."""
    data = case.data(ours)
    if hostile.raw is None:
        data[field] = value
    body = encode(data, field, hostile.raw)
    headers = {"HTTP_ACCEPT": "application/json"} if case.json else {}
    where = f"{case.id}: {field}={hostile.label}"
    problems = []
    try:
        with transaction.atomic():
            with CaptureQueriesContext(connection) as queries:
                response = client.post(
                    url, body, content_type="application/x-www-form-urlencoded", **headers
                )
            saved = bool(writes_in(queries))
            problems += _judge(client, case, ours, data, field, hostile, response, saved)
            raise _Rollback
    except _Rollback:
        pass
    except Exception as error:  # the view raised: a 500 for the user
        problems.append(f"500 {type(error).__name__}: {str(error)[:160]}")
    return [f"{where}: {p}" for p in problems]


def _judge(client, case, ours, data, field, hostile, response, saved) -> list[str]:
    status = response.status_code
    text = response.content.decode(errors="replace")
    problems = []
    if status >= 500:
        return [f"answered {status}"]
    if SCRIPT in text:
        problems.append("markup shown unescaped")
    if saved:
        if hostile.verdict == MUST_REFUSE:
            problems.append(f"saved (answered {status})")
        problems += _saved_page(client, case, ours, field, hostile, response)
        return problems
    # Refused: a message, the rest of what was typed, and nothing written.
    if hostile.verdict == MUST_SAVE:
        problems.append(f"refused a value that is only text (answered {status})")
    if case.json:
        if status != 400 or "errors" not in json.loads(text):
            problems.append(f"JSON refusal is {status} {text[:80]}")
        return problems
    if case.redirects:
        text = client.get(response["Location"]).content.decode() if status == 302 else text
    elif status not in (200, 400, 409):
        return [*problems, f"answered {status}"]
    if not any(marker in text for marker in ERROR_MARKERS):
        problems.append(f"refused without a message (answered {status})")
    for name in case.keep:
        if name != field and escape(data[name]) not in text:
            problems.append(f"lost the typed {name}")
    return problems


def _saved_page(client, case, ours, field, hostile, response) -> list[str]:
    if case.show:
        url = case.show(ours)
    elif case.json:
        url = json.loads(response.content)["url"]
    else:
        url = response["Location"]
    page = client.get(url)
    if page.status_code != 200:
        return [f"the page after saving answered {page.status_code}"]
    text = page.content.decode()
    problems = []
    if SCRIPT in text:
        problems.append("stored markup shown unescaped")
    if "\x00" in text:
        problems.append("a null byte was stored and shown")
    markup = hostile.value and SCRIPT in hostile.value
    if field in case.shown and markup and ESCAPED_SCRIPT not in text:
        problems.append(f"saved {field} is not shown on {url}")
    return problems
