from decimal import Decimal

from django import forms
from django.utils import timezone

from trust.pupil_data import PupilDataCheckMixin

from .models import NARRATIVE_MAX, ImpactReport, Judgement, SpendLine, ValueForMoney


def one_newline(text: str) -> str:
    """Browsers count a line break as one character against maxlength but send it as two
    (CR LF): store one, so the limit the page shows is the limit the server applies."""
    return text.replace("\r\n", "\n")


class NarrativeForm(PupilDataCheckMixin, forms.ModelForm):
    def __init__(self, data=None, *args, **kwargs):
        if data is not None:
            data = data.copy()
            for name in ImpactReport.SECTIONS:
                if isinstance(data.get(name), str):
                    data[name] = one_newline(data[name])
        super().__init__(data, *args, **kwargs)

    class Meta:
        model = ImpactReport
        fields = list(ImpactReport.SECTIONS)
        widgets = {
            name: forms.Textarea(attrs={"rows": 6, "maxlength": NARRATIVE_MAX})
            for name in ImpactReport.SECTIONS
        }


class ReviewForm(forms.Form):
    RETURN, APPROVE = "return", "approve"

    decision = forms.ChoiceField(
        choices=[(APPROVE, "Approve the report"), (RETURN, "Return it for changes")],
        widget=forms.RadioSelect,
    )
    impact = forms.ChoiceField(
        label="Judgement of impact",
        choices=[("", "Choose…"), *Judgement.choices],
        required=False,
        help_text="Needed to approve; the funder return and dashboards use it.",
    )
    value_for_money = forms.ChoiceField(
        label="Value for money", choices=[("", "Choose…"), *ValueForMoney.choices], required=False
    )
    comments = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5, "maxlength": NARRATIVE_MAX}),
        max_length=NARRATIVE_MAX,
        required=False,
        help_text="Needed to return a report: say what should change.",
    )

    def clean(self):
        cleaned = super().clean()
        decision = cleaned.get("decision")
        if decision == self.APPROVE:
            if not cleaned.get("impact"):
                self.add_error("impact", "Judge the impact to approve the report.")
            if not cleaned.get("value_for_money"):
                self.add_error("value_for_money", "Judge the value for money to approve.")
        if decision == self.RETURN and not cleaned.get("comments", "").strip():
            self.add_error("comments", "Say what needs to change, so the authors can act.")
        return cleaned


class SpendForm(forms.ModelForm):
    class Meta:
        model = SpendLine
        fields = ["allocation", "date", "amount", "description"]
        labels = {"allocation": "Funding stream"}
        widgets = {
            "date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "amount": forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.01"}),
        }

    def __init__(self, *args, commission, **kwargs):
        super().__init__(*args, **kwargs)
        allocations = commission.allocations.select_related("stream")
        self.fields["allocation"].queryset = allocations
        self.fields["allocation"].label_from_instance = lambda a: (
            f"{a.stream}{' (carry-forward)' if a.carry_forward else ''}: £{a.amount:,.2f}"
        )
        self.fields["allocation"].empty_label = None
        self.fields["amount"].min_value = Decimal("0.01")
        if not self.is_bound:
            self.initial.setdefault("date", timezone.localdate())
