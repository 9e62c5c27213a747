"""The canonical order and its lines, with the order lifecycle state machine."""

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django_fsm import ConcurrentTransitionMixin, FSMField, FSMModelMixin, transition
from simple_history.models import HistoricalRecords

from core.audit import BULK_HISTORY
from core.roles import Role, has_role, is_system_user

from ..extensions import blocking_reasons
from ..lifecycle import Step
from .master import MONEY, NON_NEGATIVE, PRICE, QTY, Customer, ExternalRef, Item, ShipTo, Warehouse


class OrderState(models.TextChoices):
    RECEIVED = "received", "Received"  # stored, rules not yet run
    ON_HOLD = "on_hold", "On hold"  # at least one blocking hold is open
    RELEASED = "released", "Released"  # cleared for the warehouse
    ALLOCATED = "allocated", "Allocated"  # stock reserved
    PARTIALLY_SHIPPED = "partially_shipped", "Partially shipped"
    SHIPPED = "shipped", "Shipped"  # every line shipped in full
    PARTIALLY_INVOICED = "partially_invoiced", "Partially invoiced"
    INVOICED = "invoiced", "Invoiced"  # every line invoiced in full
    CLOSED = "closed", "Closed"  # finished, nothing left to do
    CANCELLED = "cancelled", "Cancelled"


#: Orders whose value counts toward the customer's credit exposure: released, not yet invoiced
#: in full (what released invoices billed of them, ``invoiced_amount``, is in receivables).
EXPOSED_STATES = [
    OrderState.RELEASED,
    OrderState.ALLOCATED,
    OrderState.PARTIALLY_SHIPPED,
    OrderState.SHIPPED,
    OrderState.PARTIALLY_INVOICED,
]


class Channel(models.TextChoices):
    EDI = "edi", "EDI"
    ECOMMERCE = "ecommerce", "eCommerce"
    INSIDE_SALES = "inside_sales", "Inside sales"
    PORTAL = "portal", "Portal"
    API = "api", "API"


def _allowed(*roles: str):
    """Transition permission: the system user or any of the given roles (managers always)."""

    def check(instance, user) -> bool:
        return is_system_user(user) or has_role(user, Role.MANAGER, *roles)

    return check


S = OrderState
SHIPPABLE = [S.ALLOCATED, S.PARTIALLY_SHIPPED, S.PARTIALLY_INVOICED]
INVOICEABLE = [S.SHIPPED, S.PARTIALLY_SHIPPED, S.PARTIALLY_INVOICED]


