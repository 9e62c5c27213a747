"""Cases and returns over the API.

Disputes: a customer's own systems raise disputes on its invoices and follow them with a
customer login (``CustomerLogin``: its customer's disputes only, never the desk's notes);
customer service raises them for a customer; the desk's people list those of their queues.

The case desk: the queue, a case with its notes, claim, resolve, and finance's decision on a
credit that waits. Returns: list, authorise, one return, finance's decision. Every write goes
through the same services, permissions and maker-checker as the pages."""

from decimal import Decimal

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from billing.models import Invoice
from core.api import (
    PAGE_PARAMETERS,
    HasRole,
    ReasonSerializer,
    page_of,
    page_size,
    paged,
    role_permission,
)
from core.errors import ApplicationError, PermissionDenied
from core.pagination import keyset_page
from core.roles import has_role

from . import returns, selectors, services
from .models import (
    ACTIVE_STATE_CHOICES,
    Case,
    CaseQueue,
    ReturnReason,
    ReturnState,
    RootCause,
)


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


# -- the case desk ------------------------------------------------------------------------------

CASE_ID = OpenApiParameter("case_id", int, OpenApiParameter.PATH)
CASE_DESK = [role_permission(*selectors.CASE_ROLES, message="Cases are worked by their queues.")]


class CaseRowSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    customer = serializers.CharField(source="customer_number")
    customer_name = serializers.CharField()
    invoice = serializers.CharField(source="invoice_number")
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField()
    reason = serializers.CharField(source="reason_name")
    remittance_code = serializers.CharField()
    queue = serializers.CharField()
    state = serializers.CharField()
    due_at = serializers.DateTimeField()
    escalation_level = serializers.IntegerField()
    claimed_by = serializers.CharField()


class CaseNoteSerializer(serializers.Serializer):
    author = serializers.CharField(source="author.username", allow_null=True)
    text = serializers.CharField()
    created_at = serializers.DateTimeField()


class CaseSerializer(DisputeSerializer):
    kind = serializers.CharField()
    customer = serializers.CharField(source="customer.number")
    queue = serializers.CharField()
    remittance_code = serializers.CharField()
    escalation_level = serializers.IntegerField()
    claimed_by = serializers.CharField(source="claimed_by.username", allow_null=True)
    root_cause = serializers.CharField()
    proposal = serializers.JSONField()
    notes = CaseNoteSerializer(many=True)

    class Meta(DisputeSerializer.Meta):
        fields = [
            *DisputeSerializer.Meta.fields,
            "kind",
            "customer",
            "queue",
            "remittance_code",
            "escalation_level",
            "claimed_by",
            "root_cause",
            "proposal",
            "notes",
        ]


class CaseFilterSerializer(serializers.Serializer):
    queue = serializers.ChoiceField(choices=CaseQueue.choices, required=False)
    state = serializers.ChoiceField(choices=ACTIVE_STATE_CHOICES, required=False)
    mine = serializers.BooleanField(required=False)


class ResolveSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=services.Outcome.choices)
    amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal("0.01"), required=False
    )
    root_cause = serializers.ChoiceField(choices=RootCause.choices)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    quantities = serializers.DictField(
        child=serializers.DecimalField(max_digits=14, decimal_places=3, min_value=Decimal("0")),
        required=False,
        help_text="Invoice line id -> quantity to credit (valid or partly valid).",
    )


class DecisionSerializer(ReasonSerializer):
    action = serializers.ChoiceField(choices=[("approve", "approve"), ("reject", "reject")])


def _case_body(user, case_id: int) -> dict:
    case = selectors.case_get(user=user, case_id=case_id)
    data = CaseSerializer(case).data
    data["notes"] = CaseNoteSerializer(case.notes.select_related("author"), many=True).data
    return data


class CaseListApi(GenericAPIView):
    serializer_class = CaseRowSerializer
    permission_classes = CASE_DESK

    @extend_schema(
        operation_id="cases_list",
        parameters=[CaseFilterSerializer, *PAGE_PARAMETERS],
        responses=page_of(CaseRowSerializer, "CasePage"),
    )
    def get(self, request):
        """Open cases of the user's queues, the soonest due first."""
        filters = CaseFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        page = selectors.case_queue(
            user=request.user,
            filters=selectors.CaseFilters(
                queue=data.get("queue", ""),
                state=data.get("state", ""),
                mine=data.get("mine", False),
            ),
            cursor=request.query_params.get("after"),
            size=page_size(request),
        )
        return paged(request, page, CaseRowSerializer)


