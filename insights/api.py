"""KPIs over the API (managers): the dashboard's figures for a range and filters, as JSON.
Durations are in seconds; rates are fractions as strings ("0.2500" is 25 %); money is per
currency ({"USD": "500.00"}), and a single amount is null when orders span currencies. Figures are as of
``as_of`` (the slices are recomputed every minute) and durations are read at the resolution
``insights.rollups`` documents: exact below an hour, to the minute below a day."""

from datetime import timedelta
from decimal import Decimal

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from core.api import role_permission
from core.errors import ApplicationError
from core.roles import Role

from . import kpis, selectors
from .forms import DashboardForm


class KpiQuerySerializer(serializers.Serializer):
    start = serializers.DateField(required=False)
    end = serializers.DateField(required=False)
    channel = serializers.CharField(required=False, max_length=16)
    segment = serializers.CharField(required=False, max_length=16)
    territory = serializers.CharField(required=False, max_length=32)
    by = serializers.ChoiceField(choices=["day", "week"], required=False)


def _plain(value):
    """JSON-friendly: durations as seconds, Decimals as strings (never floats), the rest as is."""
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


class KpiApi(GenericAPIView):
    serializer_class = KpiQuerySerializer
    permission_classes = [role_permission(Role.MANAGER, message="KPIs are for managers.")]

    @extend_schema(
        operation_id="kpis_retrieve", parameters=[KpiQuerySerializer], responses=OpenApiTypes.OBJECT
    )
    def get(self, request):
        """Touchless rate, hold rates, resolution and release percentiles, queue aging, value on
        hold, re-hold rate, shipment-to-invoice latency, first-pass accuracy, dead letters, trend."""
        form = DashboardForm(request.query_params)
        if not form.is_valid():
            raise ApplicationError(
                "; ".join(e for errors in form.errors.values() for e in errors),
                {"fields": form.errors.get_json_data()},
            )
        board = selectors.dashboard(filters=form.filters(), by=form.cleaned_data["by"])
        body = {
            "range": {"start": board.filters.start, "end": board.filters.end},
            "as_of": board.as_of.isoformat() if board.as_of else None,
            "touchless": board.touchless,
            "hold_rates": board.hold_rates,
            "resolution_times": board.resolution_times,
            "release_cycle": board.release_cycle,
            "queue_aging": {
                "buckets": [label for label, _low, _high in kpis.AGING_BUCKETS],
                "queues": board.queue_aging,
            },
            "value_on_hold": board.value_on_hold,
            "value_on_hold_by_currency": board.value_on_hold_by_currency,
            "rehold": board.rehold,
            "shipment_to_invoice_seconds": board.shipment_to_invoice,
            "first_pass": board.first_pass,
            "dead_letters": board.dead_letters,
            "trend": board.trend,
        }
        return Response(_plain(body))