class Order(ConcurrentTransitionMixin, FSMModelMixin, ExternalRef):
    number = models.CharField(max_length=32, unique=True)
    channel = models.CharField(max_length=16, choices=Channel)
    # indexed by orders_order_customer (customer, newest first): a second index on the column
    # alone would only cost every insert and state change
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="orders", db_index=False
    )
    ship_to = models.ForeignKey(
        ShipTo, on_delete=models.PROTECT, null=True, blank=True, related_name="orders"
    )
    requested_date = models.DateField(null=True, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    subtotal = models.DecimalField(**MONEY, default=Decimal("0"))
    tax_total = models.DecimalField(**MONEY, default=Decimal("0"))
    total = models.DecimalField(**MONEY, default=Decimal("0"))
    #: What released invoices have billed of it (lines and tax): that part is in receivables
    #: (o2c's own, or the ERP's), so credit exposure counts only ``total`` less this.
    invoiced_amount = models.DecimalField(**MONEY, default=Decimal("0"))
    state = FSMField(default=S.RECEIVED, choices=OrderState, protected=True)  # state_keyset
    correlation_id = models.UUIDField(default=uuid.uuid4, db_index=True)
    received_at = models.DateTimeField()
    released_at = models.DateTimeField(null=True, blank=True)
    #: The upstream version last applied (an ERP record's "version"): a newer one is an
    #: amendment, an older or equal one changes nothing. Orders entered in o2c stay at 1.
    source_version = models.PositiveIntegerField(default=1)
    #: What triage's late-shipment model expects of a released order (probability of missing
    #: its requested date, text, factors, model, version), written by ``triage`` only in a mode
    #: people see; empty otherwise. Kept here so the order page and API read it without triage.
    ship_risk = models.JSONField(default=dict, blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # History is read by order (id) and by date; simple-history would also index every foreign
    # key and indexed column of it, a dozen indexes written with each of an order's rows.
    history = HistoricalRecords(
        **BULK_HISTORY,
        # a model's expectation is recorded with its version in triage's predictions
        excluded_fields=["ship_risk"],
        no_db_index=[
            "customer",
            "ship_to",
            "entered_by",
            "last_edited_by",
            "number",
            "state",
            "correlation_id",
        ],
    )

    class Meta(ExternalRef.Meta):
        indexes = [
            # Keyset pagination of the order list, newest first, with and without a state filter.
            models.Index(fields=["-received_at", "-id"], name="orders_order_keyset"),
            models.Index(fields=["state", "-received_at", "-id"], name="orders_order_state_keyset"),
            models.Index(fields=["customer", "-received_at"], name="orders_order_customer"),
            # A customer's exposure (the credit rule, per order and per import batch) is read
            # off this index alone, instead of from every order the customer ever placed.
            models.Index(
                fields=["customer"],
                include=["total", "invoiced_amount"],
                condition=Q(state__in=EXPOSED_STATES),
                name="orders_order_exposure",
            ),
            # A customer's held orders, judged again when its cash is applied: a bank file's
            # payers (hundreds) have a few held orders each, where the state index read every
            # held order (100,000 at full scale, ~100 ms a judging against ~25 ms).
            models.Index(
                fields=["customer"],
                condition=Q(state=OrderState.ON_HOLD),
                name="orders_order_held",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def uninvoiced_amount(self) -> Decimal:
        """Its value no released invoice has billed yet, the part credit exposure counts (never
        below zero: a billed over-shipment can take invoices past the order's total);
        ``exceptions.facts.uninvoiced`` is the same in SQL."""
        return max(self.total - self.invoiced_amount, Decimal("0"))

    # -- conditions (read the lines; services prefetch them) --

    def _lines(self):
        """The lines still to deliver: a cancelled line neither ships nor invoices."""
        return [line for line in self.lines.all() if not line.cancelled]

    def release_not_blocked(self) -> bool:
        return not blocking_reasons(self, Step.RELEASE)

    def ship_not_blocked(self) -> bool:
        return not blocking_reasons(self, Step.SHIP)

    def invoice_not_blocked(self) -> bool:
        return not blocking_reasons(self, Step.INVOICE)

    def fully_shipped(self) -> bool:
        lines = self._lines()
        return bool(lines) and all(line.shipped_qty >= line.due_qty for line in lines)

    def partly_shipped(self) -> bool:
        return not self.fully_shipped() and any(line.shipped_qty > 0 for line in self._lines())

    def fully_invoiced(self) -> bool:
        lines = self._lines()
        return bool(lines) and all(line.invoiced_qty >= line.due_qty for line in lines)

    def partly_invoiced(self) -> bool:
        return not self.fully_invoiced() and any(line.invoiced_qty > 0 for line in self._lines())

    # -- transitions: state only, no side effects (services lock, save and notify) --

    @transition(
        state,
        # an allocated order has not shipped: holding it withdraws the WMS's instruction
        source=[S.RECEIVED, S.RELEASED, S.ALLOCATED],
        target=S.ON_HOLD,
        permission=_allowed(Role.CUSTOMER_SERVICE, Role.CREDIT, Role.PRICING, Role.WAREHOUSE),
        custom={"label": "Put on hold", "manual": True},
    )
    def place_on_hold(self) -> None:
        pass

    @transition(
        state,
        source=[S.RECEIVED, S.ON_HOLD],
        target=S.RELEASED,
        conditions=[release_not_blocked],
        permission=_allowed(Role.CUSTOMER_SERVICE, Role.CREDIT),
        custom={"label": "Release", "manual": True},
    )
    def release(self, *, at) -> None:
        self.released_at = at

    @transition(
        state,
        source=S.RELEASED,
        target=S.ALLOCATED,
        conditions=[ship_not_blocked],
        permission=_allowed(Role.WAREHOUSE),
        custom={"label": "Allocate", "manual": True},
    )
    def allocate(self) -> None:
        pass

    @transition(
        state,
        source=S.RELEASED,
        target=S.ALLOCATED,
        # The WMS confirming stock it already picked and shipped: a fact, recorded whatever holds
        # are open (the shipment then raises its own hold); ``allocate`` is o2c's decision.
        permission=_allowed(Role.WAREHOUSE),
        custom={"label": "Record allocation", "admin": False},
    )
    def record_allocation(self) -> None:
        pass

    @transition(
        state,
        source=SHIPPABLE,
        target=S.PARTIALLY_SHIPPED,
        # No hold guard: a ship confirmation records what already left the dock. Holds block
        # o2c's decisions (release, allocate, invoice), never the recording of a fact.
        conditions=[partly_shipped],
        permission=_allowed(Role.WAREHOUSE),
        custom={"label": "Record partial shipment", "admin": False},
    )
    def ship_partially(self) -> None:
        pass

    @transition(
        state,
        source=SHIPPABLE,
        target=S.SHIPPED,
        conditions=[fully_shipped],
        permission=_allowed(Role.WAREHOUSE),
        custom={"label": "Record shipment", "admin": False},
    )
    def ship(self) -> None:
        pass

    @transition(
        state,
        source=INVOICEABLE,
        target=S.PARTIALLY_INVOICED,
        conditions=[invoice_not_blocked, partly_invoiced],
        permission=_allowed(Role.FINANCE),
        custom={"label": "Record partial invoice", "admin": False},
    )
    def invoice_partially(self) -> None:
        pass

    @transition(
        state,
        source=INVOICEABLE,
        target=S.INVOICED,
        conditions=[invoice_not_blocked, fully_invoiced],
        permission=_allowed(Role.FINANCE),
        custom={"label": "Record invoice", "admin": False},
    )
    def invoice(self) -> None:
        pass

    @transition(
        state,
        source=S.INVOICED,
        target=S.CLOSED,
        permission=_allowed(Role.FINANCE),
        custom={"label": "Close", "manual": True},
    )
    def close(self) -> None:
        pass

    @transition(
        state,
        source=[S.RECEIVED, S.ON_HOLD, S.RELEASED, S.ALLOCATED],
        target=S.CANCELLED,
        permission=_allowed(Role.CUSTOMER_SERVICE, Role.CREDIT),
        custom={"label": "Cancel order", "manual": True, "destructive": True},
    )
    def cancel(self) -> None:
        pass


class OrderLine(models.Model):
    # indexed by orders_line_unique (order, line_number)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines", db_index=False)
    line_number = models.PositiveIntegerField()
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="order_lines")
    warehouse = models.ForeignKey(
        Warehouse, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    ordered_qty = models.DecimalField(**QTY, validators=NON_NEGATIVE)
    allocated_qty = models.DecimalField(**QTY, default=Decimal("0"), validators=NON_NEGATIVE)
    shipped_qty = models.DecimalField(**QTY, default=Decimal("0"), validators=NON_NEGATIVE)
    invoiced_qty = models.DecimalField(**QTY, default=Decimal("0"), validators=NON_NEGATIVE)
    unit_price = models.DecimalField(**PRICE, null=True, blank=True, validators=NON_NEGATIVE)
    contract_price = models.DecimalField(**PRICE, null=True, blank=True)
    cancelled = models.BooleanField(
        default=False, help_text="Cancelled lines are kept for the record."
    )
    short_closed = models.BooleanField(
        default=False,
        help_text="Closed after a short shipment: what shipped is all this line will ship.",
    )
    price_overridden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who set a price other than the contract (or list) price; maker-checker reads it.",
    )
    history = HistoricalRecords(  # by order
        no_db_index=["item", "warehouse", "price_overridden_by"],
        **BULK_HISTORY,
    )

    class Meta:
        ordering = ["order_id", "line_number"]
        constraints = [
            models.UniqueConstraint(fields=["order", "line_number"], name="orders_line_unique"),
            models.CheckConstraint(
                condition=Q(ordered_qty__gt=0), name="orders_line_positive_quantity"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}/{self.line_number}"

    @property
    def sku(self) -> str:
        return self.item.sku

    @property
    def due_qty(self) -> Decimal:
        """What this line still owes in full: the ordered quantity, or what shipped once the line
        was closed short."""
        return self.shipped_qty if self.short_closed else self.ordered_qty

    @property
    def default_price(self) -> Decimal:
        return self.contract_price if self.contract_price is not None else self.item.list_price