class CaseDetailApi(GenericAPIView):
    serializer_class = CaseSerializer
    permission_classes = CASE_DESK

    @extend_schema(operation_id="cases_retrieve", parameters=[CASE_ID])
    def get(self, request, case_id: int):
        return Response(_case_body(request.user, case_id))


class CaseClaimApi(GenericAPIView):
    serializer_class = CaseSerializer
    permission_classes = CASE_DESK

    @extend_schema(operation_id="cases_claim", parameters=[CASE_ID], request=None)
    def post(self, request, case_id: int):
        """Claim an open case; a second claim is a conflict naming who has it."""
        services.case_claim(actor=request.user, case_id=case_id)
        return Response(_case_body(request.user, case_id))


class CaseResolveApi(GenericAPIView):
    serializer_class = CaseSerializer
    permission_classes = CASE_DESK

    @extend_schema(operation_id="cases_resolve", parameters=[CASE_ID], request=ResolveSerializer)
    def post(self, request, case_id: int):
        """Close with an outcome and its root cause; a credit above the billing policy's tier
        waits for finance."""
        selectors.case_get(user=request.user, case_id=case_id)  # row access first: 403
        form = ResolveSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        try:
            quantities = {int(k): v for k, v in (data.get("quantities") or {}).items()}
        except ValueError:
            raise ApplicationError(
                "quantities: keys are invoice line ids.", {"field": "quantities"}
            ) from None
        services.case_resolve(
            actor=request.user,
            case_id=case_id,
            outcome=data["outcome"],
            amount=data.get("amount"),
            root_cause=data["root_cause"],
            note=data["note"],
            quantities=quantities,
        )
        return Response(_case_body(request.user, case_id))


class CaseCreditApi(GenericAPIView):
    serializer_class = CaseSerializer
    permission_classes = [
        role_permission(
            *selectors.CREDIT_APPROVER_ROLES, message="Credits are approved by finance."
        )
    ]

    @extend_schema(operation_id="cases_credit", parameters=[CASE_ID], request=DecisionSerializer)
    def post(self, request, case_id: int):
        """Approve or reject a credit that waits (never the person who agreed it)."""
        selectors.case_get(user=request.user, case_id=case_id)
        form = DecisionSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        service = (
            services.case_credit_approve
            if form.validated_data["action"] == "approve"
            else services.case_credit_reject
        )
        service(actor=request.user, case_id=case_id, reason=form.validated_data["reason"])
        return Response(_case_body(request.user, case_id))


# -- returns ------------------------------------------------------------------------------------

RMA_ID = OpenApiParameter("rma_id", int, OpenApiParameter.PATH)
RETURN_VIEWERS = [
    role_permission(*returns.RETURN_VIEWER_ROLES, message="Returns are customer service's.")
]


class ReturnLineSerializer(serializers.Serializer):
    line = serializers.IntegerField(source="line_number")
    invoice_line = serializers.IntegerField(source="invoice_line.line_number")
    sku = serializers.CharField(source="invoice_line.order_line.item.sku")
    quantity = serializers.DecimalField(max_digits=14, decimal_places=3)
    received = serializers.DecimalField(source="received_qty", max_digits=14, decimal_places=3)
    damaged = serializers.DecimalField(source="damaged_qty", max_digits=14, decimal_places=3)
    credited = serializers.DecimalField(source="credit_qty", max_digits=14, decimal_places=3)


class ReturnSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    customer = serializers.CharField(source="customer.number")
    invoice = serializers.CharField(source="invoice.number")
    reason = serializers.CharField()
    note = serializers.CharField()
    state = serializers.CharField()
    restocking_fee_percent = serializers.DecimalField(max_digits=5, decimal_places=2)
    authorised_at = serializers.DateTimeField()
    received_at = serializers.DateTimeField(allow_null=True)
    credit_gross = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    fee = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    credit_memo = serializers.CharField(source="credit_memo.number", allow_null=True)
    refusal = serializers.CharField()


class ReturnDetailSerializer(ReturnSerializer):
    lines = ReturnLineSerializer(many=True)


