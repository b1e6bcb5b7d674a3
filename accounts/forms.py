from django import forms
from django.utils import timezone


class CodeForm(forms.Form):
    """A six-digit code from an authenticator app, checked against the given devices."""

    code = forms.CharField(
        label="6-digit code",
        max_length=12,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "autofocus": True,
                "class": "form-control-lg",
            }
        ),
    )

    def __init__(self, *args, devices, **kwargs):
        super().__init__(*args, **kwargs)
        self.devices = list(devices)
        self.device = None

    def clean_code(self):
        code = "".join(self.cleaned_data["code"].split())
        if not code.isdigit() or len(code) != 6:
            raise forms.ValidationError("Enter the 6 digits your authenticator app shows.")
        for device in self.devices:
            allowed, details = device.verify_is_allowed()
            if not allowed:
                wait = (details or {}).get("locked_until")
                seconds = max(1, int((wait - timezone.now()).total_seconds())) if wait else 1
                raise forms.ValidationError(
                    f"Too many wrong codes. Wait {seconds} seconds, then try the newest code."
                )
            if device.verify_token(code):
                self.device = device
                return code
        raise forms.ValidationError(
            "That code is not right. Codes change every 30 seconds: enter the one showing now."
        )
