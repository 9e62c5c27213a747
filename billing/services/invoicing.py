"""Invoicing from shipment events, under each customer's billing rule.

- immediate: every shipment is invoiced as soon as it commits;
- hold_for_pod: a shipment is invoiced when its proof of delivery arrives (or finance waives it);
  a POD overdue by the policy's days raises a billing hold;
- consolidated_daily / consolidated_weekly: a beat task builds one invoice per customer per window.

An invoice bills the shipped quantity at the line's agreed price, with tax from the pluggable
calculator, rounded half-up to cents per line; the totals are the sums of the lines. An invoice
that needs finance (amount, first invoice, overridden price, over-shipment) waits for approval;
the rest are released at once.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import QuerySet, Sum
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from core.errors import ApplicationError, Conflict
from core.money import ZERO, round_money
from core.roles import get_system_user
from exceptions.services import hold_raise, holds_clear
from orders.extensions import blocking_reasons
from orders.lifecycle import Step
from orders.models import Customer, Order

from ..models import BillingPolicy, Invoice, InvoiceLine, Shipment, ShipmentLine, ShipmentState
from ..tax import TaxError, tax_calculator
from .approvals import invoice_release
from .numbering import save_with_next_number

logger = logging.getLogger(__name__)

R = Customer.BillingRule
TERMS_DAYS = {"NET15": 15, "NET30": 30, "NET45": 45, "NET60": 60, "PREPAID": 0}
#: Payment terms missing from master data fall back to the most common terms.
DEFAULT_TERMS_DAYS = 30


def billing_policy() -> BillingPolicy:
    policy = BillingPolicy.objects.order_by("pk").first()
    return policy or BillingPolicy.objects.create()


def due_date(issued_on: date, payment_terms: str) -> date:
    return issued_on + timedelta(days=TERMS_DAYS.get(payment_terms, DEFAULT_TERMS_DAYS))


def uninvoiced_lines() -> QuerySet[ShipmentLine]:
    """Shipment lines with something shipped and no live invoice line billing them."""
    return ShipmentLine.objects.filter(quantity__gt=0).exclude(invoice_lines__voided=False)


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime


def consolidation_window(rule: str, now: datetime) -> Window:
    """The last complete window before ``now``, in local time: yesterday, or last Monday–Sunday."""
    # TIME_ZONE's days, not those of whoever's request released a hold and so ran this.
    local = timezone.localtime(now, timezone.get_default_timezone())
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if rule == R.CONSOLIDATED_DAILY:
        return Window(start=midnight - timedelta(days=1), end=midnight)
    if rule == R.CONSOLIDATED_WEEKLY:
        monday = midnight - timedelta(days=midnight.weekday())
        return Window(start=monday - timedelta(days=7), end=monday)
    raise ApplicationError(f"“{rule}” is not a consolidated billing rule.")


# --- Building one invoice ------------------------------------------------------------------


@transaction.atomic
def invoice_create(
    *,
    customer: Customer,
    lines: list[ShipmentLine],
    actor=None,
    now: datetime | None = None,
    window: Window | None = None,
) -> Invoice:
    """Bill these shipment lines on one new invoice, then release it or send it for approval.
    Raises TaxError (nothing written) when tax cannot be determined, Conflict when invoicing of
    one of the orders is blocked by a hold."""
    actor = actor or get_system_user()
    now = now or timezone.now()
    lines = sorted(lines, key=lambda sl: (sl.shipment.shipped_at, sl.shipment_id, sl.pk))
    order_ids = sorted({sl.order_line.order_id for sl in lines})
    orders = {
        order.pk: order
        for order in Order.objects.select_for_update(of=("self",)).filter(pk__in=order_ids)
    }
    for order in orders.values():
        reasons = blocking_reasons(order, Step.INVOICE)
        if reasons:
            raise Conflict(f"Invoicing {order.number} is blocked: {'; '.join(reasons)}.")
    # Re-read under the order locks: a concurrent run may have billed some of these lines.
    fresh = set(
        uninvoiced_lines().filter(pk__in=[sl.pk for sl in lines]).values_list("pk", flat=True)
    )
    lines = [sl for sl in lines if sl.pk in fresh]
    if not lines:
        raise Conflict("These shipment lines were invoiced meanwhile.")
    rate = tax_calculator().rate_for(customer=customer, on=now.date())
    policy = billing_policy()
    invoice = Invoice(
        customer=customer,
        order_id=order_ids[0] if len(order_ids) == 1 else None,
        billing_rule=customer.billing_rule,
        window_start=window.start if window else None,
        window_end=window.end if window else None,
        currency=orders[order_ids[0]].currency,
        payment_terms=customer.payment_terms,
        issued_on=timezone.localdate(now, timezone.get_default_timezone()),
        due_date=due_date(
            timezone.localdate(now, timezone.get_default_timezone()), customer.payment_terms
        ),
        tax_region=customer.tax_region,
        created_at=now,
        created_by=actor,
        last_edited_by=actor,
        correlation_id=orders[order_ids[0]].correlation_id,
    )
    earliest = min(sl.shipment.shipped_at for sl in lines)
    invoice.shipment_to_invoice_seconds = max(0, int((now - earliest).total_seconds()))
    invoice_lines, reasons = _bill(lines, rate)
    invoice.subtotal = sum((line.amount for line in invoice_lines), ZERO)
    invoice.tax_total = sum((line.tax_amount for line in invoice_lines), ZERO)
    invoice.total = invoice.subtotal + invoice.tax_total
    if not Invoice.objects.filter(customer=customer).exclude(state="void").exists():
        reasons.insert(0, "The customer's first invoice")
    if invoice.total >= policy.approval_amount:
        reasons.insert(0, f"Total {invoice.total} is at or above {policy.approval_amount}")
    invoice.approval_tier = (
        Invoice.Tier.TWO
        if invoice.total >= policy.second_approval_amount
        else Invoice.Tier.ONE
        if reasons
        else Invoice.Tier.NONE
    )
    invoice.approval_reasons = reasons
    shipments = sorted({sl.shipment.external_id or str(sl.shipment_id) for sl in lines})
    why = f"Invoiced shipment{'s' if len(shipments) > 1 else ''} {', '.join(shipments)}"
    invoice._history_user = actor
    invoice._change_reason = why
    save_with_next_number(invoice, prefix="INV-")
    for line in invoice_lines:
        line.invoice = invoice
    bulk_create_with_history(
        invoice_lines, InvoiceLine, default_user=actor, default_change_reason=why
    )
    if invoice.approval_tier == Invoice.Tier.NONE:
        invoice_release(invoice, actor=actor, reason="Below every approval threshold")
    else:
        invoice.submit()
        invoice._history_user = actor
        invoice._change_reason = "Needs finance approval: " + "; ".join(reasons)
        invoice.save()
    return invoice


def _bill(lines: list[ShipmentLine], rate: Decimal) -> tuple[list[InvoiceLine], list[str]]:
    """Invoice lines for the shipped quantities, and the reasons finance must look at them."""
    reasons: list[str] = []
    # What each order line has on live invoices already, pending ones included: an over-shipment
    # split over two shipments must not slip through while the first invoice waits for approval.
    billed_so_far: dict[int, Decimal] = defaultdict(lambda: ZERO)
    billed_so_far.update(
        InvoiceLine.objects.filter(order_line__in={sl.order_line_id for sl in lines}, voided=False)
        .values("order_line")
        .annotate(q=Sum("quantity"))
        .values_list("order_line", "q")
    )
    result = []
    for number, sl in enumerate(lines, start=1):
        order_line = sl.order_line
        # The agreed price: the contract price where one applies, unless a person set another
        # price on purpose (then that price, and finance approves it).
        overridden = order_line.price_overridden_by_id is not None
        if overridden or order_line.contract_price is None:
            price = order_line.unit_price
        else:
            price = order_line.contract_price
        if price is None:
            price = order_line.item.list_price
        already = billed_so_far[order_line.pk]
        over = min(sl.quantity, max(ZERO, already + sl.quantity - order_line.ordered_qty))
        billed_so_far[order_line.pk] += sl.quantity
        amount = round_money(sl.quantity * price)
        result.append(
            InvoiceLine(
                line_number=number,
                order_line=order_line,
                shipment_line=sl,
                description=f"{order_line.item.sku} {order_line.item.description}"[:250],
                quantity=sl.quantity,
                unit_price=price,
                amount=amount,
                tax_rate=rate,
                tax_amount=round_money(amount * rate),
                price_overridden=overridden,
                over_shipped_qty=over,
            )
        )
        if overridden:
            who = order_line.price_overridden_by
            reasons.append(
                f"Line {order_line.line_number}: price {price} set by "
                f"{who.get_full_name() or who.get_username()}"
            )
        if over > 0:
            reasons.append(
                f"Line {order_line.line_number}: {over} shipped beyond the {order_line.ordered_qty} ordered"
            )
    return result, reasons


# --- Which shipments to bill, and when -----------------------------------------------------


def _candidates(order_id: int | None = None) -> QuerySet[ShipmentLine]:
    queryset = uninvoiced_lines().select_related(
        "shipment",
        "order_line__item",
        # not the price's author: read only for an override (rare); a join fewer to plan on
        # every shipment
        "order_line__order__customer",
    )
    if order_id is not None:
        queryset = queryset.filter(shipment__order_id=order_id)
    return queryset


def _ready(sl: ShipmentLine) -> bool:
    """Is this line billable now under its customer's rule (consolidation aside)?"""
    rule = sl.order_line.order.customer.billing_rule
    if rule == R.IMMEDIATE:
        return True
    if rule == R.HOLD_FOR_POD:
        return (
            sl.shipment.state == ShipmentState.DELIVERED or sl.shipment.pod_waived_by_id is not None
        )
    return False


