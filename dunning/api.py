"""Collections over the API: the worklist (customers with money past due, the most pressing
first) and, for collectors, promises to pay and contacts logged on a customer, through the same
services and territory scoping as the pages."""

from decimal import Decimal

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from core.api import PAGE_PARAMETERS, page_of, page_size, paged, role_permission

from . import selectors, services
from .models import CONTACT_CHANNELS, Standing

CUSTOMER_ID = OpenApiParameter("customer_id", int, OpenApiParameter.PATH)
VIEWERS = [
    role_permission(*selectors.COLLECTIONS_VIEWERS, message="Collections are for collectors.")
]
COLLECTORS = [role_permission(*selectors.COLLECTORS, message="Collectors log promises.")]


class AccountRowSerializer(serializers.Serializer):
    customer_id = serializers.IntegerField()
    customer = serializers.CharField(source="customer_number")
    customer_name = serializers.CharField()
    currency = serializers.CharField()
    open_amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    past_due = serializers.DecimalField(max_digits=14, decimal_places=2)
    days_1_30 = serializers.DecimalField(max_digits=14, decimal_places=2)
    days_31_60 = serializers.DecimalField(max_digits=14, decimal_places=2)
    days_61_90 = serializers.DecimalField(max_digits=14, decimal_places=2)
    days_over_90 = serializers.DecimalField(max_digits=14, decimal_places=2)
    days_past_due = serializers.IntegerField()
    standing = serializers.CharField(source="standing_status")
    open_cases = serializers.IntegerField()
    open_tasks = serializers.IntegerField()
    open_promise = serializers.JSONField(allow_null=True)
    last_contact_at = serializers.SerializerMethodField()

    def get_last_contact_at(self, row) -> str | None:
        return row.last_contact["at"].isoformat() if row.last_contact else None


class WorklistFilterSerializer(serializers.Serializer):
    q = serializers.CharField(required=False, max_length=100)
    standing = serializers.ChoiceField(choices=Standing.choices, required=False)
    tasks = serializers.BooleanField(required=False, help_text="Only customers with an open task.")


class PromiseSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    currency = serializers.CharField(max_length=3)
    promised_for = serializers.DateField()
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ContactSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=CONTACT_CHANNELS)
    summary = serializers.CharField(max_length=2000)


class WorklistApi(GenericAPIView):
    serializer_class = AccountRowSerializer
    permission_classes = VIEWERS

    @extend_schema(
        operation_id="collections_list",
        parameters=[WorklistFilterSerializer, *PAGE_PARAMETERS],
        responses=page_of(AccountRowSerializer, "CollectionPage"),
    )
    def get(self, request):
        """Customers with money past due: past due × days past due × risk, largest first."""
        filters = WorklistFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        page = selectors.worklist(
            user=request.user,
            filters=selectors.WorklistFilters(
                q=data.get("q", ""),
                standing=data.get("standing", ""),
                mine_tasks=data.get("tasks", False),
            ),
            cursor=request.query_params.get("after"),
            size=page_size(request),
        )
        return paged(request, page, AccountRowSerializer)


class PromiseApi(GenericAPIView):
    serializer_class = PromiseSerializer
    permission_classes = COLLECTORS

    @extend_schema(
        operation_id="collections_promise",
        parameters=[CUSTOMER_ID],
        responses={201: PromiseSerializer},
    )
    def post(self, request, customer_id: int):
        """Log a customer's promise to pay (today to 90 days, at most what is owed)."""
        selectors.customer_for_collections(user=request.user, customer_id=customer_id)
        form = PromiseSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        promise = services.promise_create(
            actor=request.user, customer_id=customer_id, **form.validated_data
        )
        return Response({**form.data, "id": promise.pk, "state": promise.state}, status=201)


class ContactApi(GenericAPIView):
    serializer_class = ContactSerializer
    permission_classes = COLLECTORS

    @extend_schema(
        operation_id="collections_contact",
        parameters=[CUSTOMER_ID],
        responses={201: ContactSerializer},
    )
    def post(self, request, customer_id: int):
        """Log a contact with the customer."""
        selectors.customer_for_collections(user=request.user, customer_id=customer_id)
        form = ContactSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        entry = services.contact_log(
            actor=request.user, customer_id=customer_id, **form.validated_data
        )
        return Response({**form.data, "id": entry.pk, "at": entry.at.isoformat()}, status=201)
