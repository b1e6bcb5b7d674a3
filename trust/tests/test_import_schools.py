"""``python manage.py import_schools FILE.csv`` and the ``schools_import`` service.

The contract (DESIGN.md §5): the national establishment CSV, idempotent on URN, Windows-1252
or UTF-8 (with or without BOM), closed establishments kept but marked closed, each bad row
reported with its line number (the header is line 1) while the good rows are imported.
"""

import csv
import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from trust.models import Organisation
from trust.services import ImportFileError, schools_import
from trust.tests.factories import HubFactory, SchoolFactory, TrustFactory

# A byte-for-byte copy of ../shared/data/establishments_sample.csv, so the tests also run on
# a fresh clone where ../shared does not exist.
SAMPLE = Path(__file__).resolve().parent / "data" / "establishments_sample.csv"
SHARED_SAMPLE = Path(__file__).resolve().parents[3] / "shared" / "data" / SAMPLE.name

SAMPLE_SUMMARY = (
    "64 created, 0 updated, 0 unchanged (2 closed); trusts created: 4; rows skipped: 0."
)

# The columns we read, in a different order from the national file, plus two it ignores.
HEADER = [
    "URN",
    "LA (code)",
    "LA (name)",
    "EstablishmentName",
    "TypeOfEstablishment (name)",
    "EstablishmentStatus (name)",
    "PhaseOfEducation (name)",
    "Trusts (name)",
    "Street",
    "Postcode",
    "Easting",
    "Northing",
]
FIELDS = {
    "urn": "URN",
    "la": "LA (name)",
    "name": "EstablishmentName",
    "establishment_type": "TypeOfEstablishment (name)",
    "status": "EstablishmentStatus (name)",
    "phase": "PhaseOfEducation (name)",
    "trust": "Trusts (name)",
    "street": "Street",
    "postcode": "Postcode",
    "easting": "Easting",
    "northing": "Northing",
}


def school_row(urn: str, **values: str) -> dict[str, str]:
    """One establishment as the national file has it; ``values`` override by FIELDS key."""
    row = {
        "URN": urn,
        "LA (code)": "383",
        "LA (name)": "Leeds",
        "EstablishmentName": f"School {urn}",
        "TypeOfEstablishment (name)": "Community school",
        "EstablishmentStatus (name)": "Open",
        "PhaseOfEducation (name)": "Primary",
        "Trusts (name)": "",
        "Street": "1 Church Lane",
        "Postcode": "LS9 8AB",
        "Easting": "430000",
        "Northing": "433000",
    }
    row.update({FIELDS[key]: value for key, value in values.items()})
    return row