def shipments_invoice(
    *, order_id: int | None = None, now: datetime | None = None, actor=None
) -> list[Invoice]:
    """Invoice every shipment that is billable now (immediate, or delivered for hold-for-POD), one
    invoice per shipment. Runs after each shipment and delivery commits, and from beat as a
    catch-up, so a crash between a shipment and its invoice loses nothing. Idempotent. ``actor``
    is the system user when the caller has it at hand (None: looked up)."""
    by_shipment: dict[int, list[ShipmentLine]] = defaultdict(list)
    for sl in _candidates(order_id):
        if _ready(sl):
            by_shipment[sl.shipment_id].append(sl)
    invoices = []
    for lines in by_shipment.values():
        invoice = _invoice_or_hold(lines[0].order_line.order.customer, lines, now=now, actor=actor)
        if invoice is not None:
            invoices.append(invoice)
    return invoices


def _invoice_or_hold(customer, lines, *, now=None, window=None, actor=None) -> Invoice | None:
    """Create the invoice; a tax failure raises a billing hold on each order instead, and a hold
    blocking invoicing leaves the lines for the next run."""
    order_ids = sorted({sl.order_line.order_id for sl in lines})
    try:
        invoice = invoice_create(
            customer=customer, lines=lines, now=now, window=window, actor=actor
        )
    except TaxError as exc:
        for order_id in order_ids:
            hold_raise(
                order_id=order_id,
                reason_code="TAX_FAILED",
                context={"error": str(exc), "tax_region": customer.tax_region},
                value=sum((sl.quantity * (sl.order_line.unit_price or ZERO) for sl in lines), ZERO),
            )
        return None
    except Conflict as exc:
        logger.info("Invoicing deferred for orders %s: %s", order_ids, exc.message)
        return None
    for order_id in order_ids:
        holds_clear(
            order_id=order_id,
            reason_code="TAX_FAILED",
            note=f"Invoiced as {invoice.number}",
            actor=actor,
        )
    return invoice


