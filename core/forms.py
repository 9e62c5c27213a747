"""The form every desk action shares (a reason, required and trimmed, for the history row) and a
person's preferences."""

from django import forms
from timezone_field import TimeZoneFormField


class ActionForm(forms.Form):
    reason = forms.CharField(max_length=500)

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("A reason is required.")
        return reason


class PreferencesForm(forms.Form):
    """The zone a person reads times in, from every IANA zone, listed by today's UTC offset."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Built per form, not once at import: the offsets shown move with daylight saving time.
        self.fields["time_zone"] = TimeZoneFormField(
            label="Time zone",
            choices_display="WITH_GMT_OFFSET",
            help_text="Pages and CSV exports show times in this zone.",
            error_messages={
                "required": "Choose a time zone.",
                "invalid_choice": "“%(value)s” is not a time zone o2c knows; "
                "choose one from the list.",
            },
        )
