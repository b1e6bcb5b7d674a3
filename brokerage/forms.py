"""Forms check the shape of input; the services enforce the rules."""

import datetime
import re
from decimal import Decimal

from django import forms
from django.forms.formsets import INITIAL_FORM_COUNT, TOTAL_FORM_COUNT, ManagementForm
from django.utils import timezone
from django.utils.functional import cached_property

from trust.models import Organisation, Specialism
from trust.pupil_data import PupilDataCheckMixin

from .models import FundingStream, NeedArea, ReportingDeadline, SupportRequest

DATE = {"type": "date"}
DAYS = {"inputmode": "decimal", "step": "0.5", "min": "0.5"}
MONEY = {"inputmode": "decimal", "step": "0.01", "min": "0"}


def _date_widget():
    return forms.DateInput(attrs=DATE, format="%Y-%m-%d")


class SupportRequestForm(PupilDataCheckMixin, forms.ModelForm):
    school = forms.ModelChoiceField(queryset=Organisation.objects.none(), empty_label=None)
    need_areas = forms.MultipleChoiceField(
        label="Areas of need",
        choices=NeedArea.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one area of need."},
    )
    subject = forms.ModelChoiceField(
        queryset=Specialism.objects.all(),
        required=False,
        empty_label="Not a subject need",
        help_text="When one of the needs is a subject: which one.",
    )

    class Meta:
        model = SupportRequest
        fields = [
            "school",
            "title",
            "need_areas",
            "subject",
            "context",
            "priority",
            "days_sought",
            "funding_sought",
            "desired_start",
        ]
        widgets = {
            "context": forms.Textarea(attrs={"rows": 6, "maxlength": 5000}),
            "days_sought": forms.NumberInput(attrs=DAYS),
            "funding_sought": forms.NumberInput(attrs=MONEY),
            "desired_start": _date_widget(),
        }
        labels = {"days_sought": "Days of support sought", "desired_start": "Start wanted by"}

    def __init__(self, *args, schools, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["school"].queryset = schools
        if self.instance.pk:
            del self.fields["school"]
        elif len(schools) == 1:
            self.fields["school"].initial = schools[0]
            self.fields["school"].widget = forms.HiddenInput()

    def clean_desired_start(self):
        day = self.cleaned_data["desired_start"]
        today = timezone.localdate()
        if day < today - datetime.timedelta(days=365) or day > today + datetime.timedelta(
            days=730
        ):
            raise forms.ValidationError("Choose a start date within the next two years.")
        return day

    def clean(self):
        cleaned = super().clean()
        needs = cleaned.get("need_areas") or []
        if NeedArea.SUBJECT in needs and not cleaned.get("subject"):
            self.add_error("subject", "Say which subject the support is for.")
        if NeedArea.SUBJECT not in needs:
            cleaned["subject"] = None
        return cleaned

    def service_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields if name != "school"}


class ReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 2000}),
        max_length=2000,
        required=False,
    )


class RequiredReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 2000}),
        max_length=2000,
        error_messages={"required": "Give a reason."},
    )


class ShortlistForm(forms.Form):
    leader = forms.IntegerField(
        widget=forms.HiddenInput,
        min_value=1,
        max_value=2**62,
        error_messages=dict.fromkeys(
            ("required", "invalid", "min_value", "max_value"),
            "Choose a system leader from the list.",
        ),
    )
    override_reason = forms.CharField(
        label="Reason for overriding the conflict",
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": 2000}),
        max_length=2000,
        required=False,
    )


