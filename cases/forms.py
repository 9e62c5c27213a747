"""Forms of the case desk (the queue's filters, notes, resolutions, new disputes) and of returns
(the list's filters, a new authorisation, finance's decision on a credit that waits)."""

from decimal import Decimal

from django import forms

from .models import CaseQueue, CaseReason, CaseState, ReturnReason, ReturnState, RootCause
from .services import Outcome

#: How many invoice lines the resolve form offers quantities for.
MAX_LINES = 50


class CaseFilterForm(forms.Form):
    queue = forms.ChoiceField(choices=[("", "All my queues"), *CaseQueue.choices], required=False)
    state = forms.ChoiceField(
        choices=[
            ("", "Open, claimed or waiting"),
            (CaseState.OPEN, "Open"),
            (CaseState.CLAIMED, "Claimed"),
            (CaseState.AWAITING, "Credit waiting for approval"),
        ],
        required=False,
    )
    mine = forms.BooleanField(required=False, label="Claimed by me")
    overdue = forms.BooleanField(required=False)
    due_soon = forms.BooleanField(required=False, label="Due within 4 h")
    # "new since my last visit" from the home page: cases opened after this moment
    since = forms.DateTimeField(required=False, widget=forms.HiddenInput)


class NoteForm(forms.Form):
    text = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class RouteForm(forms.Form):
    reason = forms.ModelChoiceField(
        queryset=CaseReason.objects.order_by("name"), to_field_name="code", label="Route to"
    )
    note = forms.CharField(max_length=500, label="Why")


class AttachForm(forms.Form):
    file = forms.FileField(label="File")


class ResolveForm(forms.Form):
    outcome = forms.ChoiceField(choices=Outcome.choices)
    amount = forms.DecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal("0.01"), required=False
    )
    root_cause = forms.ChoiceField(choices=RootCause.choices)
    note = forms.CharField(
        max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def quantities(self, data) -> dict[int, Decimal]:
        """The ``qty-<invoice line id>`` fields filled in, as line id -> quantity."""
        found = {}
        # each quantity as a quantity column holds it: finite, not negative, three decimals at
        # most ("NaN" and "1e400" parse as decimals, and failed later as a 500)
        field = forms.DecimalField(max_digits=14, decimal_places=3, min_value=Decimal("0"))
        for key, value in data.items():
            if key.startswith("qty-") and key[4:].isdigit() and value.strip():
                try:
                    found[int(key[4:])] = field.clean(value.strip())
                except forms.ValidationError as error:
                    raise forms.ValidationError(
                        f"{value!r} is not a quantity: {' '.join(error.messages)}"
                    ) from None
        if len(found) > MAX_LINES:
            raise forms.ValidationError("Too many lines.")
        return found


class DisputeForm(forms.Form):
    invoice = forms.IntegerField(min_value=1, max_value=2**63 - 1)  # an id, never an overflow
    amount = forms.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    reason = forms.ModelChoiceField(
        queryset=CaseReason.objects.order_by("name"), to_field_name="code"
    )
    note = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))


class ReturnFilterForm(forms.Form):
    state = forms.ChoiceField(choices=[("", "Any state"), *ReturnState.choices], required=False)
    q = forms.CharField(
        required=False,
        label="Search",
        widget=forms.SearchInput(attrs={"placeholder": "RMA, invoice, customer"}),
    )


class ReturnForm(forms.Form):
    """A new return: the reason, a note, and ``qty-<invoice line id>`` per line coming back."""

    reason = forms.ChoiceField(choices=ReturnReason.choices)
    note = forms.CharField(
        max_length=2000,
        label="What the customer says",
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def quantities(self, data) -> dict[int, Decimal]:
        return ResolveForm.quantities(self, data)


class ReturnDecisionForm(forms.Form):
    action = forms.ChoiceField(choices=[("approve", "Approve"), ("refuse", "Refuse")])
    reason = forms.CharField(max_length=500)


def errors_of(form: forms.Form) -> str:
    return " ".join(
        f"{form.fields[name].label or name}: {' '.join(errors)}"
        if name != "__all__"
        else " ".join(errors)
        for name, errors in form.errors.items()
    )
