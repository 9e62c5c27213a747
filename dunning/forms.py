"""Forms of the collections desk: the worklist's filters, promises, contacts and finished tasks."""

from decimal import Decimal

from django import forms

from .models import ContactLog, Standing


class WorklistFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=100, label="Customer")
    standing = forms.ChoiceField(choices=[("", "Any standing"), *Standing.choices], required=False)
    tasks = forms.BooleanField(required=False, label="With an open task")


class PromiseForm(forms.Form):
    amount = forms.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    currency = forms.CharField(
        max_length=3,
        min_length=3,
        initial="USD",
        widget=forms.TextInput(attrs={"aria-label": "Currency", "size": 3}),
    )
    promised_for = forms.DateField(label="By", widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(max_length=1000, required=False)

    def clean_currency(self) -> str:
        return self.cleaned_data["currency"].upper()


class ContactForm(forms.Form):
    channel = forms.ChoiceField(
        choices=[c for c in ContactLog.Channel.choices if c[0] != ContactLog.Channel.REMINDER]
    )
    summary = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class TaskDoneForm(forms.Form):
    note = forms.CharField(max_length=1000, label="What was done")


def errors_of(form: forms.Form) -> str:
    """The form's errors in one line, each named by its field's label."""
    parts = []
    for name, errors in form.errors.items():
        field = form.fields.get(name)
        label = (field.label or name.replace("_", " ").capitalize()) if field else ""
        parts.append(f"{label}: {' '.join(errors)}" if label else " ".join(errors))
    return " ".join(parts)