class OfferForm(forms.Form):
    lead_organisation = forms.ModelChoiceField(
        queryset=Organisation.objects.none(), label="Lead organisation"
    )
    proposed_lead = forms.ModelChoiceField(
        queryset=None, label="Proposed Lead System Leader", empty_label=None
    )
    days = forms.DecimalField(
        label="Days of support",
        min_value=Decimal("0.5"),
        max_value=Decimal("200"),
        max_digits=5,
        decimal_places=1,
        widget=forms.NumberInput(attrs=DAYS),
    )
    start = forms.DateField(widget=_date_widget())
    end = forms.DateField(widget=_date_widget())
    message = forms.CharField(
        label="Message to the trust",
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": 5000}),
        max_length=5000,
        required=False,
    )

    def __init__(self, *args, organisations, leaders, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lead_organisation"].queryset = organisations
        self.fields["proposed_lead"].queryset = leaders
        self.fields["proposed_lead"].label_from_instance = lambda p: (
            f"{p.user.full_name} ({p.get_designation_display()})"
        )

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and end < start:
            self.add_error("end", "The end date is before the start date.")
        if start and end and (end - start).days > 3 * 366:
            self.add_error("end", "Support longer than three years cannot be offered at once.")
        return cleaned


class AcceptForm(forms.Form):
    lead = forms.ModelChoiceField(queryset=None, label="Lead System Leader", empty_label=None)
    lead_days = forms.DecimalField(
        label="Lead System Leader's days",
        min_value=Decimal("0.5"),
        max_value=Decimal("200"),
        max_digits=5,
        decimal_places=1,
        widget=forms.NumberInput(attrs=DAYS),
    )
    lead_release_agreed = forms.BooleanField(
        label="Their home headteacher has agreed their release", required=False
    )

    def __init__(self, *args, leaders, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lead"].queryset = leaders
        self.fields["lead"].label_from_instance = _leader_label


def _leader_label(profile):
    return f"{profile.user.full_name} ({profile.get_designation_display()})"


class SupportingLeaderForm(forms.Form):
    leader = forms.ModelChoiceField(
        queryset=None, required=False, label="Supporting leader", empty_label="—"
    )
    days = forms.DecimalField(
        min_value=Decimal("0.5"),
        max_value=Decimal("200"),
        max_digits=5,
        decimal_places=1,
        required=False,
        widget=forms.NumberInput(attrs=DAYS),
    )
    release_agreed = forms.BooleanField(
        label="Home headteacher has agreed release", required=False
    )

    def __init__(self, *args, leaders, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["leader"].queryset = leaders
        self.fields["leader"].label_from_instance = _leader_label

    def clean(self):
        cleaned = super().clean()
        # A field already refused has its own message; do not add "give the ..." to it.
        if cleaned.get("leader") and not cleaned.get("days") and not self.has_error("days"):
            self.add_error("days", "Give this leader's days.")
        if cleaned.get("days") and not cleaned.get("leader") and not self.has_error("leader"):
            self.add_error("leader", "Choose the leader these days are for.")
        return cleaned


class KeepRowsFormSet(forms.BaseFormSet):
    """Rows counted by what was posted when the posted count (TOTAL_FORMS) cannot be right:
    missing, not a whole number, negative, beyond the limit, or fewer than the rows sent.
    The formset is then refused with a message and every row is shown again as typed, with
    a count that works when the page is sent again (Django would drop the rows, or show
    the broken count again)."""

    ROWS_REFUSED = "The rows could not be read as sent. Check them and save again."

    @cached_property
    def management_form(self):
        form = super().management_form
        problem = self._count_problem(form) if self.is_bound else None
        if problem:
            form = ManagementForm(
                {
                    form.add_prefix(TOTAL_FORM_COUNT): str(self._posted_rows()),
                    form.add_prefix(INITIAL_FORM_COUNT): "0",
                },
                auto_id=self.auto_id,
                prefix=self.prefix,
                renderer=self.renderer,
            )
            form.full_clean()
            form.rows_refused = problem
        return form

    def _posted_rows(self) -> int:
        row = re.compile(rf"^{re.escape(self.prefix)}-(\d{{1,3}})-")
        indices = [int(m[1]) for key in self.data if (m := row.match(key))]
        return min(max(indices, default=-1) + 1, self.absolute_max)

    def _count_problem(self, form) -> str | None:
        if not form.is_valid():
            return self.error_messages["missing_management_form"] % {
                "field_names": ", ".join(form.add_prefix(name) for name in form.errors)
            }
        total, initial = form.cleaned_data[TOTAL_FORM_COUNT], form.cleaned_data[INITIAL_FORM_COUNT]
        if total > self.absolute_max:
            return self.error_messages["too_many_forms"] % {"num": self.max_num}
        if not 0 <= initial <= total or total < self._posted_rows():
            return self.ROWS_REFUSED
        return None

    def clean(self):
        super().clean()
        problem = getattr(self.management_form, "rows_refused", None)
        if problem:
            raise forms.ValidationError(problem)


# validate_max and absolute_max: a tampered TOTAL_FORMS gets a message, not hundreds of forms.
SupportingFormSet = forms.formset_factory(
    SupportingLeaderForm,
    formset=KeepRowsFormSet,
    extra=3,
    max_num=6,
    absolute_max=6,
    validate_max=True,
)


class AllocationForm(forms.Form):
    stream = forms.ModelChoiceField(queryset=None, required=False, empty_label="—")
    amount = forms.DecimalField(
        label="Amount (£)",
        min_value=Decimal("0.01"),
        max_value=Decimal("10000000"),
        max_digits=12,
        decimal_places=2,
        required=False,
        widget=forms.NumberInput(attrs=MONEY),
    )

    def __init__(self, *args, streams, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stream"].queryset = streams

    def clean(self):
        cleaned = super().clean()
        if (
            cleaned.get("stream")
            and cleaned.get("amount") is None
            and not self.has_error("amount")
        ):
            self.add_error("amount", "Give the amount from this stream.")
        if (
            cleaned.get("amount") is not None
            and not cleaned.get("stream")
            and not self.has_error("stream")
        ):
            self.add_error("stream", "Choose the stream this money comes from.")
        return cleaned


AllocationFormSet = forms.formset_factory(
    AllocationForm,
    formset=KeepRowsFormSet,
    extra=2,
    max_num=10,
    absolute_max=10,
    validate_max=True,
)


class DeadlineForm(forms.Form):
    kind = forms.ChoiceField(choices=[("", "—"), *ReportingDeadline.Kind.choices], required=False)
    due = forms.DateField(required=False, widget=_date_widget())

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("kind") and not cleaned.get("due") and not self.has_error("due"):
            self.add_error("due", "Give the date the report is due.")
        if cleaned.get("due") and not cleaned.get("kind") and not self.has_error("kind"):
            self.add_error("kind", "Say which report is due.")
        return cleaned


DeadlineFormSet = forms.formset_factory(
    DeadlineForm, formset=KeepRowsFormSet, extra=1, max_num=12, absolute_max=12, validate_max=True
)


class GrantConditionsForm(forms.Form):
    grant_conditions = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5, "maxlength": 10000}),
        max_length=10000,
        required=False,
    )


class FundingStreamForm(forms.ModelForm):
    # The model's notes have no limit; a form that takes a megabyte of notes should not.
    notes = forms.CharField(
        required=False,
        max_length=5000,
        help_text="Conditions of the grant, contacts.",
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 5000}),
    )

    class Meta:
        model = FundingStream
        fields = ["funder", "name", "academic_year", "total_budget", "notes"]
        widgets = {
            "total_budget": forms.NumberInput(attrs=MONEY),
            "academic_year": forms.TextInput(attrs={"placeholder": "2020-21"}),
        }

    def __init__(self, *args, funders, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["funder"].queryset = funders
