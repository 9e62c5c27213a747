"""Orders over the API: list (filters, keyset pages) and detail with lines, scoped to the user."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from core.api import PAGE_PARAMETERS, page_of, page_size, paged

from . import selectors
from .models import WATCHED_STATES, Channel, Order, OrderLine, OrderState


class OrderLineSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="item.sku")

    class Meta:
        model = OrderLine
        fields = [
            "id",
            "line_number",
            "sku",
            "ordered_qty",
            "allocated_qty",
            "shipped_qty",
            "invoiced_qty",
            "unit_price",
            "contract_price",
            "cancelled",
            "short_closed",
        ]


class OrderSerializer(serializers.ModelSerializer):
    customer = serializers.CharField(source="customer.number")
    customer_name = serializers.CharField(source="customer.name")

    class Meta:
        model = Order
        fields = [
            "id",
            "number",
            "state",
            "channel",
            "customer",
            "customer_name",
            "currency",
            "subtotal",
            "total",
            "received_at",
            "released_at",
            "correlation_id",
            "source_system",
            "external_id",
        ]


class OrderDetailSerializer(OrderSerializer):
    lines = OrderLineSerializer(many=True)
    ship_risk = serializers.SerializerMethodField()

    class Meta(OrderSerializer.Meta):
        fields = [*OrderSerializer.Meta.fields, "requested_date", "ship_risk", "lines"]

    @extend_schema_field(
        {
            "type": "object",
            "description": "triage's late-shipment expectation (probability, text, factors) "
            "while the order is released and unshipped",
        }
    )
    def get_ship_risk(self, order) -> dict:
        return order.ship_risk if order.state in WATCHED_STATES else {}


class OrderFilterSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=OrderState.choices, required=False)
    channel = serializers.ChoiceField(choices=Channel.choices, required=False)
    customer = serializers.IntegerField(required=False, min_value=1)
    received_from = serializers.DateField(required=False)
    received_to = serializers.DateField(required=False)
    q = serializers.CharField(required=False, max_length=100)


class OrderListApi(GenericAPIView):
    serializer_class = OrderSerializer

    @extend_schema(
        parameters=[OrderFilterSerializer, *PAGE_PARAMETERS],
        operation_id="orders_list",
        responses=page_of(OrderSerializer, "OrderPage"),
    )
    def get(self, request):
        """Orders the user may see (their territories), newest first."""
        filters = OrderFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        page = selectors.order_list(
            user=request.user,
            filters=selectors.OrderFilters(
                state=data.get("state", ""),
                channel=data.get("channel", ""),
                customer_id=data.get("customer"),
                received_from=data.get("received_from"),
                received_to=data.get("received_to"),
                search=data.get("q", ""),
            ),
            cursor=request.query_params.get("after"),
            size=page_size(request),
        )
        return paged(request, page, OrderSerializer)


class OrderDetailApi(GenericAPIView):
    serializer_class = OrderDetailSerializer

    @extend_schema(
        operation_id="orders_retrieve",
        parameters=[OpenApiParameter("order_id", int, OpenApiParameter.PATH)],
    )
    def get(self, request, order_id: int):
        order = selectors.order_get(user=request.user, order_id=order_id)
        return Response(OrderDetailSerializer(order).data)
