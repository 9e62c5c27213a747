"""The form every desk action shares (a reason, required and trimmed, for the history row), a
person's preferences (time zone, and how each kind of notice reaches them), and a saved view of a
list."""

from django import forms
from timezone_field import TimeZoneFormField

from .models import NoticeKind, NoticeMode


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


class SavedViewForm(forms.Form):
    """A list's filters saved under a name (the form on each savable list page). The name and the
    role are checked by ``core.saved_views.saved_view_save``, which says what is wrong."""

    name = forms.CharField(max_length=60, required=False, label="Name")
    path = forms.CharField(max_length=200, widget=forms.HiddenInput)
    query = forms.CharField(max_length=2000, required=False, widget=forms.HiddenInput)
    shared_role = forms.CharField(max_length=24, required=False, label="Share with")
    is_default = forms.BooleanField(required=False, label="Open this list with it")


class NoticePreferencesForm(forms.Form):
    """One choice per kind of notice: email at once, a daily digest, in the app only, or off."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for kind in NoticeKind:
            self.fields[kind.value] = forms.ChoiceField(
                label=kind.label,
                choices=NoticeMode.choices,
                error_messages={
                    "required": f"Choose how “{kind.label}” should reach you.",
                    "invalid_choice": "“%(value)s” is not a way notices can reach you; choose "
                    "one from the list.",
                },
            )
