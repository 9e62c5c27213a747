"""KPIs over the API (managers): the dashboard's figures for a range and filters, as JSON.
Durations are in seconds; rates are fractions as strings ("0.2500" is 25 %); money is per
currency ({"USD": "500.00"}), and a single amount is null when orders span currencies. Figures are as of
``as_of`` (the slices are recomputed every minute) and durations are read at the resolution
``insights.rollups`` documents: exact below an hour, to the minute below a day. Cash application
figures sit under "cash"; the response schema documents them field by field."""

from datetime import timedelta
from decimal import Decimal

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from core.api import role_permission
from core.errors import ApplicationError
from core.roles import Role

from . import cash_kpis, kpis, receivable_kpis, selectors
from .forms import DashboardForm


class KpiQuerySerializer(serializers.Serializer):
    start = serializers.DateField(required=False)
    end = serializers.DateField(required=False)
    channel = serializers.CharField(required=False, max_length=16)
    segment = serializers.CharField(required=False, max_length=16)
    territory = serializers.CharField(required=False, max_length=32)
    by = serializers.ChoiceField(choices=["day", "week"], required=False)


_RATE = {"max_digits": 5, "decimal_places": 4, "allow_null": True}
_MONEY = {"max_digits": 16, "decimal_places": 2}


class AutoMatchSerializer(serializers.Serializer):
    received = serializers.IntegerField(help_text="Payments received in the range.")
    automatic = serializers.IntegerField(help_text="Of those, applied by matching alone.")
    rate = serializers.DecimalField(**_RATE, help_text="automatic / received; null for none.")
    received_by_currency = serializers.DictField(
        child=serializers.DecimalField(**_MONEY), help_text='Money received: {"USD": "500.00"}.'
    )


class AccuracyPartSerializer(serializers.Serializer):
    applications = serializers.IntegerField()
    kept = serializers.IntegerField(help_text="Applications not reversed since.")
    rate = serializers.DecimalField(**_RATE, help_text="kept / applications; null for none.")


class AccuracySerializer(AccuracyPartSerializer):
    reversed = serializers.IntegerField()
    automatic = AccuracyPartSerializer(help_text="The applications matching made alone.")


class ReceiptToApplicationSerializer(serializers.Serializer):
    applied = serializers.IntegerField(help_text="Payments received in the range and applied.")
    median = serializers.IntegerField(allow_null=True, help_text="Seconds, bank file to applied.")
    p90 = serializers.IntegerField(allow_null=True, help_text="Seconds.")


class UnappliedCurrencySerializer(serializers.Serializer):
    currency = serializers.CharField()
    amount = serializers.DecimalField(**_MONEY)
    items = serializers.IntegerField()
    buckets = serializers.ListField(
        child=serializers.DecimalField(**_MONEY), help_text="Amounts per age bucket."
    )


class UnappliedCashSerializer(serializers.Serializer):
    buckets = serializers.ListField(child=serializers.CharField(), help_text="Age bucket labels.")
    currencies = UnappliedCurrencySerializer(many=True)


class CashKpiSerializer(serializers.Serializer):
    auto_match = AutoMatchSerializer()
    accuracy = AccuracySerializer()
    receipt_to_application_seconds = ReceiptToApplicationSerializer()
    unapplied_cash = UnappliedCashSerializer(
        help_text="On customers' accounts now, whatever the range; never summed across currencies."
    )


class KpiResponseSerializer(serializers.Serializer):
    """The response's shape, for the schema (the view builds the body itself)."""

    range = serializers.JSONField(help_text='{"start": date, "end": date}')
    as_of = serializers.DateTimeField(allow_null=True)
    touchless = serializers.JSONField()
    hold_rates = serializers.JSONField()
    resolution_times = serializers.JSONField()
    release_cycle = serializers.JSONField()
    queue_aging = serializers.JSONField()
    value_on_hold = serializers.DecimalField(**_MONEY, allow_null=True)
    value_on_hold_by_currency = serializers.DictField(child=serializers.DecimalField(**_MONEY))
    rehold = serializers.JSONField()
    shipment_to_invoice_seconds = serializers.JSONField()
    first_pass = serializers.JSONField()
    dead_letters = serializers.JSONField()
    trend = serializers.JSONField()
    cash = CashKpiSerializer(help_text="Cash application; payments have no channel.")


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
        operation_id="kpis_retrieve",
        parameters=[KpiQuerySerializer],
        responses=KpiResponseSerializer,
    )
    def get(self, request):
        """Touchless rate, hold rates, resolution and release percentiles, queue aging, value on
        hold, re-hold rate, shipment-to-invoice latency, first-pass accuracy, dead letters, trend;
        and cash application: auto-match rate, accuracy (applications not reversed), receipt to
        application seconds, and unapplied cash per currency by age. The receivables figures
        are ``kpis/receivables/``."""
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
            "cash": {
                "auto_match": board.cash.auto_match,
                "accuracy": board.cash.accuracy,
                "receipt_to_application_seconds": board.cash.receipt_to_application,
                "unapplied_cash": {
                    "buckets": [label for label, _low, _high in cash_kpis.UNAPPLIED_BUCKETS],
                    "currencies": board.cash.unapplied,
                },
            },
        }
        return Response(_plain(body))


class ReceivableKpiResponseSerializer(serializers.Serializer):
    range = serializers.JSONField(help_text='{"start": date, "end": date}')
    dso = serializers.JSONField(help_text="Per currency: days by count-back at the range's end.")
    cei = serializers.JSONField(help_text="Per currency: collection effectiveness, percent.")
    deduction_days = serializers.JSONField(help_text="Per currency: {open, taken, days}.")
    case_aging = serializers.JSONField(help_text="{buckets, reasons: open cases by reason}.")
    recovery = serializers.JSONField(help_text="Per currency: {invalid, recovered, rate}.")
    returns = serializers.JSONField(help_text="Per currency: {sales, returned, rate}.")
    root_causes = serializers.JSONField(help_text="Closed cases by root cause, most first.")


class ReceivableKpiApi(GenericAPIView):
    serializer_class = KpiQuerySerializer
    permission_classes = [role_permission(Role.MANAGER, message="KPIs are for managers.")]

    @extend_schema(
        operation_id="kpis_receivables",
        parameters=[KpiQuerySerializer],
        responses=ReceivableKpiResponseSerializer,
    )
    def get(self, request):
        """Receivables, per currency, read from the ledger (seconds on a large one): DSO by
        count-back, CEI, deduction days outstanding, case aging by reason, recovery of invalid
        deductions, returns rate and the top root causes."""
        form = DashboardForm(request.query_params)
        if not form.is_valid():
            raise ApplicationError(
                "; ".join(e for errors in form.errors.values() for e in errors),
                {"fields": form.errors.get_json_data()},
            )
        filters = form.filters()
        figures = selectors.receivables(filters=filters)
        body = {
            "range": {"start": filters.start, "end": filters.end},
            "dso": figures.dso,
            "cei": figures.cei,
            "deduction_days": figures.deduction_days,
            "case_aging": {
                "buckets": [label for label, _l, _h in receivable_kpis.CASE_AGE_BUCKETS],
                "reasons": figures.case_aging,
            },
            "recovery": figures.recovery,
            "returns": figures.returns,
            "root_causes": figures.root_causes,
        }
        return Response(_plain(body))
