"""Forms of the cash application desk: queue filters, and the input of each action on a payment
(accept, split, on account, refund), a reversal and a write-off. Invoice and customer numbers are
looked up here, so an unknown one is refused naming the line before any service runs."""

from decimal import Decimal

from django import forms

from core.forms import ActionForm
from orders.models.master import MONEY

from .models import PaymentState
from .queue import SORTS, customer_by_number, invoice_number, invoices_by_number
from .services import Allocation

_MONEY = {
    "max_digits": MONEY["max_digits"],
    "decimal_places": MONEY["decimal_places"],
    "min_value": Decimal("0.01"),
}
#: Lines of the split form (a payment covering more invoices is split twice, or on the ERP).
SPLIT_LINES = 6


class PaymentFilterForm(forms.Form):
    q = forms.CharField(
        required=False,
        max_length=100,
        label="Search",
        widget=forms.SearchInput(
            attrs={"placeholder": "Payer, amount, bank reference or invoice number"}
        ),
    )
    state = forms.ChoiceField(
        required=False,
        label="Showing",
        choices=[
            ("", "All waiting"),
            (PaymentState.SUGGESTED, "Suggested"),
            (PaymentState.AMBIGUOUS, "Ambiguous"),
            (PaymentState.UNMATCHED, "Unmatched"),
        ],
    )
    sort = forms.ChoiceField(
        required=False, choices=[(key, key.title()) for key in SORTS], initial="newest"
    )


class AcceptForm(forms.Form):
    candidate = forms.IntegerField(min_value=0, max_value=99)

    def service_kwargs(self) -> dict:
        return {"candidate": self.cleaned_data["candidate"]}


class _CustomerField:
    """Resolves ``customer`` (a customer number) to ``customer_id`` in clean()."""

    def _customer_id(self, data: dict, *, required: bool) -> int | None:
        number = (data.get("customer") or "").strip()
        if not number:
            if required:
                self.add_error("customer", "Enter the customer's number.")
            return None
        customer = customer_by_number(user=self.user, number=number)
        if customer is None:
            self.add_error("customer", f"No customer numbered “{number}”.")
            return None
        return customer.pk


class SplitForm(_CustomerField, forms.Form):
    """Invoice numbers and amounts, one per line, and the customer whose account holds what is
    left (defaults to the first invoice's customer)."""

    customer = forms.CharField(required=False, max_length=32, label="Customer for the rest")
    note = forms.CharField(required=False, max_length=500, label="Note")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        for n in range(1, SPLIT_LINES + 1):
            self.fields[f"invoice_{n}"] = forms.CharField(
                required=False, max_length=40, label=f"Invoice {n}"
            )
            self.fields[f"amount_{n}"] = forms.DecimalField(
                required=False, label=f"Amount {n}", **_MONEY
            )

    def clean(self):
        data = super().clean()
        lines = []
        for n in range(1, SPLIT_LINES + 1):
            number = (data.get(f"invoice_{n}") or "").strip()
            amount = data.get(f"amount_{n}")
            if f"amount_{n}" in self.errors:  # name the line, as every other message does
                self.errors[f"amount_{n}"] = self.error_class(
                    [f"Line {n}: {error}" for error in self.errors[f"amount_{n}"]]
                )
                continue
            if number and amount is None:
                self.add_error(f"amount_{n}", f"Line {n}: enter the amount for {number}.")
            elif amount is not None and not number:
                self.add_error(f"invoice_{n}", f"Line {n}: enter the invoice number.")
            elif number:
                lines.append((n, number, amount))
        if not lines and not self.errors:
            raise forms.ValidationError("Enter at least one invoice number and amount.")
        found = invoices_by_number(user=self.user, numbers=[number for _, number, _ in lines])
        self.allocations = []
        for n, number, amount in lines:
            invoice = found.get(invoice_number(number))
            if invoice is None:
                self.add_error(f"invoice_{n}", f"Line {n}: no invoice numbered “{number}”.")
                continue
            self.allocations.append(Allocation(invoice_id=invoice.pk, amount=amount))
        self.customer_id = self._customer_id(data, required=False)
        return data

    def service_kwargs(self) -> dict:
        return {
            "allocations": self.allocations,
            "customer_id": self.customer_id,
            "note": self.cleaned_data["note"].strip(),
        }


class OnAccountForm(_CustomerField, ActionForm):
    customer = forms.CharField(max_length=32, label="Customer")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean(self):
        data = super().clean()
        self.customer_id = self._customer_id(data, required=True)
        return data

    def service_kwargs(self) -> dict:
        return {"customer_id": self.customer_id, "reason": self.cleaned_data["reason"]}


class ConfirmedForm(ActionForm):
    """A reason and a ticked box: for what sends money away or takes it back."""

    confirm = forms.BooleanField(
        error_messages={"required": "Tick the box to confirm; nothing was changed."}
    )

    def service_kwargs(self) -> dict:
        return {"reason": self.cleaned_data["reason"]}


class WriteOffForm(ActionForm):
    invoice = forms.CharField(max_length=40, label="Invoice")
    amount = forms.DecimalField(label="Amount", **_MONEY)
    payment = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean(self):
        data = super().clean()
        number = (data.get("invoice") or "").strip()
        if number:
            invoice = invoices_by_number(user=self.user, numbers=[number]).get(
                invoice_number(number)
            )
            if invoice is None:
                self.add_error("invoice", f"No invoice numbered “{number}”.")
            else:
                self.invoice_id = invoice.pk
        return data

    def service_kwargs(self) -> dict:
        return {
            "invoice_id": self.invoice_id,
            "amount": self.cleaned_data["amount"],
            "reason": self.cleaned_data["reason"],
            "payment_id": self.cleaned_data.get("payment"),
        }


def errors_of(form: forms.Form) -> str:
    """A form's errors as one sentence per problem, for a row or a message."""
    return " ".join(e for errors in form.errors.values() for e in errors)


class OnAccountApplyForm(SplitForm):
    """The invoices money on account goes to: the split's lines and a note; no customer for the
    rest (what is not applied stays on the account)."""

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        del self.fields["customer"]

    def _customer_id(self, data, required):
        return None

    def service_kwargs(self) -> dict:
        return {"allocations": self.allocations, "note": self.cleaned_data["note"].strip()}


class TieForm(ActionForm):
    """Tie a waiting 820 to the payment it stands for."""

    payment = forms.IntegerField(min_value=1, label="Payment number")
