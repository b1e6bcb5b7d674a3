"""Forms for the field: the Record of Visit is built for a thumb on a phone."""

import uuid
from decimal import Decimal

from django import forms
from django.conf import settings
from django.utils import timezone

from trust.pupil_data import PupilDataCheckMixin

from .models import RAG, ActionPlan, Objective, Visit
from .services import VisitInput

MAX_SUMMARY = 20_000


def duration_choices():
    day = Decimal(settings.HOURS_PER_DAY)
    half = (day / 2).quantize(Decimal("0.01"))
    return [
        ("1", "1 hour"),
        ("2", "2 hours"),
        ("3", "3 hours"),
        (f"{half.normalize():f}", f"Half day ({half.normalize():f} h)"),
        (f"{day.normalize():f}", f"Full day ({day.normalize():f} h)"),
    ]


class ObjectivesField(forms.ModelMultipleChoiceField):
    """Ids too big for a database integer are refused as choices that do not exist, before
    they reach the query (SQLite cannot bind them in an IN list)."""

    def _check_values(self, value):
        if isinstance(value, list | tuple):
            for pk in value:
                text = str(pk).strip()
                if text.lstrip("-").isdigit() and (len(text) > 19 or abs(int(text)) >= 2**63):
                    raise forms.ValidationError(
                        self.error_messages["invalid_choice"],
                        code="invalid_choice",
                        params={"value": text[:30]},
                    )
        return super()._check_values(value)


class VisitForm(PupilDataCheckMixin, forms.Form):
    key = forms.UUIDField(widget=forms.HiddenInput)
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    mode = forms.ChoiceField(choices=Visit.Mode.choices, widget=forms.RadioSelect)
    duration = forms.ChoiceField(label="How long", widget=forms.RadioSelect, required=False)
    duration_other = forms.DecimalField(
        label="Or hours",
        required=False,
        min_value=Decimal("0.25"),
        max_value=Decimal("12"),
        max_digits=4,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.25"}),
    )
    objectives = ObjectivesField(
        label="Objectives covered",
        queryset=Objective.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    summary = forms.CharField(
        label="What happened",
        max_length=MAX_SUMMARY,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    next_steps = forms.CharField(
        label="Next steps", max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )
    people_met = forms.CharField(label="People met", max_length=500, required=False)
    safeguarding_concern = forms.BooleanField(
        label="I have a safeguarding concern to raise with the hub",
        required=False,
        help_text="The hub coordinator is emailed. Only the hub and the Lead System Leader "
        "see this record.",
    )

    def __init__(self, *args, objectives, **kwargs):
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("date", timezone.localdate())
        kwargs["initial"].setdefault("mode", Visit.Mode.IN_PERSON)
        kwargs["initial"].setdefault("key", uuid.uuid4())
        super().__init__(*args, **kwargs)
        self.fields["duration"].choices = duration_choices()
        self.fields["objectives"].queryset = objectives
        self.fields["objectives"].required = bool(objectives)
        self.objective_list = list(objectives)
        for objective in self.objective_list:
            self.fields[f"note_{objective.pk}"] = forms.CharField(
                label=f"Progress on “{objective.title}”",
                max_length=2000,
                required=False,
                widget=forms.Textarea(attrs={"rows": 2}),
            )
            self.fields[f"rag_{objective.pk}"] = forms.ChoiceField(
                label="RAG now",
                choices=[("", "No change"), *RAG.choices],
                required=False,
            )

    def clean_summary(self):
        return self.cleaned_data["summary"].replace("\x00", "")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("duration_other"):
            cleaned["duration_hours"] = cleaned["duration_other"]
        elif cleaned.get("duration"):
            cleaned["duration_hours"] = Decimal(cleaned["duration"])
        elif not self.has_error("duration_other"):
            self.add_error("duration", "Choose how long the visit took.")
        return cleaned

    def progress_fields(self):
        return [(o, self[f"note_{o.pk}"], self[f"rag_{o.pk}"]) for o in self.objective_list]

    def visit_input(self) -> VisitInput:
        c = self.cleaned_data
        return VisitInput(
            date=c["date"],
            mode=c["mode"],
            duration_hours=c["duration_hours"],
            objective_ids=tuple(o.pk for o in c["objectives"]),
            summary=c["summary"],
            next_steps=c["next_steps"],
            people_met=c["people_met"],
            safeguarding_concern=c["safeguarding_concern"],
            progress=tuple(
                (o.pk, c.get(f"note_{o.pk}", ""), c.get(f"rag_{o.pk}", ""))
                for o in self.objective_list
                if c.get(f"note_{o.pk}") or c.get(f"rag_{o.pk}")
            ),
        )


class ResponseForm(forms.Form):
    agreed = forms.TypedChoiceField(
        label="Is this record accurate?",
        choices=[("yes", "Yes, it is accurate"), ("no", "No, something is not right")],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label="What is not right",
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class PlanVisitForm(forms.Form):
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    mode = forms.ChoiceField(choices=Visit.Mode.choices)


class PlanForm(forms.ModelForm):
    class Meta:
        model = ActionPlan
        fields = ["scope", "scope_name"]


class ObjectiveForm(PupilDataCheckMixin, forms.ModelForm):
    class Meta:
        model = Objective
        fields = ["title", "success_criteria", "baseline", "target", "owner", "due", "rag"]
        widgets = {
            "success_criteria": forms.Textarea(attrs={"rows": 3}),
            "baseline": forms.Textarea(attrs={"rows": 2}),
            "target": forms.Textarea(attrs={"rows": 2}),
            "due": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }


class VisitFilterForm(forms.Form):
    mode = forms.ChoiceField(choices=[("", "Any"), *Visit.Mode.choices], required=False)
    since = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    objective = forms.ModelChoiceField(
        queryset=Objective.objects.none(), required=False, empty_label="Any"
    )

    def __init__(self, *args, objectives, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["objective"].queryset = objectives

    def filter(self, visits):
        if not self.is_valid():
            return visits
        c = self.cleaned_data
        if c.get("mode"):
            visits = visits.filter(mode=c["mode"])
        if c.get("since"):
            visits = visits.filter(date__gte=c["since"])
        if c.get("objective"):
            visits = visits.filter(progress__objective=c["objective"])
        return visits
