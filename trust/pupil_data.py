"""Spotting pupil data in free text before it is saved.

The service records adults' work with schools; it has no lawful need for pupils' personal
data, and a school's data protection officer expects none in it. People still paste it by
habit ("J. Smith, UPN A123456789012, DOB 12/03/2015, is now on track"). This module finds
the two identifiers that are unmistakably about a pupil:

* a unique pupil number (UPN): a letter followed by 12 digits (the DfE format, e.g.
  A123456789012), or the temporary form, a letter, 11 digits and a letter; as a whole
  word, so longer runs of digits and codes glued to other letters do not count;
* a date of birth: a real calendar date (12/03/2015, 12-3-15, 12.03.2015, 2015-03-12,
  12 March 2015, 12th Mar 2015, March 12, 2015) written within a few words after "DOB",
  "D.O.B.", "date of birth", "born" or "birthday". A date alone (a meeting on 12/03/2015)
  is not a date of birth.

Forms warn rather than refuse (``PupilDataCheckMixin``): the person sees what was found
and either removes it or ticks "this is not pupil data" and saves. A hard block would lose
a Record of Visit written on a phone over an order number that happens to look like a
UPN, and people would then learn to mangle dates to get past it; a warning that names
the problem teaches the habit the DPO wants without that cost.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from django import forms

# A letter, then 12 digits (or 11 digits and a letter), standing alone as a word.
UPN_RE = re.compile(r"(?<![A-Za-z0-9])[A-Za-z](?:\d{12}|\d{11}[A-Za-z])(?![A-Za-z0-9])")

MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_MONTH = r"(?P<{}>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_NUMERIC = r"(?P<d1>\d{1,2})[/.\-](?P<m1>\d{1,2})[/.\-](?P<y1>\d{4}|\d{2})"
_ISO = r"(?P<y2>\d{4})-(?P<m2>\d{1,2})-(?P<d2>\d{1,2})"
_DAY_MONTH = (
    r"(?P<d3>\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?" + _MONTH.format("m3") + r",?\s+(?P<y3>\d{4})"
)
_MONTH_DAY = _MONTH.format("m4") + r"\s+(?P<d4>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y4>\d{4})"
DATE = rf"(?:{_ISO}|{_NUMERIC}|{_DAY_MONTH}|{_MONTH_DAY})"
# The cue, then at most three short words (": ", "is", "on the") before the date.
DOB_RE = re.compile(
    r"(?<![A-Za-z])(?:d\.?\s?o\.?\s?b\.?|date\s+of\s+birth|born|birthday|birth\s+date)"
    r"(?![A-Za-z])[\s:,.\-]*(?:[A-Za-z]{1,4}[\s:,]+){0,3}" + DATE + r"(?!\d)(?![/.\-]\d)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Finding:
    kind: str  # "upn" or "dob"
    start: int
    end: int

    @property
    def label(self) -> str:
        return "a unique pupil number (UPN)" if self.kind == "upn" else "a date of birth"


def _year(text: str) -> int:
    year = int(text)
    if len(text) == 2:
        year += 2000 if year <= datetime.date.today().year % 100 else 1900
    return year


def _real_date(match: re.Match) -> bool:
    g = match.groupdict()
    for n in "1234":
        d, m, y = f"d{n}", f"m{n}", f"y{n}"
        if g[d] is None:
            continue
        month = g[m]
        month = MONTHS[month.lower().rstrip(".")] if not month.isdigit() else int(month)
        try:
            datetime.date(_year(g[y]), month, int(g[d]))
        except ValueError:
            return False
        return True
    return False


def find_pupil_data(text: str) -> list[Finding]:
    """Where ``text`` holds a UPN or a date of birth, in order."""
    if not text:
        return []
    found = [Finding("upn", m.start(), m.end()) for m in UPN_RE.finditer(text)]
    found += [Finding("dob", m.start(), m.end()) for m in DOB_RE.finditer(text) if _real_date(m)]
    return sorted(found, key=lambda f: f.start)


CONFIRM_FIELD = "not_pupil_data"


class PupilDataCheckMixin:
    """Warns, on each field, when free text looks like pupil data; the form saves once the
    person ticks "This is not pupil data" (which appears only after a warning).

    Checks the fields named in ``pupil_data_fields``, or by default every text field.
    """

    pupil_data_fields: tuple[str, ...] | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.pupil_data_warned = False
        self.fields[CONFIRM_FIELD] = forms.BooleanField(
            label="This is not pupil data: save it as it is",
            required=False,
            widget=forms.HiddenInput,
        )

    def _pupil_data_field_names(self) -> list[str]:
        if self.pupil_data_fields is not None:
            return [name for name in self.pupil_data_fields if name in self.fields]
        return [
            name
            for name, field in self.fields.items()
            if isinstance(field, forms.CharField)
            and not isinstance(field.widget, forms.HiddenInput)
        ]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get(CONFIRM_FIELD):
            return cleaned
        for name in self._pupil_data_field_names():
            value = cleaned.get(name)
            findings = find_pupil_data(value) if isinstance(value, str) else []
            if findings:
                kinds = " and ".join(dict.fromkeys(f.label for f in findings))
                self.add_error(
                    name,
                    forms.ValidationError(
                        "This looks like pupil data: %(kinds)s. Take it out (the service "
                        "should hold no pupil's personal data), or tick “This is not pupil "
                        "data” and save again.",
                        code="pupil_data",
                        params={"kinds": kinds},
                    ),
                )
                self.pupil_data_warned = True
        if self.pupil_data_warned:
            self.fields[CONFIRM_FIELD].widget = forms.CheckboxInput()
        return cleaned
