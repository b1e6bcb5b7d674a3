"""What counts as pupil data in free text: UPNs and dates of birth, not look-alikes."""

import pytest
from django import forms

from trust.pupil_data import PupilDataCheckMixin, find_pupil_data


def kinds(text):
    return [(f.kind, text[f.start : f.end]) for f in find_pupil_data(text)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("UPN A123456789012 is on track", [("upn", "A123456789012")]),
        ("upn:a123456789012.", [("upn", "a123456789012")]),
        ("(K987654321098)", [("upn", "K987654321098")]),
        ("Temporary UPN B12345678901C", [("upn", "B12345678901C")]),
        ("DOB 12/03/2015", [("dob", "DOB 12/03/2015")]),
        ("d.o.b. 12.03.2015", [("dob", "d.o.b. 12.03.2015")]),
        ("DOB: 1-3-15", [("dob", "DOB: 1-3-15")]),
        ("born 12 March 2015", [("dob", "born 12 March 2015")]),
        ("Born on the 3rd of Mar. 2015", [("dob", "Born on the 3rd of Mar. 2015")]),
        ("date of birth is 2015-03-12", [("dob", "date of birth is 2015-03-12")]),
        ("Birthday: March 12, 2015", [("dob", "Birthday: March 12, 2015")]),
        (
            "J (DOB 12/03/2015), UPN A123456789012",
            [("dob", "DOB 12/03/2015"), ("upn", "A123456789012")],
        ),
    ],
)
def test_upns_and_dates_of_birth_are_found(text, expected):
    assert kinds(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Invoice 123456789012 paid",  # 12 digits, no letter
        "Ref XA123456789012",  # a UPN glued to another letter
        "Ref A1234567890123",  # 13 digits
        "A12345678901",  # 11 digits
        "SKU-A123456789012X",  # glued to a letter after
        "code A123456789012345",
        "Meeting on 12/03/2015 with the head",  # a date, but not a date of birth
        "Next visit 2026-03-12; reviewed 12 March 2026",
        "stubborn 12/03/2015",  # "born" inside a word
        "Dobson 12/03/2015",  # "dob" inside a word
        "newborn lambs, March 12, 2015",
        "DOB 31/02/2015",  # not a calendar date
        "born 12/13/2015",
        "born 12/03/20155",  # longer number
        "born in 2015",  # no full date
        "She was born to teach. On 12/03/2015 the trust formed, and more words follow here.",
    ],
)
def test_look_alikes_are_not_pupil_data(text):
    assert find_pupil_data(text) == []


class NoteForm(PupilDataCheckMixin, forms.Form):
    note = forms.CharField(widget=forms.Textarea)
    count = forms.IntegerField(required=False)


def test_a_form_warns_on_the_field_and_saves_once_confirmed():
    form = NoteForm({"note": "Pupil A123456789012 read well"})
    assert not form.is_valid()
    assert form.errors.as_data()["note"][0].code == "pupil_data"
    assert "a unique pupil number (UPN)" in form.errors["note"][0]
    # The confirmation box appears only now.
    assert 'type="checkbox" name="not_pupil_data"' in str(form["not_pupil_data"])

    confirmed = NoteForm({"note": "Pupil A123456789012 read well", "not_pupil_data": "on"})
    assert confirmed.is_valid()
    assert confirmed.cleaned_data["note"] == "Pupil A123456789012 read well"


def test_a_form_without_pupil_data_keeps_the_confirmation_hidden():
    form = NoteForm({"note": "Observed three lessons"})
    assert form.is_valid()
    assert 'type="hidden"' in str(form["not_pupil_data"])
