"""The Hold: one problem on an order (or one of its lines), owned by a role's queue."""

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django_fsm import ConcurrentTransitionMixin, FSMField, FSMModelMixin, transition
from simple_history.models import HistoricalRecords

from core.audit import BULK_HISTORY
from core.roles import Role, has_role, is_model_user, is_system_user
from orders.lifecycle import Step
from orders.models import Order, OrderLine

from .policy import HoldReason, Queue


class HoldState(models.TextChoices):
    OPEN = "open", "Open"  # waiting in the queue, nobody on it
    CLAIMED = "claimed", "Claimed"  # an analyst is working it
    AWAITING_SECOND_APPROVAL = (
        "awaiting_second_approval",
        "Awaiting second approval",
    )  # maker-checker
    RELEASED = "released", "Released"  # resolved: the order may proceed past this hold
    REJECTED = "rejected", "Rejected"  # resolved against the order


ACTIVE_STATES = (HoldState.OPEN, HoldState.CLAIMED, HoldState.AWAITING_SECOND_APPROVAL)
ACTIVE_CONDITION = Q(state__in=["open", "claimed", "awaiting_second_approval"])
H = HoldState
#: The resolution code of a release a model made in "act" mode (``hold_auto_release``).
MODEL_RELEASE = "MODEL"


def queue_member(instance: "Hold", user) -> bool:
    """Only the queue's role (managers and the system included) may act on its holds."""
    return is_system_user(user) or has_role(user, Role.MANAGER, instance.queue)


def model_actor(instance: "Hold", user) -> bool:
    """Only a model's own account takes the automatic release; people release as people."""
    return is_model_user(user)


def released_by_model(instance: "Hold") -> bool:
    return instance.resolution_code == MODEL_RELEASE


