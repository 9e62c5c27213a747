"""Forms for the finance desk: queue filters, the reason every action needs, bulk approval, and
credit memo quantities."""

from django import forms

from core.forms import ActionForm

from .models import CreditReason, Invoice, InvoiceState
from .selectors import SORTS


class InvoiceFilterForm(forms.Form):
    customer = forms.CharField(
        required=False,
        widget=forms.SearchInput(attrs={"placeholder": "Customer or invoice number"}),
    )
    state = forms.ChoiceField(required=False, choices=[("", "Any state"), *InvoiceState.choices])
    tier = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "Any tier"), *[(t.value, t.label) for t in Invoice.Tier if t]],
    )
    awaiting_second = forms.BooleanField(required=False, label="Awaiting second approval")
    min_total = forms.DecimalField(required=False, min_value=0, label="Total from")
    max_total = forms.DecimalField(required=False, min_value=0, label="Total to")
    created_from = forms.DateField(
        required=False, label="Created from", widget=forms.DateInput(attrs={"type": "date"})
    )
    created_to = forms.DateField(
        required=False, label="Created to", widget=forms.DateInput(attrs={"type": "date"})
    )
    sort = forms.ChoiceField(required=False, choices=[(key, key.title()) for key in SORTS])

    def clean(self):
        data = super().clean()
        low, high = data.get("min_total"), data.get("max_total")
        if low is not None and high is not None and low > high:
            raise forms.ValidationError("“Total from” must not exceed “Total to”.")
        return data


class VoidForm(ActionForm):
    confirm = forms.BooleanField(required=False, label="Yes, void this invoice")


class BulkApproveForm(ActionForm):
    invoices = forms.TypedMultipleChoiceField(coerce=int, choices=[])
    # The approval is previewed first (which invoices act, which are refused, the total): only
    # the preview's "Confirm" sends this.
    confirm = forms.BooleanField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Any id is accepted here; the service decides, per row, what this user may do.
        self.fields["invoices"].valid_value = lambda value: str(value).isdigit()
        self.fields["invoices"].error_messages["required"] = "Select at least one invoice."


class CreditMemoForm(ActionForm):
    """One optional quantity field per invoice line (``line_<id>``), plus the reason."""

    reason_code = forms.ChoiceField(
        choices=[(c.value, c.label) for c in CreditReason if c != CreditReason.RETURN],
        initial=CreditReason.BILLING_ERROR,
        required=False,  # a post without it (the API, older pages) books a billing error
        label="Reason code",
    )

    def __init__(self, *args, lines=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.line_fields = []
        for line in lines:
            name = f"line_{line.pk}"
            self.fields[name] = forms.DecimalField(
                required=False,
                min_value=0,
                max_digits=14,
                decimal_places=3,
                label=f"Line {line.line_number} quantity to credit",
            )
            self.line_fields.append((line, self[name]))

    def quantities(self) -> dict[int, object]:
        return {
            int(name[5:]): value
            for name, value in self.cleaned_data.items()
            if name.startswith("line_") and value
        }