def invoices_consolidate(*, rule: str, now: datetime | None = None) -> list[Invoice]:
    """Beat task body: one invoice per customer and currency on ``rule`` for every shipment
    shipped before the end of the last complete window and not yet invoiced, the lines of
    orders a hold keeps from invoicing left out. A second run for the same window finds its
    invoice and does nothing."""
    now = now or timezone.now()
    window = consolidation_window(rule, now)
    # one invoice per customer and currency: an invoice is in one currency, and a customer may
    # order in two
    by_customer: dict[tuple[int, str], list[ShipmentLine]] = defaultdict(list)
    blocked: dict[int, bool] = {}
    for sl in _candidates().filter(
        shipment__shipped_at__lt=window.end, order_line__order__customer__billing_rule=rule
    ):
        order = sl.order_line.order
        if order.pk not in blocked:
            blocked[order.pk] = bool(blocking_reasons(order, Step.INVOICE))
        if blocked[order.pk]:
            # a hold stops this order's invoicing, not the customer's other orders': its lines
            # wait for the next window after the hold is cleared (its hold says why)
            continue
        by_customer[(order.customer_id, order.currency)].append(sl)
    invoices = []
    for (_, currency), lines in by_customer.items():
        customer = lines[0].order_line.order.customer
        if (
            Invoice.objects.filter(
                customer=customer, billing_rule=rule, window_end=window.end, currency=currency
            )
            .exclude(state="void")
            .exists()
        ):
            continue  # this window is billed; late arrivals go on the next one
        invoice = _invoice_or_hold(customer, lines, now=now, window=window)
        if invoice is not None:
            invoices.append(invoice)
    return invoices