class Hold(ConcurrentTransitionMixin, FSMModelMixin, models.Model):
    # indexed by hold_order_state (order, state) and hold_assignee (assignee, state)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="holds", db_index=False)
    line = models.ForeignKey(
        OrderLine, on_delete=models.CASCADE, null=True, blank=True, related_name="holds"
    )
    #: "order" or "line:<id>": with reason and order, identifies a finding, so re-evaluation
    #: never opens a second hold for a problem that is still open.
    scope = models.CharField(max_length=32, default="order")
    reason = models.ForeignKey(HoldReason, on_delete=models.PROTECT, related_name="holds")
    category = models.CharField(max_length=16)
    queue = models.CharField(max_length=24, choices=Queue, db_index=True)
    blocks = models.CharField(max_length=16, choices=Step, default=Step.RELEASE)
    state = FSMField(default=H.OPEN, choices=HoldState, protected=True)
    value_at_risk = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    approval_amount = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        default=Decimal("0"),
        help_text="The figure maker-checker compares with the policy: credit overage or value at risk.",
    )
    priority_score = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal("0"))
    raised_at = models.DateTimeField()
    due_at = models.DateTimeField()
    escalation_level = models.PositiveSmallIntegerField(default=0)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    context = models.JSONField(default=dict, blank=True)
    #: What a person's release decided, for the order as it then was (``exceptions.decisions``):
    #: the decision stands until the order changes materially.
    decision = models.JSONField(default=dict, blank=True)
    #: What triage's hold-outcome model recommends, written by ``triage`` only when the model is
    #: in "suggest" mode (label, probability, text, factors, model, version); empty otherwise.
    #: Kept here, not in triage, so the queue row reads it without importing triage.
    suggestion = models.JSONField(default=dict, blank=True)
    resolution_code = models.CharField(max_length=32, blank=True)
    resolution_note = models.TextField(blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    first_approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    second_approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # History is read by order and by date: no index on the other foreign keys and the queue.
    history = HistoricalRecords(
        **BULK_HISTORY,
        # a model's recommendation is recorded with its version in triage's predictions
        excluded_fields=["suggestion"],
        no_db_index=[
            "line",
            "reason",
            "queue",
            "assignee",
            "resolved_by",
            "first_approver",
            "second_approver",
        ],
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["order", "reason", "scope"],
                condition=ACTIVE_CONDITION,
                name="exceptions_hold_one_active_per_finding",
            )
        ]
        indexes = [
            # Queue pages: active holds of one queue, by priority / age / value, keyset on id.
            # Partial on the active states, so the page reads the index in its sort order and
            # stops after one page (with state in the key, three states meant sorting them all).
            models.Index(
                fields=["queue", "-priority_score", "-id"],
                name="hold_active_priority",
                condition=ACTIVE_CONDITION,
            ),
            models.Index(
                fields=["queue", "raised_at", "id"],
                name="hold_active_age",
                condition=ACTIVE_CONDITION,
            ),
            models.Index(
                fields=["queue", "-value_at_risk", "-id"],
                name="hold_active_value",
                condition=ACTIVE_CONDITION,
            ),
            models.Index(fields=["assignee", "state"], name="hold_assignee"),
            models.Index(fields=["order", "state"], name="hold_order_state"),
        ]

    def __str__(self) -> str:
        return f"{self.reason_id} on {self.order_id}"

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES

    # -- transitions: state and the fields that go with it; services lock, save and notify --

    @transition(
        state, source=H.OPEN, target=H.CLAIMED, permission=queue_member, custom={"label": "Claim"}
    )
    def claim(self, *, by) -> None:
        self.assignee = by

    @transition(
        state, source=H.CLAIMED, target=H.OPEN, permission=queue_member, custom={"label": "Unclaim"}
    )
    def unclaim(self) -> None:
        self.assignee = None

    @transition(
        state,
        source=[H.OPEN, H.CLAIMED],
        target=H.CLAIMED,
        permission=queue_member,
        custom={"label": "Reassign"},
    )
    def reassign(self, *, to) -> None:
        self.assignee = to

    @transition(
        state,
        source=H.CLAIMED,
        target=H.RELEASED,
        permission=queue_member,
        custom={"label": "Release"},
    )
    def release(self, *, by, code: str, note: str, at) -> None:
        self.first_approver = by
        self._resolve(by=by, code=code, note=note, at=at)

    @transition(
        state,
        source=H.CLAIMED,
        target=H.AWAITING_SECOND_APPROVAL,
        permission=queue_member,
        custom={"label": "Release (needs second approval)"},
    )
    def request_second_approval(self, *, by, code: str, note: str) -> None:
        self.first_approver = by
        self.resolution_code = code
        self.resolution_note = note

    @transition(
        state,
        source=H.AWAITING_SECOND_APPROVAL,
        target=H.RELEASED,
        permission=queue_member,
        custom={"label": "Approve release"},
    )
    def approve(self, *, by, note: str, at) -> None:
        self.second_approver = by
        self._resolve(
            by=by, code=self.resolution_code, note=f"{self.resolution_note}\n{note}".strip(), at=at
        )

    @transition(
        state,
        source=H.AWAITING_SECOND_APPROVAL,
        target=H.CLAIMED,
        permission=lambda instance, user: False,  # o2c's own step, offered to nobody
        custom={"label": "Sent back: the order changed"},
    )
    def send_back(self) -> None:
        """The order changed while the release waited for its second approver, and the hold
        is now for more than its first approver released: theirs to decide again."""
        self.first_approver = None
        self.resolution_code = self.resolution_note = ""

    @transition(
        state,
        source=[H.CLAIMED, H.AWAITING_SECOND_APPROVAL],
        target=H.REJECTED,
        permission=queue_member,
        custom={"label": "Reject"},
    )
    def reject(self, *, by, code: str, note: str, at) -> None:
        self._resolve(by=by, code=code, note=note, at=at)

    @transition(
        state,
        source=list(ACTIVE_STATES),
        target=H.RELEASED,
        permission=queue_member,
        custom={"label": "Cleared"},
    )
    def clear(self, *, by, note: str, at) -> None:
        """The cause is gone (re-evaluation no longer finds it): released without an override."""
        self._resolve(by=by, code="CLEARED", note=note, at=at)

    @transition(
        state,
        source=H.OPEN,
        target=H.RELEASED,
        permission=model_actor,
        custom={"label": "Released by a model"},
    )
    def auto_release(self, *, by, note: str, at) -> None:
        """A model in act mode, inside its limits (``hold_auto_release`` checks them)."""
        self.first_approver = by
        self._resolve(by=by, code=MODEL_RELEASE, note=note, at=at)

    @transition(
        state,
        source=H.RELEASED,
        target=H.OPEN,
        conditions=[released_by_model],
        permission=queue_member,
        custom={"label": "Undo the model's release"},
    )
    def reinstate(self, *, at) -> None:
        """A person undoes a model's release: the hold waits in its queue again, undecided, due
        by its reason's SLA from now (the time the model's release took is not held against it)."""
        self.first_approver = self.resolved_by = self.resolved_at = self.assignee = None
        self.resolution_code = self.resolution_note = ""
        self.decision = {}
        self.due_at = at + timedelta(hours=self.reason.sla_hours)
        self.escalation_level = 0

    def _resolve(self, *, by, code: str, note: str, at) -> None:
        self.resolution_code = code
        self.resolution_note = note
        self.resolved_by = by
        self.resolved_at = at


class Notification(models.Model):
    """An in-app notice (escalations, assignments, approvals, mentions in a note); shown in the
    navigation until read. It links to its hold, else to its order, when it has one."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    hold = models.ForeignKey(
        Hold, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    #: what it is about (core.models.NoticeKind): the person's preference for the kind decides
    #: whether it is also mailed at once, or in their daily digest
    kind = models.CharField(max_length=20, blank=True)
    message = models.CharField(max_length=300)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)
    #: when a daily digest listed it: a notice is in one digest at most
    digested_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_unread")]

    def __str__(self) -> str:
        return self.message
