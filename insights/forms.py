"""The dashboard's range and filters: a bad range is a clear error, never an empty chart."""

from datetime import timedelta

from django import forms
from django.utils import timezone

from orders.models import Channel, Customer

from .kpis import KpiFilters

MAX_DAYS = 366


class DashboardForm(forms.Form):
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    channel = forms.ChoiceField(required=False, choices=[("", "Any channel"), *Channel.choices])
    segment = forms.ChoiceField(
        required=False, choices=[("", "Any segment"), *Customer.Segment.choices]
    )
    territory = forms.CharField(required=False, max_length=32)
    by = forms.ChoiceField(required=False, choices=[("day", "Per day"), ("week", "Per week")])

    def clean(self):
        data = super().clean()
        today = timezone.localdate(timezone=timezone.get_default_timezone())  # the slices' days
        data["end"] = data.get("end") or today
        data["start"] = data.get("start") or data["end"] - timedelta(days=29)
        if data["start"] > data["end"]:
            raise forms.ValidationError("The start date must not be after the end date.")
        if (data["end"] - data["start"]).days > MAX_DAYS:
            raise forms.ValidationError(f"Choose a range of at most {MAX_DAYS} days.")
        data["by"] = data.get("by") or "day"
        return data

    def filters(self) -> KpiFilters:
        data = self.cleaned_data
        return KpiFilters(
            start=data["start"],
            end=data["end"],
            channel=data.get("channel") or "",
            segment=data.get("segment") or "",
            territory=data.get("territory") or "",
        )