class ReturnLineInSerializer(serializers.Serializer):
    invoice_line = serializers.IntegerField(min_value=1, help_text="The invoice's line number.")
    quantity = serializers.DecimalField(max_digits=14, decimal_places=3, min_value=Decimal("0"))


class ReturnCreateSerializer(serializers.Serializer):
    invoice = serializers.CharField(max_length=32, help_text="The invoice's number.")
    reason = serializers.ChoiceField(choices=ReturnReason.choices)
    note = serializers.CharField(max_length=2000)
    lines = ReturnLineInSerializer(many=True, allow_empty=False)


class ReturnFilterSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=ReturnState.choices, required=False)
    q = serializers.CharField(required=False, max_length=100)


class ReturnDecisionSerializer(ReasonSerializer):
    action = serializers.ChoiceField(choices=[("approve", "approve"), ("refuse", "refuse")])


class ReturnListApi(GenericAPIView):
    serializer_class = ReturnSerializer
    permission_classes = RETURN_VIEWERS

    @extend_schema(
        operation_id="returns_list",
        parameters=[ReturnFilterSerializer, *PAGE_PARAMETERS],
        responses=page_of(ReturnSerializer, "ReturnPage"),
    )
    def get(self, request):
        """Returns, newest first; ``q`` finds an RMA, invoice or customer."""
        filters = ReturnFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        page = keyset_page(
            returns.return_list(
                user=request.user, state=data.get("state", ""), search=data.get("q", "").strip()
            ),
            ordering=("-authorised_at", "-id"),
            cursor=request.query_params.get("after"),
            size=page_size(request),
        )
        return paged(request, page, ReturnSerializer)

    @extend_schema(
        operation_id="returns_create",
        request=ReturnCreateSerializer,
        responses={201: ReturnDetailSerializer},
    )
    def post(self, request):
        """Authorise a return (customer service): at most what was invoiced less what is already
        coming back, per line; the WMS is told to expect it."""
        if not has_role(request.user, *returns.RETURN_AUTHORISER_ROLES):
            raise PermissionDenied("Returns are authorised by customer service.")
        form = ReturnCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        from billing.selectors import invoices_for_user

        invoice = invoices_for_user(request.user).filter(number=data["invoice"]).first()
        if invoice is None:
            raise ApplicationError(f"No invoice {data['invoice']}.", {"field": "invoice"})
        by_number = dict(invoice.lines.values_list("line_number", "pk"))
        quantities = {}
        for line in data["lines"]:
            if line["invoice_line"] not in by_number:
                raise ApplicationError(
                    f"{invoice.number} has no line {line['invoice_line']}.", {"field": "lines"}
                )
            quantities[by_number[line["invoice_line"]]] = line["quantity"]
        rma = returns.return_authorise(
            actor=request.user,
            invoice_id=invoice.pk,
            reason=data["reason"],
            quantities=quantities,
            note=data["note"],
        )
        rma = returns.return_get(user=request.user, rma_id=rma.pk)
        return Response(ReturnDetailSerializer(rma).data, status=201)


class ReturnDetailApi(GenericAPIView):
    serializer_class = ReturnDetailSerializer
    permission_classes = RETURN_VIEWERS

    @extend_schema(operation_id="returns_retrieve", parameters=[RMA_ID])
    def get(self, request, rma_id: int):
        return Response(
            ReturnDetailSerializer(returns.return_get(user=request.user, rma_id=rma_id)).data
        )


class ReturnDecideApi(GenericAPIView):
    serializer_class = ReturnDetailSerializer
    permission_classes = [
        role_permission(*returns.RETURN_APPROVER_ROLES, message="Return credits are finance's.")
    ]

    @extend_schema(
        operation_id="returns_decide", parameters=[RMA_ID], request=ReturnDecisionSerializer
    )
    def post(self, request, rma_id: int):
        """Approve (never the authoriser) or refuse, saying why, a credit that waits."""
        returns.return_get(user=request.user, rma_id=rma_id)
        form = ReturnDecisionSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        service = (
            returns.return_approve
            if form.validated_data["action"] == "approve"
            else returns.return_refuse
        )
        service(actor=request.user, rma_id=rma_id, reason=form.validated_data["reason"])
        return Response(
            ReturnDetailSerializer(returns.return_get(user=request.user, rma_id=rma_id)).data
        )
