"""The one function every CSV export goes through: what a spreadsheet gets from it."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.test import RequestFactory

from trust.csv_export import csv_response, neutralise


@pytest.mark.parametrize(
    "text,written",
    [
        ("=1+1", "'=1+1"),
        ("+44 113 496 0000", "'+44 113 496 0000"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Moorside Primary", "Moorside Primary"),
        ("Year 6 = 30 pupils", "Year 6 = 30 pupils"),
        ("", ""),
    ],
)
def test_text_a_spreadsheet_would_run_is_made_plain(text, written):
    assert neutralise(text) == written


def rows_of(response):
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def test_values_keep_their_kind_and_text_is_neutralised(time_machine):
    time_machine.move_to(datetime.datetime(2026, 11, 30, 12, 0, tzinfo=datetime.UTC))
    request = RequestFactory().get("/visits/?format=csv")
    response = csv_response(
        request,
        "visits",
        ["Text", "Money", "Negative", "Date", "When", "Flag", "Empty", "Quoted"],
        iter(
            [
                [
                    "=cmd|' /C calc'!A0",
                    Decimal("1500.00"),
                    Decimal("-20.50"),
                    datetime.date(2026, 11, 2),
                    datetime.datetime(2026, 7, 1, 9, 30, tzinfo=datetime.UTC),
                    True,
                    None,
                    'Said "no", then yes\nover two lines',
                ]
            ]
        ),
    )
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="visits-2026-11-30.csv"'
    header, row = rows_of(response)
    assert header[0] == "Text"
    assert row == [
        "'=cmd|' /C calc'!A0",
        "1500.00",
        "-20.50",  # a number, so a spreadsheet adds it up
        "2026-11-02",
        "2026-07-01 10:30",  # in the hub's time zone (British Summer Time)
        "Yes",
        "",
        'Said "no", then yes\nover two lines',
    ]


def test_rows_are_written_as_they_are_read(db):
    """The response pulls rows one by one as it is sent, so an export of everything never
    holds everything in memory."""
    pulled = []

    def rows():
        for i in range(3):
            pulled.append(i)
            yield [i]

    response = csv_response(RequestFactory().get("/"), "x", ["n"], rows())
    assert pulled == []
    chunks = iter(response.streaming_content)
    next(chunks)  # the header
    next(chunks)
    assert pulled == [0]


def test_a_list_export_is_in_the_audit_log_with_who_and_which_filters(client, coordinator):
    from django.urls import reverse

    from trust.models import AuditEvent

    client.force_login(coordinator)
    response = client.get(reverse("trust:organisation_list"), {"q": "Beck", "format": "csv"})
    assert response.status_code == 200
    b"".join(response.streaming_content)
    event = AuditEvent.objects.get(action=AuditEvent.Action.EXPORT)
    assert event.actor == coordinator
    assert "q=Beck" in event.detail and "format=csv" not in event.detail
    # Looking at the page is not an export
    client.get(reverse("trust:organisation_list"), {"q": "Beck"})
    assert AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).count() == 1
