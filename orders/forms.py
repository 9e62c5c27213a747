"""Forms for order entry, line edits and lifecycle actions: field errors, never silent changes."""

from decimal import Decimal

from django import forms
from django.core.validators import MinValueValidator

from .models import Channel, Customer, OrderState, ShipTo, WatchAction
from .selectors import items_by_sku

QTY_FIELD = {"max_digits": 14, "decimal_places": 3}
PRICE_FIELD = {"max_digits": 14, "decimal_places": 4}


class ReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=500, widget=forms.TextInput(attrs={"placeholder": "Why?", "autocomplete": "off"})
    )

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("A reason is required.")
        return reason


class TransitionForm(ReasonForm):
    transition = forms.CharField(widget=forms.HiddenInput)


class OrderFilterForm(forms.Form):
    q = forms.CharField(
        required=False,
        label="Search",
        widget=forms.SearchInput(attrs={"placeholder": "Order number or customer"}),
    )
    state = forms.ChoiceField(required=False, choices=[("", "Any status"), *OrderState.choices])
    channel = forms.ChoiceField(required=False, choices=[("", "Any channel"), *Channel.choices])
    customer = forms.IntegerField(required=False, widget=forms.HiddenInput)
    segment = forms.ChoiceField(
        required=False, choices=[("", "Any segment"), *Customer.Segment.choices]
    )
    territory = forms.CharField(required=False, max_length=32)
    held = forms.ChoiceField(
        required=False,
        label="Holds",
        choices=[("", "With or without holds"), ("yes", "Ever held"), ("no", "Touchless")],
    )
    received_from = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    received_to = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("received_from"), data.get("received_to")
        if start and end and start > end:
            raise forms.ValidationError("“From” must be on or before “To”.")
        return data


class OrderHeaderForm(forms.Form):
    customer = forms.ModelChoiceField(queryset=Customer.objects.none())
    ship_to = forms.ModelChoiceField(queryset=ShipTo.objects.none(), required=False)
    channel = forms.ChoiceField(choices=Channel.choices, initial=Channel.INSIDE_SALES)
    requested_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, customers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = customers
        self.fields["ship_to"].queryset = ShipTo.objects.filter(customer__in=customers)

    def clean(self):
        data = super().clean()
        customer, ship_to = data.get("customer"), data.get("ship_to")
        if customer and ship_to and ship_to.customer_id != customer.pk:
            self.add_error("ship_to", "That ship-to belongs to another customer.")
        return data


class OrderLineForm(forms.Form):
    sku = forms.CharField(label="SKU", max_length=64)
    quantity = forms.DecimalField(**QTY_FIELD, validators=[MinValueValidator(Decimal("0.001"))])
    unit_price = forms.DecimalField(
        **PRICE_FIELD,
        required=False,
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Leave empty to use the contract or list price.",
    )

    def clean_sku(self) -> str:
        sku = self.cleaned_data["sku"].strip().upper()
        if not items_by_sku([sku]):
            raise forms.ValidationError(f"Unknown SKU “{sku}”.")
        return sku


class BaseLineFormSet(forms.BaseFormSet):
    def clean(self):
        if any(self.errors):
            return
        if not any(form.cleaned_data for form in self.forms if not form.cleaned_data.get("DELETE")):
            raise forms.ValidationError("Add at least one line.")


OrderLineFormSet = forms.formset_factory(
    OrderLineForm, formset=BaseLineFormSet, extra=3, max_num=200, validate_max=True
)


class LineEditForm(ReasonForm):
    quantity = forms.DecimalField(**QTY_FIELD, validators=[MinValueValidator(Decimal("0.001"))])
    unit_price = forms.DecimalField(
        **PRICE_FIELD, required=False, validators=[MinValueValidator(Decimal("0"))]
    )


class WatchCloseForm(forms.Form):
    """What customer service did about an order likely to ship late."""

    action = forms.ChoiceField(choices=[("", "— what was done —"), *WatchAction.choices])
    note = forms.CharField(
        max_length=500,
        widget=forms.TextInput(attrs={"placeholder": "e.g. told the buyer: arrives Friday"}),
    )


class WatchSearchForm(forms.Form):
    q = forms.CharField(
        required=False,
        max_length=100,
        label="Search",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Order or customer"}),
    )
