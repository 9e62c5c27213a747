"""Invoices and shipments over the API. Invoices are finance's: list, detail and approve (the same
tiers and maker-checker as the finance desk); shipments follow the user's order access."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from core.api import (
    PAGE_PARAMETERS,
    ReasonSerializer,
    page_of,
    page_size,
    paged,
    role_permission,
)
from core.roles import Role

from . import selectors, services
from .models import Invoice, InvoiceLine, InvoiceState, Shipment, ShipmentLine

#: Invoices are finance's (and managers'); which customers' invoices is ``selectors``' business.
FINANCE_ONLY = [role_permission(Role.FINANCE, Role.MANAGER, message="Invoices are finance's.")]


class InvoiceLineSerializer(serializers.ModelSerializer):
    order = serializers.CharField(source="order_line.order.number")
    order_line = serializers.IntegerField(source="order_line.line_number")
    shipment = serializers.CharField(source="shipment_line.shipment.external_id", allow_null=True)

    class Meta:
        model = InvoiceLine
        fields = [
            "line_number",
            "order",
            "order_line",
            "shipment",
            "description",
            "quantity",
            "unit_price",
            "amount",
            "tax_rate",
            "tax_amount",
            "price_overridden",
            "over_shipped_qty",
        ]


class InvoiceSerializer(serializers.ModelSerializer):
    customer = serializers.CharField(source="customer.number")
    order = serializers.CharField(source="order.number", allow_null=True)
    first_approver = serializers.CharField(source="first_approver.username", allow_null=True)
    second_approver = serializers.CharField(source="second_approver.username", allow_null=True)

    class Meta:
        model = Invoice
        fields = [
            "id",
            "number",
            "state",
            "customer",
            "order",
            "billing_rule",
            "currency",
            "issued_on",
            "due_date",
            "subtotal",
            "tax_total",
            "total",
            "approval_tier",
            "approval_reasons",
            "first_approver",
            "second_approver",
            "released_at",
            "posted_at",
            "erp_reference",
            "shipment_to_invoice_seconds",
        ]


class InvoiceDetailSerializer(InvoiceSerializer):
    lines = InvoiceLineSerializer(many=True)

    class Meta(InvoiceSerializer.Meta):
        fields = [*InvoiceSerializer.Meta.fields, "lines"]


class InvoiceFilterSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=InvoiceState.choices, required=False)
    customer = serializers.CharField(required=False, max_length=100)
    tier = serializers.IntegerField(required=False, min_value=0, max_value=2)
    sort = serializers.ChoiceField(choices=list(selectors.SORTS), required=False)


INVOICE_ID = OpenApiParameter("invoice_id", int, OpenApiParameter.PATH)


class InvoiceListApi(GenericAPIView):
    serializer_class = InvoiceSerializer
    permission_classes = FINANCE_ONLY

    @extend_schema(
        parameters=[InvoiceFilterSerializer, *PAGE_PARAMETERS],
        operation_id="invoices_list",
        responses=page_of(InvoiceSerializer, "InvoicePage"),
    )
    def get(self, request):
        """Invoices (finance and managers), newest first; ``state=pending_approval`` is the queue."""
        filters = InvoiceFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        page = selectors.invoice_list(
            user=request.user,
            filters=selectors.InvoiceFilters(
                state=data.get("state", ""),
                customer=data.get("customer", ""),
                tier=data.get("tier"),
                sort=data.get("sort", "newest"),
            ),
            cursor=request.query_params.get("after"),
            size=page_size(request),
        )
        return paged(request, page, InvoiceSerializer)


class InvoiceDetailApi(GenericAPIView):
    serializer_class = InvoiceDetailSerializer
    permission_classes = FINANCE_ONLY

    @extend_schema(operation_id="invoices_retrieve", parameters=[INVOICE_ID])
    def get(self, request, invoice_id: int):
        invoice = selectors.invoice_get(user=request.user, invoice_id=invoice_id)
        return Response(InvoiceDetailSerializer(invoice).data)


class InvoiceApproveApi(GenericAPIView):
    serializer_class = InvoiceDetailSerializer
    permission_classes = FINANCE_ONLY

    @extend_schema(
        parameters=[INVOICE_ID], request=ReasonSerializer, responses={200: InvoiceDetailSerializer}
    )
    def post(self, request, invoice_id: int):
        """Approve: tier 1 releases; tier 2 records the first approval, a second person releases."""
        selectors.invoice_get(user=request.user, invoice_id=invoice_id)  # row access first: 403
        form = ReasonSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        services.invoice_approve(
            invoice_id=invoice_id, actor=request.user, reason=form.validated_data["reason"]
        )
        invoice = selectors.invoice_get(user=request.user, invoice_id=invoice_id)
        return Response(InvoiceDetailSerializer(invoice).data)


class ShipmentLineSerializer(serializers.ModelSerializer):
    order_line = serializers.IntegerField(source="order_line.line_number")

    class Meta:
        model = ShipmentLine
        fields = ["order_line", "quantity", "lot"]


class ShipmentSerializer(serializers.ModelSerializer):
    order = serializers.CharField(source="order.number")
    warehouse = serializers.CharField(source="warehouse.code", allow_null=True)
    lines = ShipmentLineSerializer(many=True)

    class Meta:
        model = Shipment
        fields = [
            "id",
            "external_id",
            "order",
            "state",
            "warehouse",
            "carrier",
            "tracking_number",
            "shipped_at",
            "delivered_at",
            "signed_by",
            "correlation_id",
            "lines",
        ]


class ShipmentListApi(GenericAPIView):
    serializer_class = ShipmentSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("order", int, description="Only this order's shipments."),
            *PAGE_PARAMETERS,
        ],
        operation_id="shipments_list",
        responses=page_of(ShipmentSerializer, "ShipmentPage"),
    )
    def get(self, request):
        """Shipments of the orders the user may see, newest first."""
        order = request.query_params.get("order", "")
        page = selectors.shipment_list(
            user=request.user,
            order_id=int(order) if order.isdigit() else None,
            cursor=request.query_params.get("after"),
            size=page_size(request),
        )
        return paged(request, page, ShipmentSerializer)
