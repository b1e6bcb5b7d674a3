from django import forms
from django.contrib.auth.forms import AuthenticationForm


class EmailAuthenticationForm(AuthenticationForm):
    """Sign-in by email address, with the keyboard and autofill a phone expects."""

    username = forms.EmailField(
        label="Email address",
        max_length=254,
        widget=forms.EmailInput(
            attrs={"autofocus": True, "autocomplete": "email", "inputmode": "email"}
        ),
    )
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That email address and password do not match an account. "
        "Check both and try again.",
    }


class SchoolImportForm(forms.Form):
    MAX_BYTES = 100 * 1024 * 1024  # the whole national file is about 60 MB

    hub = forms.ModelChoiceField(queryset=None, empty_label=None)
    file = forms.FileField(
        label="Establishment CSV file",
        help_text="The CSV you download from Get Information about Schools, in UTF-8 or "
        "Windows-1252. Schools are matched on URN, so importing a file again only applies "
        "changes.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def __init__(self, *args, hubs, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["hub"].queryset = hubs
        self.only_hub = hubs[0] if len(hubs) == 1 else None
        if self.only_hub:
            del self.fields["hub"]

    def clean(self):
        cleaned = super().clean()
        if self.only_hub:
            cleaned["hub"] = self.only_hub
        return cleaned

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith(".csv"):
            raise forms.ValidationError(
                "Choose a .csv file. If you have an Excel workbook, save it as CSV first."
            )
        if upload.size == 0:
            raise forms.ValidationError("That file is empty. Choose the downloaded CSV file.")
        if upload.size > self.MAX_BYTES:
            raise forms.ValidationError(
                f"That file is {upload.size // (1024 * 1024)} MB; the limit is "
                f"{self.MAX_BYTES // (1024 * 1024)} MB. Download the file for your area only."
            )
        return upload
