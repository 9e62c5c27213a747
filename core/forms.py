"""The form every desk action shares: a reason, required and trimmed, for the history row."""

from django import forms


class ActionForm(forms.Form):
    reason = forms.CharField(max_length=500)

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("A reason is required.")
        return reason