def shipments_hold_pod_overdue(*, now: datetime | None = None) -> int:
    """Beat task body: raise a billing hold on each order with a hold-for-POD shipment whose proof
    of delivery is more than the policy's days late. Idempotent (one active hold per order)."""
    now = now or timezone.now()
    limit = now - timedelta(days=billing_policy().pod_overdue_days)
    late = (
        Shipment.objects.filter(
            state=ShipmentState.CONFIRMED,
            pod_waived_by__isnull=True,
            shipped_at__lt=limit,
            order__customer__billing_rule=R.HOLD_FOR_POD,
        )
        .select_related("order")
        .order_by("shipped_at")
    )
    by_order: dict[int, list[Shipment]] = defaultdict(list)
    for shipment in late:
        by_order[shipment.order_id].append(shipment)
    for order_id, shipments in by_order.items():
        hold_raise(
            order_id=order_id,
            reason_code="POD_OVERDUE",
            context={
                "shipments": [s.external_id or str(s.pk) for s in shipments],
                "shipped_at": shipments[0].shipped_at.isoformat(),
                "days_late": (now - shipments[0].shipped_at).days,
            },
        )
    return len(by_order)


@transaction.atomic
def shipments_waive_pod(*, order_id: int, actor, reason: str) -> int:
    """Finance chose to bill without proof of delivery (a released POD hold): mark the order's
    undelivered shipments waived, so they invoice now."""
    waived = 0
    for shipment in Shipment.objects.select_for_update(of=("self",)).filter(
        order_id=order_id, state=ShipmentState.CONFIRMED, pod_waived_by__isnull=True
    ):
        shipment.pod_waived_by = actor
        shipment._history_user = actor
        shipment._change_reason = f"Invoiced without proof of delivery: {reason}"
        shipment.save()
        waived += 1
    return waived


def pod_hold_clear(*, order_id: int, now: datetime | None = None) -> None:
    """After a delivery commits: the POD hold goes if no other shipment of the order is late."""
    limit = (now or timezone.now()) - timedelta(days=billing_policy().pod_overdue_days)
    overdue = Shipment.objects.filter(
        order_id=order_id,
        state=ShipmentState.CONFIRMED,
        pod_waived_by__isnull=True,
        shipped_at__lt=limit,
    ).exists()
    if not overdue:
        holds_clear(order_id=order_id, reason_code="POD_OVERDUE", note="Proof of delivery arrived")
