"""Holds over the API: the user's queues only, with claim / release / reject / escalate going
through the same services, permissions and maker-checker as the queue pages."""

from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from core.api import PAGE_PARAMETERS, ReasonSerializer, page_of, page_size, paged

from . import selectors, services
from .models import Hold, Queue

HOLD_ID = OpenApiParameter("hold_id", int, OpenApiParameter.PATH)


class HoldSerializer(serializers.ModelSerializer):
    order = serializers.CharField(source="order.number")
    order_id = serializers.IntegerField()
    reason = serializers.CharField(source="reason.code")
    description = serializers.CharField(source="reason.description")
    line_number = serializers.IntegerField(source="line.line_number", allow_null=True)
    assignee = serializers.CharField(source="assignee.username", allow_null=True)
    suggestion = serializers.SerializerMethodField()

    class Meta:
        model = Hold
        fields = [
            "id",
            "order",
            "order_id",
            "line_number",
            "reason",
            "description",
            "category",
            "queue",
            "blocks",
            "state",
            "value_at_risk",
            "approval_amount",
            "priority_score",
            "raised_at",
            "due_at",
            "escalation_level",
            "assignee",
            "resolution_code",
            "resolution_note",
            "resolved_at",
            # triage's recommendation (suggest mode): label, probability, text, factors
            "suggestion",
            "context",
        ]

    @extend_schema_field(
        {"type": "object", "description": "triage's recommendation while the hold is open"}
    )
    def get_suggestion(self, hold) -> dict:
        return hold.suggestion if hold.is_active else {}


class HoldDetailSerializer(HoldSerializer):
    """One hold; a credit-limit hold also carries the customer's exposure today beside the
    snapshot in ``context`` (orders released since it was raised included)."""

    credit_now = serializers.SerializerMethodField()

    class Meta(HoldSerializer.Meta):
        fields = [*HoldSerializer.Meta.fields, "credit_now"]

    @extend_schema_field(
        inline_serializer(
            "CreditNow",
            {
                "exposure": serializers.DecimalField(max_digits=16, decimal_places=2),
                "allowed": serializers.DecimalField(max_digits=16, decimal_places=2),
                "overage": serializers.DecimalField(max_digits=16, decimal_places=2),
                "snapshot_exposure": serializers.DecimalField(max_digits=16, decimal_places=2),
            },
            allow_null=True,
        )
    )
    def get_credit_now(self, hold) -> dict | None:
        now = selectors.credit_now(hold=hold)
        if now is None:
            return None
        return {
            key: str(now[key]) for key in ("exposure", "allowed", "overage", "snapshot_exposure")
        }


class HoldFilterSerializer(serializers.Serializer):
    queue = serializers.ChoiceField(choices=Queue.choices, required=False)
    reason = serializers.CharField(required=False, max_length=32)
    customer = serializers.CharField(required=False, max_length=100)
    mine = serializers.BooleanField(required=False)
    unclaimed = serializers.BooleanField(required=False)
    overdue = serializers.BooleanField(required=False)
    sort = serializers.ChoiceField(choices=list(selectors.SORTS), required=False)


class HoldListApi(GenericAPIView):
    serializer_class = HoldSerializer

    @extend_schema(
        parameters=[HoldFilterSerializer, *PAGE_PARAMETERS],
        operation_id="holds_list",
        responses=page_of(HoldSerializer, "HoldPage"),
    )
    def get(self, request):
        """Active holds in the user's queues (one queue with ``queue``), by priority."""
        filters = HoldFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        page = selectors.holds_for_queue(
            user=request.user,
            queue=data.get("queue"),
            filters=selectors.HoldFilters(
                reason=data.get("reason", ""),
                customer=data.get("customer", ""),
                mine=data.get("mine", False),
                unclaimed=data.get("unclaimed", False),
                overdue=data.get("overdue", False),
                sort=data.get("sort", "priority"),
            ),
            cursor=request.query_params.get("after"),
            size=page_size(request),
        )
        return paged(request, page, HoldSerializer)


class HoldDetailApi(GenericAPIView):
    serializer_class = HoldDetailSerializer

    @extend_schema(operation_id="holds_retrieve", parameters=[HOLD_ID])
    def get(self, request, hold_id: int):
        hold = selectors.hold_get(user=request.user, hold_id=hold_id)
        return Response(HoldDetailSerializer(hold).data)


class ReleaseSerializer(ReasonSerializer):
    confirm_exposure = serializers.BooleanField(
        default=False,
        help_text="A credit hold now further over the limit than its snapshot needs this.",
    )


class RejectSerializer(ReasonSerializer):
    confirm_cancel = serializers.BooleanField(
        default=False, help_text="Rejecting cancels the order: it must be confirmed."
    )


#: action -> (input serializer, service); the service gets hold_id, actor and the validated data.
ACTIONS = {
    "claim": (None, services.hold_claim),
    "release": (ReleaseSerializer, services.hold_release),
    "approve": (ReasonSerializer, services.hold_approve),
    "reject": (RejectSerializer, services.hold_reject),
    "escalate": (ReasonSerializer, services.hold_escalate),
}


def _action_view(action: str):
    input_class, service = ACTIONS[action]

    class HoldActionApi(GenericAPIView):
        serializer_class = HoldDetailSerializer

        @extend_schema(
            operation_id=f"holds_{action}",
            parameters=[HOLD_ID],
            request=input_class,
            responses={200: HoldDetailSerializer},
            summary=f"{action.title()} a hold",
        )
        def post(self, request, hold_id: int):
            selectors.hold_get(user=request.user, hold_id=hold_id)  # row access first: 403
            data = {}
            if input_class is not None:
                form = input_class(data=request.data)
                form.is_valid(raise_exception=True)
                data = form.validated_data
            service(hold_id=hold_id, actor=request.user, **data)
            hold = selectors.hold_get(user=request.user, hold_id=hold_id)
            return Response(HoldDetailSerializer(hold).data)

    HoldActionApi.__name__ = f"Hold{action.title()}Api"
    return HoldActionApi.as_view()


ACTION_VIEWS = {action: _action_view(action) for action in ACTIONS}
