"""Forms for the queues: filters, the reason every action needs, and notes and files."""

from django import forms

from core.forms import ActionForm
from orders.models import Customer

from .selectors import SORTS


class QueueFilterForm(forms.Form):
    reason = forms.CharField(required=False, label="Reason code")
    customer = forms.CharField(
        required=False, widget=forms.SearchInput(attrs={"placeholder": "Customer"})
    )
    territory = forms.CharField(required=False)
    mine = forms.BooleanField(required=False, label="Claimed by me")
    unclaimed = forms.BooleanField(required=False)
    overdue = forms.BooleanField(required=False)
    due_soon = forms.BooleanField(required=False, label="Due within 4 h")
    # "new since my last visit" from the home page: holds raised after this moment
    since = forms.DateTimeField(required=False, widget=forms.HiddenInput)
    min_value = forms.DecimalField(required=False, min_value=0, label="Value from")
    max_value = forms.DecimalField(required=False, min_value=0, label="Value to")
    sort = forms.ChoiceField(
        required=False, choices=[(key, key.title()) for key in SORTS], initial="priority"
    )

    def clean(self):
        data = super().clean()
        low, high = data.get("min_value"), data.get("max_value")
        if low is not None and high is not None and low > high:
            raise forms.ValidationError("“Value from” must not exceed “Value to”.")
        return data


class ReleaseForm(ActionForm):
    confirm_exposure = forms.BooleanField(
        required=False, label="Release for today's exposure (above the snapshot)"
    )


class RejectForm(ActionForm):
    confirm_cancel = forms.BooleanField(required=False, label="Yes, cancel the order")


class BulkForm(ActionForm):
    ACTIONS = [("claim", "Claim"), ("release", "Release")]
    action = forms.ChoiceField(choices=ACTIONS)
    holds = forms.TypedMultipleChoiceField(coerce=int, choices=[])
    # A release is previewed first (which rows act, which are refused, the value): only the
    # preview's "Confirm" sends this.
    confirm = forms.BooleanField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Any id is accepted here; the services decide, per row, what this user may do.
        self.fields["holds"].valid_value = lambda value: str(value).isdigit()
        self.fields["reason"].required = False

    def clean_reason(self) -> str:
        return self.cleaned_data[
            "reason"
        ].strip()  # optional for claims; clean() asks for it to release

    def clean(self):
        data = super().clean()
        if data.get("action") == "release" and not data.get("reason"):
            self.add_error("reason", "A reason is required to release.")
        return data


class MasterDataForm(ActionForm):
    payment_terms = forms.ChoiceField(
        required=False, choices=[("", "—"), *Customer.PaymentTerms.choices]
    )
    tax_region = forms.CharField(required=False, max_length=16)
    ship_to = forms.IntegerField(required=False, min_value=1)


class SubstituteForm(ActionForm):
    sku = forms.CharField(max_length=64, label="Substitute SKU")


class ReassignForm(ActionForm):
    to_user = forms.IntegerField(min_value=1)


class NoteForm(forms.Form):
    # emptiness and length are the service's to refuse, with its own words
    text = forms.CharField(required=False, label="Note", widget=forms.Textarea)


class AttachForm(forms.Form):
    file = forms.FileField(label="File", error_messages={"required": "Choose a file to attach."})
