"""Disputes over the API: a customer's own systems raise disputes on its invoices and follow
them with a customer login (``CustomerLogin``: its customer's disputes only, never the desk's
notes); customer service raises them for a customer; the desk's people list those of their
queues. Opening goes through ``services.dispute_open``, which routes and times the case."""

from decimal import Decimal

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from billing.models import Invoice
from core.api import PAGE_PARAMETERS, HasRole, page_of, page_size, paged
from core.errors import ApplicationError, PermissionDenied
from core.pagination import keyset_page
from core.roles import has_role

from . import selectors, services
from .models import Case


class DisputeSerializer(serializers.ModelSerializer):
    invoice = serializers.CharField(source="invoice.number")
    reason = serializers.CharField(source="reason.code")
    reason_name = serializers.CharField(source="reason.name")
    credit_memo = serializers.CharField(source="credit_memo.number", allow_null=True)

    class Meta:
        model = Case
        fields = [
            "id",
            "invoice",
            "amount",
            "currency",
            "reason",
            "reason_name",
            "state",
            "opened_at",
            "due_at",
            "resolved_at",
            "outcome_amount",
            "credit_memo",
        ]


class DisputeCreateSerializer(serializers.Serializer):
    invoice = serializers.CharField(max_length=32, help_text="The invoice's number.")
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    reason = serializers.CharField(max_length=32, help_text="A reason code, e.g. PRICING.")
    note = serializers.CharField(
        max_length=2000, help_text="What is wrong, in the customer's words."
    )


class MayFollowDisputes(HasRole):
    """A customer login, or someone of the desk who works a case queue (the role gate's other
    rules, for strangers and unanswered methods, are ``HasRole``'s)."""

    roles = frozenset(selectors.CASE_ROLES)
    message = "Disputes are followed by the customer's login and the case desk."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if user and user.is_authenticated and selectors.customer_of_login(user) is not None:
            return request.method == "OPTIONS" or hasattr(view, request.method.lower())
        return super().has_permission(request, view)


DISPUTE_ID = OpenApiParameter("dispute_id", int, OpenApiParameter.PATH)


class DisputeListApi(GenericAPIView):
    serializer_class = DisputeSerializer
    permission_classes = [MayFollowDisputes]

    @extend_schema(
        operation_id="disputes_list",
        parameters=PAGE_PARAMETERS,
        responses=page_of(DisputeSerializer, "DisputePage"),
    )
    def get(self, request):
        """Disputes, newest first: a customer login's own, or those of the user's queues."""
        page = keyset_page(
            selectors.disputes_for_user(request.user),
            ordering=("-opened_at", "-id"),
            cursor=request.query_params.get("after"),
            size=page_size(request),
        )
        return paged(request, page, DisputeSerializer)

    @extend_schema(
        operation_id="disputes_create",
        request=DisputeCreateSerializer,
        responses={201: DisputeSerializer},
    )
    def post(self, request):
        """Raise a dispute on an invoice; it goes to the queue that owns its reason."""
        form = DisputeCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        customer = selectors.customer_of_login(request.user)
        if customer is None and not has_role(request.user, *selectors.DISPUTE_ROLES):
            raise PermissionDenied("Disputes are opened by customer service.")
        invoices = Invoice.objects.filter(number=data["invoice"])
        if customer is not None:
            invoices = invoices.filter(customer=customer)
        invoice = invoices.only("pk").first()
        if invoice is None:
            raise ApplicationError(f"No invoice {data['invoice']}.", {"field": "invoice"})
        case = services.dispute_open(
            actor=request.user,
            invoice_id=invoice.pk,
            amount=data["amount"],
            reason_code=data["reason"],
            note=data["note"],
        )
        case = selectors.disputes_for_user(request.user).filter(pk=case.pk).first() or case
        return Response(DisputeSerializer(case).data, status=201)


class DisputeDetailApi(GenericAPIView):
    serializer_class = DisputeSerializer
    permission_classes = [MayFollowDisputes]

    @extend_schema(operation_id="disputes_retrieve", parameters=[DISPUTE_ID])
    def get(self, request, dispute_id: int):
        case = selectors.disputes_for_user(request.user).filter(pk=dispute_id).first()
        if case is None:
            raise PermissionDenied("No such dispute.", {"dispute_id": dispute_id})
        return Response(DisputeSerializer(case).data)