def csv_bytes(*rows: dict[str, str], header=HEADER, encoding: str = "utf-8") -> bytes:
    """A CSV file as Excel or the national download writes it: CRLF, quoted where needed."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(column, "") for column in header])
    return out.getvalue().encode(encoding)


def write(tmp_path: Path, data: bytes, name: str = "schools.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def import_schools(path: Path, *args: str) -> tuple[str, str]:
    """Run the command as a user would; its (stdout, stderr)."""
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("import_schools", str(path), *args, stdout=stdout, stderr=stderr, no_color=True)
    return stdout.getvalue(), stderr.getvalue()


def sample_rows() -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(SAMPLE.read_bytes().decode("cp1252"), newline=""))
    return list(reader.fieldnames), list(reader)


def sample_bytes(rows: list[dict[str, str]], fieldnames: list[str]) -> bytes:
    """The sample file rewritten with changed rows, still in Windows-1252."""
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("cp1252")


def schools():
    return Organisation.objects.schools()


def snapshot() -> dict[str, tuple]:
    """Everything the import writes, by URN."""
    return {
        school.urn: (
            school.name,
            school.local_authority,
            school.establishment_type,
            school.phase,
            school.postcode,
            school.easting,
            school.northing,
            school.is_open,
            school.parent_trust.name if school.parent_trust else None,
            school.hub_id,
        )
        for school in schools().select_related("parent_trust")
    }


# ------------------------------------------------------------------------ the sample file


def test_the_sample_in_the_repo_is_an_exact_copy_of_the_shared_sample():
    if not SHARED_SAMPLE.exists():
        pytest.skip("../shared is not checked out next to the repo")
    assert SAMPLE.read_bytes() == SHARED_SAMPLE.read_bytes()


def test_the_sample_is_the_national_files_windows_1252_with_64_rows():
    data = SAMPLE.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert len(sample_rows()[1]) == 64


def test_sample_file_imports_all_64_schools_into_the_only_hub(hub):
    stdout, stderr = import_schools(SAMPLE)

    assert stdout.strip() == SAMPLE_SUMMARY
    assert stderr == ""
    assert schools().count() == 64
    assert schools().filter(hub=hub).count() == 64
    assert set(schools().values_list("urn", flat=True)) == {r["URN"] for r in sample_rows()[1]}


def test_sample_file_keeps_closed_schools_but_marks_them_closed(hub):
    import_schools(SAMPLE)

    closed = schools().filter(is_open=False)
    assert sorted(closed.values_list("urn", "name")) == [
        ("101368", "Low Hill Academy"),
        ("118028", "Heath Gate All-through School"),
    ]
    assert schools().filter(is_open=True).count() == 62


def test_sample_file_names_with_a_curly_apostrophe_come_through_correctly(hub):
    import_schools(SAMPLE)

    assert schools().get(urn="111527").name == "St Joseph’s Catholic Primary School"
    assert schools().get(urn="143913").name == "All Saints’ Catholic Primary School"
    assert schools().filter(name="St Peter’s Catholic Primary School").count() == 2
    names = "".join(schools().values_list("name", flat=True))
    assert "’" in names
    for mojibake in ("â€™", "\x92", "\ufffd"):
        assert mojibake not in names


def test_sample_file_phases_are_mapped_to_ours(hub):
    import_schools(SAMPLE)

    def phases(*urns):
        return set(schools().filter(urn__in=urns).values_list("phase", flat=True))

    # "Not applicable" with a special establishment type is a special school.
    assert phases("133879", "105229", "129877") == {Organisation.Phase.SPECIAL}
    assert schools().get(urn="100174").phase == Organisation.Phase.PRIMARY
    assert schools().get(urn="131778").phase == Organisation.Phase.SECONDARY
    assert schools().get(urn="118028").phase == Organisation.Phase.ALL_THROUGH
    counts = {}
    for phase in schools().values_list("phase", flat=True):
        counts[phase] = counts.get(phase, 0) + 1
    assert counts == {
        Organisation.Phase.PRIMARY: 36,
        Organisation.Phase.SECONDARY: 15,
        Organisation.Phase.SPECIAL: 8,
        Organisation.Phase.ALL_THROUGH: 3,
        Organisation.Phase.NURSERY: 2,
    }


def test_sample_file_stores_grid_reference_postcode_la_and_type(hub):
    import_schools(SAMPLE)

    school = schools().get(urn="100174")
    assert school.name == "South Well Primary School"
    assert (school.easting, school.northing) == (415831, 430974)
    assert school.postcode == "BD11 3HT"
    assert school.local_authority == "Bradford"
    assert school.establishment_type == "Academy converter"
    assert school.kind == Organisation.Kind.SCHOOL
    assert not schools().filter(easting__isnull=True).exists()
    assert not schools().filter(northing__isnull=True).exists()


def test_sample_file_creates_each_trust_once_and_links_its_schools(hub):
    import_schools(SAMPLE)

    trusts = Organisation.objects.filter(kind=Organisation.Kind.TRUST)
    assert sorted(trusts.values_list("name", flat=True)) == [
        "Aire Valley Learning Trust",
        "Moorside Partnership Trust",
        "Pennine Crest Academies",
        "Three Rivers Education Trust",
    ]
    assert set(trusts.values_list("hub", flat=True)) == {hub.pk}
    academies = {t.name: t.academies.count() for t in trusts}
    assert academies == {
        "Three Rivers Education Trust": 13,
        "Aire Valley Learning Trust": 11,
        "Pennine Crest Academies": 9,
        "Moorside Partnership Trust": 4,
    }
    assert schools().filter(parent_trust__isnull=True).count() == 27
    special = schools().get(urn="133879")
    assert special.parent_trust.name == "Pennine Crest Academies"


def test_sample_file_links_schools_to_a_trust_the_hub_already_has(hub, lead_trust):
    # Matched whatever its capitalisation in our records.
    other_case = TrustFactory(hub=hub, name="PENNINE CREST ACADEMIES")

    stdout, _ = import_schools(SAMPLE)

    assert "trusts created: 2" in stdout
    assert lead_trust.academies.count() == 11
    assert other_case.academies.count() == 9
    assert Organisation.objects.filter(name__iexact="Aire Valley Learning Trust").count() == 1
    assert Organisation.objects.filter(name__iexact="Pennine Crest Academies").count() == 1


def test_a_trust_of_the_same_name_in_another_hub_is_not_borrowed(hub, other_hub):
    theirs = TrustFactory(hub=other_hub, name="Three Rivers Education Trust")

    import_schools(SAMPLE, "--hub", hub.name)

    assert theirs.academies.count() == 0
    ours = Organisation.objects.get(kind="trust", hub=hub, name="Three Rivers Education Trust")
    assert ours.academies.count() == 13


def test_trust_names_differing_only_in_case_in_the_file_make_one_trust(hub, tmp_path):
    path = write(
        tmp_path,
        csv_bytes(
            school_row("100001", trust="Aire Valley Learning Trust"),
            school_row("100002", trust="AIRE VALLEY LEARNING TRUST"),
            school_row("100003", trust="  Aire Valley Learning Trust  "),
        ),
    )

    import_schools(path)

    trust = Organisation.objects.get(kind="trust")
    assert set(schools().values_list("parent_trust", flat=True)) == {trust.pk}


# ------------------------------------------------------------------------- idempotence


def test_importing_the_same_file_twice_changes_nothing(hub):
    import_schools(SAMPLE)
    before = snapshot()
    counts = Organisation.objects.count(), schools().count()
    stamps = dict(Organisation.objects.values_list("pk", "updated_at"))

    stdout, stderr = import_schools(SAMPLE)

    assert stdout.strip() == (
        "0 created, 0 updated, 64 unchanged (2 closed); trusts created: 0; rows skipped: 0."
    )
    assert stderr == ""
    assert (Organisation.objects.count(), schools().count()) == counts == (69, 64)
    assert snapshot() == before
    assert dict(Organisation.objects.values_list("pk", "updated_at")) == stamps


def test_the_service_reports_a_second_run_as_all_unchanged(hub):
    first = schools_import(data=SAMPLE.read_bytes(), hub=hub)
    second = schools_import(data=SAMPLE.read_bytes(), hub=hub)

    assert (first.created, first.updated, first.unchanged, first.trusts_created) == (64, 0, 0, 4)
    assert (second.created, second.updated, second.unchanged, second.trusts_created) == (
        0,
        0,
        64,
        0,
    )
    assert second.imported == 64
    assert second.closed == 2
    assert second.errors == []


# ---------------------------------------------------------------------------- encodings


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig"], ids=["utf-8", "utf-8-with-bom"])
def test_utf8_with_or_without_bom_imports_exactly_like_windows_1252(hub, tmp_path, encoding):
    text = SAMPLE.read_bytes().decode("cp1252")
    path = write(tmp_path, text.encode(encoding))
    if encoding == "utf-8-sig":
        assert path.read_bytes().startswith(b"\xef\xbb\xbf")

    stdout, stderr = import_schools(path)

    assert stdout.strip() == SAMPLE_SUMMARY
    assert stderr == ""
    assert schools().get(urn="111527").name == "St Joseph’s Catholic Primary School"
    # The original Windows-1252 file then finds every school exactly as it left it.
    stdout, _ = import_schools(SAMPLE)
    assert stdout.startswith("0 created, 0 updated, 64 unchanged (2 closed)")


def test_utf8_file_keeps_characters_windows_1252_cannot_hold(hub, tmp_path):
    path = write(
        tmp_path,
        csv_bytes(
            school_row("100001", name="Ysgol Gymraeg Bro Ŵyn"),
            school_row("100002", name="Łukasz Memorial School"),
        ),
    )

    import_schools(path)

    assert schools().get(urn="100001").name == "Ysgol Gymraeg Bro Ŵyn"
    assert schools().get(urn="100002").name == "Łukasz Memorial School"


def test_trust_name_with_accented_capital_is_matched_again_on_the_next_run(hub, tmp_path):
    path = write(tmp_path, csv_bytes(school_row("100001", trust="Église Academy Trust")))

    import_schools(path)
    stdout, _ = import_schools(path)

    assert stdout.startswith("0 created, 0 updated, 1 unchanged")
    assert "trusts created: 0" in stdout
    assert Organisation.objects.filter(kind="trust").count() == 1


# ----------------------------------------------------------------------------- bad rows


def test_bad_rows_are_reported_with_their_line_numbers_and_good_rows_still_import(hub, tmp_path):
    path = write(
        tmp_path,
        csv_bytes(
            school_row("100001", name="Good First"),  # line 2
            school_row("", name="No Urn School"),  # line 3
            school_row("100003", easting="4300OO"),  # line 4
            school_row("100004", name="Good Second"),  # line 5
            school_row("100001", name="Duplicate Of Good First"),  # line 6
            school_row("10005", name="Five Digit Urn"),  # line 7
            school_row("100007", northing="1300001"),  # line 8
            school_row("100008", name="Good Third"),  # line 9
        ),
    )

    stdout, stderr = import_schools(path)

    assert stderr.splitlines() == [
        "Line 3: URN is missing.",
        "Line 4 (URN 100003): Easting must be a whole number of metres, not '4300OO'.",
        "Line 6 (URN 100001): this URN already appears on line 2; this row was skipped.",
        "Line 7 (URN 10005): URN must be 6 digits, not '10005'.",
        "Line 8 (URN 100007): Northing 1300001 is outside Great Britain (0 to 1,300,000).",
    ]
    assert stdout.strip() == (
        "3 created, 0 updated, 0 unchanged (0 closed); trusts created: 0; rows skipped: 5."
    )
    assert dict(schools().values_list("urn", "name")) == {
        "100001": "Good First",
        "100004": "Good Second",
        "100008": "Good Third",
    }


def test_a_duplicate_urn_is_reported_with_the_line_of_its_first_appearance(hub, tmp_path):
    path = write(
        tmp_path,
        csv_bytes(
            school_row("100001"),  # line 2
            school_row("100002", name="First Seen"),  # line 3
            school_row("100003"),  # line 4
            school_row("100002", name="Seen Again"),  # line 5
            school_row("100002", name="And Again"),  # line 6
        ),
    )

    _, stderr = import_schools(path)

    assert stderr.splitlines() == [
        "Line 5 (URN 100002): this URN already appears on line 3; this row was skipped.",
        "Line 6 (URN 100002): this URN already appears on line 3; this row was skipped.",
    ]
    assert schools().get(urn="100002").name == "First Seen"
    assert schools().count() == 3


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"urn": ""}, "Line 3: URN is missing."),
        ({"urn": "   "}, "Line 3: URN is missing."),
        ({"urn": "10002"}, "Line 3 (URN 10002): URN must be 6 digits, not '10002'."),
        ({"urn": "1000020"}, "Line 3 (URN 1000020): URN must be 6 digits, not '1000020'."),
        ({"urn": "10O002"}, "Line 3 (URN 10O002): URN must be 6 digits, not '10O002'."),
        (
            {"urn": "１００００２"},
            "Line 3 (URN １００００２): URN must be 6 digits, not '１００００２'.",
        ),
        ({"name": ""}, "Line 3 (URN 100002): EstablishmentName is missing."),
        (
            {"easting": "430000.5"},
            "Line 3 (URN 100002): Easting must be a whole number of metres, not '430000.5'.",
        ),
        (
            {"easting": "-1"},
            "Line 3 (URN 100002): Easting must be a whole number of metres, not '-1'.",
        ),
        (
            {"easting": "43²"},
            "Line 3 (URN 100002): Easting must be a whole number of metres, not '43²'.",
        ),
        (
            {"easting": "700001"},
            "Line 3 (URN 100002): Easting 700001 is outside Great Britain (0 to 700,000).",
        ),
        (
            {"northing": "1300001"},
            "Line 3 (URN 100002): Northing 1300001 is outside Great Britain (0 to 1,300,000).",
        ),
        (
            {"northing": "4" * 5000},
            "Line 3 (URN 100002): Northing 44444444444444444444… is outside Great Britain "
            "(0 to 1,300,000).",
        ),
        (
            {"postcode": "NOT A POSTCODE"},
            "Line 3 (URN 100002): Postcode 'NOT A POSTCODE' is not a UK postcode.",
        ),
        (
            {"name": "N" * 201},
            "Line 3 (URN 100002): EstablishmentName is longer than 200 characters.",
        ),
        (
            {"la": "L" * 101},
            "Line 3 (URN 100002): LA (name) is longer than 100 characters.",
        ),
        (
            {"trust": "T" * 201},
            "Line 3 (URN 100002): Trusts (name) is longer than 200 characters.",
        ),
    ],
    ids=[
        "missing-urn",
        "blank-urn",
        "five-digit-urn",
        "seven-digit-urn",
        "letter-in-urn",
        "full-width-digit-urn",
        "missing-name",
        "decimal-easting",
        "negative-easting",
        "superscript-easting",
        "easting-out-of-range",
        "northing-out-of-range",
        "northing-of-5000-digits",
        "bad-postcode",
        "name-too-long",
        "la-too-long",
        "trust-name-too-long",
    ],
)
def test_each_kind_of_bad_row_gets_a_clear_message_and_the_rest_import(
    hub, tmp_path, values, message
):
    path = write(
        tmp_path,
        csv_bytes(
            school_row("100001"),
            school_row(**{"urn": "100002", **values}),
            school_row("100003"),
        ),
    )

    stdout, stderr = import_schools(path)

    assert stderr.splitlines() == [message]
    assert "2 created" in stdout
    assert "rows skipped: 1" in stdout
    assert sorted(schools().values_list("urn", flat=True)) == ["100001", "100003"]
    assert not Organisation.objects.filter(kind="trust").exists()


def test_grid_reference_limits_and_blanks_are_accepted(hub, tmp_path):
    path = write(
        tmp_path,
        csv_bytes(
            school_row("100001", easting="700000", northing="1300000"),
            school_row("100002", easting="0", northing="0"),
            school_row("100003", easting="", northing=""),
            school_row("100004", easting=" 415831 ", northing="0430974"),
        ),
    )

    _, stderr = import_schools(path)

    assert stderr == ""
    grid = {s.urn: (s.easting, s.northing) for s in schools()}
    assert grid == {
        "100001": (700000, 1300000),
        "100002": (0, 0),
        "100003": (None, None),
        "100004": (415831, 430974),
    }


def test_the_service_returns_row_errors_with_line_and_urn(hub):
    data = csv_bytes(school_row("100001"), school_row("100002", easting="far"))

    result = schools_import(data=data, hub=hub)

    assert result.created == 1
    assert [(e.line, e.urn) for e in result.errors] == [(3, "100002")]
    assert str(result.errors[0]) == (
        "Line 3 (URN 100002): Easting must be a whole number of metres, not 'far'."
    )


def test_blank_lines_are_skipped_without_shifting_line_numbers(hub, tmp_path):
    data = csv_bytes(school_row("100001"), school_row("100002"), school_row(""))
    lines = data.split(b"\r\n")
    # header, blank, 100001, blank, ",,,", 100002, bad row (now line 7)
    data = b"\r\n".join([lines[0], b"", lines[1], b"", b",,,,", lines[2], lines[3], b""])
    path = write(tmp_path, data)

    stdout, stderr = import_schools(path)

    assert stderr.splitlines() == ["Line 7: URN is missing."]
    assert stdout.startswith("2 created")


def test_short_rows_are_reported_not_crashed_on(hub, tmp_path):
    last_row = csv_bytes(school_row("100003")).split(b"\r\n", 1)[1]
    data = csv_bytes(school_row("100001")) + b"100002\r\n" + last_row
    path = write(tmp_path, data)

    stdout, stderr = import_schools(path)

    assert stderr.splitlines() == [
        "Line 3 (URN 100002): the row stops after 1 of 12 columns; is the file cut short?"
    ]
    assert stdout.startswith("2 created")
    assert sorted(schools().values_list("urn", flat=True)) == ["100001", "100003"]


# ----------------------------------------------------------------------- multi-line rows


def test_a_quoted_field_with_a_newline_does_not_throw_off_later_line_numbers(hub, tmp_path):
    data = csv_bytes(
        school_row("100001", street="Unit 4\nMill Yard"),  # lines 2-3
        school_row("100002", easting="east"),  # line 4
        school_row("100003", street="The Old Mill\r\nMill Lane\nLeeds"),  # lines 5-7
        school_row("100004", northing="north", street="Flat 1\nHigh St"),  # lines 8-9
        school_row("", name="No Urn"),  # line 10
        school_row("100003", name="Again"),  # line 11
    )
    assert data.count(b"\n") == 11  # 11 physical lines: the header and 6 records
    path = write(tmp_path, data)

    stdout, stderr = import_schools(path)

    assert stderr.splitlines() == [
        "Line 4 (URN 100002): Easting must be a whole number of metres, not 'east'.",
        "Line 8 (URN 100004): Northing must be a whole number of metres, not 'north'.",
        "Line 10: URN is missing.",
        "Line 11 (URN 100003): this URN already appears on line 5; this row was skipped.",
    ]
    assert stdout.startswith("2 created")
    assert sorted(schools().values_list("urn", flat=True)) == ["100001", "100003"]


# ------------------------------------------------------------------ whole-file failures


def _assert_nothing_imported():
    assert not schools().exists()
    assert not Organisation.objects.filter(kind="trust").exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            SAMPLE.read_bytes().decode("cp1252").encode("utf-16"),
            "This file is in UTF-16 or another encoding we cannot read. Save it as CSV in "
            "UTF-8 or Windows-1252 and try again.",
        ),
        (
            SAMPLE.read_bytes().decode("cp1252").encode("utf-16-le"),
            "This file is in UTF-16 or another encoding we cannot read.",
        ),
        (
            SAMPLE.read_bytes().decode("cp1252").encode("utf-16-be"),
            "This file is in UTF-16 or another encoding we cannot read.",
        ),
        (
            b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00[Content_Types].xml" + b"\x00" * 64,
            "This looks like an Excel workbook, not a CSV file. Save it as CSV (comma "
            "separated) and try again.",
        ),
        (b"", "The file is empty."),
        (b" \r\n\t\r\n   \n", "The file is empty."),
        (b"\xef\xbb\xbf", "The file is empty."),
        (b"\xef\xbb\xbf\r\n  \r\n", "The file is empty."),
        (
            csv_bytes(school_row("100001")).replace(b"Leeds", b"Leeds \x81"),
            "The file is neither UTF-8 nor Windows-1252",
        ),
    ],
    ids=[
        "utf-16-with-bom",
        "utf-16-le-without-bom",
        "utf-16-be-without-bom",
        "excel-xlsx",
        "empty",
        "only-whitespace",
        "only-a-bom",
        "bom-and-blank-lines",
        "neither-utf-8-nor-windows-1252",
    ],
)
def test_an_unreadable_file_is_refused_with_a_clear_message_and_nothing_imported(
    hub, tmp_path, data, message
):
    path = write(tmp_path, data)

    with pytest.raises(CommandError) as error:
        import_schools(path)

    assert str(error.value).startswith(f"{path}: ")
    assert message in str(error.value)
    assert str(error.value).endswith("Nothing was imported.")
    _assert_nothing_imported()


def test_an_excel_workbook_is_refused_whatever_its_name(hub, tmp_path):
    path = write(tmp_path, b"PK\x03\x04" + b"rest of a zip", name="edubasealldata.xlsx")

    with pytest.raises(CommandError, match="looks like an Excel workbook"):
        import_schools(path)
    _assert_nothing_imported()


@pytest.mark.parametrize(
    ("dropped", "message"),
    [
        (
            ["Easting", "Northing"],
            "The file is missing required columns “Easting”, “Northing”. Export the "
            "establishment file with these columns and try again.",
        ),
        (["Postcode"], "The file is missing required column “Postcode”. "),
        (["URN"], "The file is missing required column “URN”. "),
    ],
)
def test_missing_required_columns_are_named_and_nothing_imported(hub, tmp_path, dropped, message):
    header = [column for column in HEADER if column not in dropped]
    path = write(tmp_path, csv_bytes(school_row("100001"), header=header))

    with pytest.raises(CommandError) as error:
        import_schools(path)

    assert message in str(error.value)
    _assert_nothing_imported()


def test_a_file_with_only_the_header_imports_nothing_without_complaint(hub, tmp_path):
    path = write(tmp_path, csv_bytes())

    stdout, stderr = import_schools(path)

    assert stdout.startswith("0 created, 0 updated, 0 unchanged")
    assert stderr == ""


def test_a_missing_file_is_reported_by_name(hub, tmp_path):
    path = tmp_path / "no-such-file.csv"

    with pytest.raises(CommandError) as error:
        import_schools(path)

    assert str(error.value) == f"Cannot read {path}: No such file or directory."
    _assert_nothing_imported()


def test_a_directory_instead_of_a_file_is_reported(hub, tmp_path):
    with pytest.raises(CommandError, match=r"^Cannot read .*: Is a directory\.$"):
        import_schools(tmp_path)


def test_the_service_raises_import_file_error_for_an_unreadable_file(hub):
    with pytest.raises(ImportFileError, match=r"^The file is empty\.$"):
        schools_import(data=b"", hub=hub)
    _assert_nothing_imported()


# ---------------------------------------------------------------------------- updates


def test_reimport_with_a_renamed_closed_school_updates_it_and_does_not_duplicate(hub):
    import_schools(SAMPLE)
    school = schools().get(urn="100174")
    stamps = dict(schools().values_list("urn", "updated_at"))
    fieldnames, rows = sample_rows()
    for row in rows:
        if row["URN"] == "100174":
            row["EstablishmentName"] = "South Well Primary Academy"
            row["EstablishmentStatus (name)"] = "Closed"

    result = schools_import(data=sample_bytes(rows, fieldnames), hub=hub)

    assert (result.created, result.updated, result.unchanged, result.closed) == (0, 1, 63, 3)
    assert schools().count() == 64
    assert schools().filter(urn="100174").count() == 1
    school.refresh_from_db()
    assert school.name == "South Well Primary Academy"
    assert school.is_open is False
    assert school.updated_at > stamps["100174"]
    after = dict(schools().values_list("urn", "updated_at"))
    assert {urn for urn in after if after[urn] != stamps[urn]} == {"100174"}


def test_reimport_through_the_command_reports_the_update(hub, tmp_path):
    import_schools(SAMPLE)
    fieldnames, rows = sample_rows()
    for row in rows:
        if row["URN"] == "100174":
            row["EstablishmentName"] = "South Well Primary Academy"
            row["EstablishmentStatus (name)"] = "Closed"
    path = write(tmp_path, sample_bytes(rows, fieldnames))

    stdout, stderr = import_schools(path)

    assert stdout.strip() == (
        "0 created, 1 updated, 63 unchanged (3 closed); trusts created: 0; rows skipped: 0."
    )
    assert stderr == ""
    assert schools().get(urn="100174").name == "South Well Primary Academy"


def test_a_reopened_school_that_left_its_trust_is_updated(hub, tmp_path):
    path = write(
        tmp_path,
        csv_bytes(school_row("100001", status="Closed", trust="Aire Valley Learning Trust")),
    )
    import_schools(path)
    path.write_bytes(csv_bytes(school_row("100001", status="Open", trust="")))

    stdout, _ = import_schools(path)

    school = schools().get(urn="100001")
    assert school.is_open is True
    assert school.parent_trust is None
    assert stdout.startswith("0 created, 1 updated")
    # The trust is kept: other schools or people may still belong to it.
    assert Organisation.objects.filter(kind="trust").count() == 1


def test_reimport_leaves_what_the_file_does_not_hold_alone(hub, cluster, tmp_path):
    school = SchoolFactory(hub=hub, cluster=cluster, urn="100001", name="Old Name")
    path = write(tmp_path, csv_bytes(school_row("100001", name="New Name")))

    import_schools(path)

    school.refresh_from_db()
    assert school.name == "New Name"
    assert school.cluster == cluster
    assert school.hub == hub


# ------------------------------------------------------------------------------ hubs


def test_with_two_hubs_and_no_hub_option_the_user_is_told_to_choose(hub, other_hub):
    with pytest.raises(CommandError) as error:
        import_schools(SAMPLE)

    assert str(error.value) == (
        "There are 2 hubs (Elsewhere Hub, Three Rivers Hub); say which with --hub."
    )
    _assert_nothing_imported()


@pytest.mark.parametrize("spelling", ["Three Rivers Hub", "three rivers hub"])
def test_hub_option_by_name_puts_new_schools_in_that_hub(hub, other_hub, spelling):
    stdout, _ = import_schools(SAMPLE, "--hub", spelling)

    assert stdout.strip() == SAMPLE_SUMMARY
    assert schools().filter(hub=hub).count() == 64
    assert not schools().filter(hub=other_hub).exists()


def test_hub_option_by_id_puts_new_schools_and_trusts_in_that_hub(hub, other_hub):
    import_schools(SAMPLE, f"--hub={other_hub.pk}")

    assert schools().filter(hub=other_hub).count() == 64
    assert set(Organisation.objects.filter(kind="trust").values_list("hub", flat=True)) == {
        other_hub.pk
    }


@pytest.mark.parametrize("choice", ["Nowhere Hub", "999999", "99999999999999999999999"])
def test_an_unknown_hub_is_refused_listing_the_hubs(hub, other_hub, choice):
    with pytest.raises(CommandError) as error:
        import_schools(SAMPLE, "--hub", choice)

    assert str(error.value) == (
        f"No hub called {choice!r}. Hubs: Elsewhere Hub, Three Rivers Hub."
    )
    _assert_nothing_imported()


def test_an_existing_school_keeps_its_hub(hub, other_hub):
    theirs = SchoolFactory(hub=other_hub, urn="100174", name="South Well Primary School")

    import_schools(SAMPLE, "--hub", hub.name)

    theirs.refresh_from_db()
    assert theirs.hub == other_hub
    assert schools().filter(hub=hub).count() == 63
    assert schools().count() == 64


def test_an_existing_school_without_a_hub_joins_the_hub(hub):
    orphan = SchoolFactory(hub=None, urn="100174")

    import_schools(SAMPLE)

    orphan.refresh_from_db()
    assert orphan.hub == hub


def test_with_no_hub_at_all_schools_are_imported_with_a_warning(db):
    stdout, _ = import_schools(SAMPLE)

    assert stdout.splitlines() == [
        SAMPLE_SUMMARY,
        "No hub exists yet: the schools belong to no hub.",
    ]
    assert schools().filter(hub__isnull=True).count() == 64


def test_the_hub_is_needed_only_when_there_are_several(db):
    only = HubFactory(name="Solo Hub")

    import_schools(SAMPLE)

    assert schools().filter(hub=only).count() == 64


# ---------------------------------------------------------------------- hostile values


def test_a_school_name_with_a_script_tag_is_stored_as_plain_text(hub, tmp_path):
    name = '<script>alert("x")</script> & Sons Primary'
    path = write(tmp_path, csv_bytes(school_row("100001", name=name)))

    _, stderr = import_schools(path)

    assert stderr == ""
    # Stored as the text the file holds; templates escape it when they show it.
    assert schools().get(urn="100001").name == name


def test_a_formula_like_value_is_stored_as_text(hub, tmp_path):
    path = write(tmp_path, csv_bytes(school_row("100001", name='=HYPERLINK("x")')))

    import_schools(path)

    assert schools().get(urn="100001").name == '=HYPERLINK("x")'


@pytest.mark.parametrize("rows_before", [1, 80], ids=["near-the-top", "after-4kb"])
def test_a_null_byte_in_a_row_is_reported_and_that_row_not_stored(hub, tmp_path, rows_before):
    good = [school_row(f"{100000 + n}") for n in range(1, rows_before + 1)]
    bad_line = rows_before + 2
    data = csv_bytes(
        *good,
        school_row("200000", name="Null\x00 School"),
        school_row("200001", name="After The Null"),
    )
    assert data.count(b"\x00") == 1
    path = write(tmp_path, data)

    stdout, stderr = import_schools(path)

    assert stderr.splitlines() == [
        f"Line {bad_line} (URN 200000): the row contains a null character."
    ]
    assert not schools().filter(urn="200000").exists()
    assert not any("\x00" in name for name in schools().values_list("name", flat=True))
    assert schools().get(urn="200001").name == "After The Null"
    assert schools().count() == rows_before + 1
    assert stdout.startswith(f"{rows_before + 1} created")


def test_a_one_megabyte_value_is_a_bad_row_and_later_rows_still_import(hub, tmp_path):
    path = write(
        tmp_path,
        csv_bytes(
            school_row("100001"),  # line 2
            school_row("100002", name="A" * 1_000_000),  # line 3
            school_row("100003", easting="east"),  # line 4
            school_row("100004"),  # line 5
        ),
    )

    stdout, stderr = import_schools(path)

    errors = stderr.splitlines()
    assert len(errors) == 2
    assert errors[0].startswith("Line 3: ")
    assert "larger than" in errors[0]
    assert len(errors[0]) < 200
    assert (
        errors[1] == "Line 4 (URN 100003): Easting must be a whole number of metres, not 'east'."
    )
    assert sorted(schools().values_list("urn", flat=True)) == ["100001", "100004"]
    assert "rows skipped: 2" in stdout


def test_a_long_value_below_the_csv_limit_is_a_clear_row_error(hub, tmp_path):
    path = write(
        tmp_path,
        csv_bytes(school_row("100001"), school_row("100002", name="B" * 100_000)),
    )

    _, stderr = import_schools(path)

    assert stderr.splitlines() == [
        "Line 3 (URN 100002): EstablishmentName is longer than 200 characters."
    ]
    assert schools().count() == 1


def test_a_stray_quote_that_swallows_later_lines_is_reported_not_stored(hub, tmp_path):
    rows = csv_bytes(school_row("100001"), school_row("100003"), school_row("100004"))
    header, first, third, fourth, _ = rows.split(b"\r\n")
    stray = first.replace(b"100001", b"100002").replace(b"School 100002", b'"Stray Quote')
    path = write(tmp_path, b"\r\n".join([header, first, stray, third, fourth, b""]))

    _, stderr = import_schools(path)

    # The rest of the file is inside the unclosed quote: the user is told where it starts.
    assert stderr.splitlines() == [
        "Line 3 (URN 100002): EstablishmentName runs over several lines: is a closing quote "
        "missing?"
    ]
    assert list(schools().values_list("urn", flat=True)) == ["100001"]


def test_a_school_in_another_hub_is_linked_to_its_own_hubs_trust(hub, other_hub, tmp_path):
    from trust.tests.factories import SchoolFactory, TrustFactory

    ours = TrustFactory(hub=hub, name="Shared Name Trust")
    theirs = TrustFactory(hub=other_hub, name="Shared Name Trust")
    SchoolFactory(hub=other_hub, urn="100001")
    path = write(
        tmp_path,
        csv_bytes(
            school_row("100001", trust="Shared Name Trust"),
            school_row("100002", trust="Shared Name Trust"),
        ),
    )

    import_schools(path, "--hub", hub.name)

    assert schools().get(urn="100001").parent_trust == theirs
    assert schools().get(urn="100002").parent_trust == ours


def test_two_hubs_with_the_same_name_must_be_chosen_by_id(hub, tmp_path):
    from django.core.management.base import CommandError

    from trust.tests.factories import HubFactory

    HubFactory(name=hub.name.upper())
    path = write(tmp_path, csv_bytes(school_row("100001")))
    with pytest.raises(CommandError, match="More than one hub"):
        import_schools(path, "--hub", hub.name)
    import_schools(path, "--hub", str(hub.pk))
    assert schools().get(urn="100001").hub == hub
