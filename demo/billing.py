"""Demo billing: real shipments and invoices made through the services, so the finance desk has
work in every shape: first invoices, tier 1 and tier 2 approvals (one half-approved), released,
posted, paid and void invoices, a credit memo, a short shipment, an over-shipment, POD waiting
and overdue, a tax failure and a consolidated invoice."""

from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from billing.models import CreditReason, Invoice
from billing.services import (
    credit_memo_create,
    invoice_approve,
    invoice_mark_posted,
    invoice_void,
    invoices_consolidate,
    shipment_deliver,
    shipment_record,
    shipments_hold_pod_overdue,
    shipments_invoice,
)
from cases.models import ReturnReason
from cases.returns import return_authorise
from core.roles import get_system_user
from exceptions.services import order_evaluate
from orders.models import ARBalance, Customer, InventoryPosition, Order, OrderState, ShipTo
from orders.services import LineInput, order_create

#: The warehouse that ships the finance desk's orders when no WMS connector is named (tests).
SOURCE = "demo-wms"


FIN_NAMES = [
    "Harbor Foods",
    "Summit Industrial",
    "Bayline Medical",
    "Crescent Grocers",
    "Ridge Supply",
]


class _TooSmall(Exception):
    """The seeded master data is too small for a scenario (a tiny --customers run)."""


class _Demo:
    def __init__(self, wms: str):
        self.wms = wms
        users = get_user_model().objects.in_bulk(
            ["cs", "finance", "manager", "admin"], field_name="username"
        )
        self.cs, self.finance, self.manager = users["cs"], users["finance"], users["manager"]
        self.system = get_system_user()
        self.shipments = 0
        # Dear items whose ERP and WMS stock agree, so big orders stay within stock and release.
        self.items = list(
            InventoryPosition.objects.filter(
                erp_on_hand=F("wms_on_hand"), erp_on_hand__gte=F("allocated") + 150
            )
            .order_by("-item__list_price", "item__sku")
            .values_list("item__sku", "item__list_price")
            .distinct()[:40]
        )
        self.customers = 0

    def customer(self, rule: str, *, region: str = "US-MA") -> Customer:
        """A customer of the finance demo: clean credit, a dock, and the given billing rule."""
        self.customers += 1
        n = self.customers
        customer = Customer(
            source_system="demo",
            external_id=f"CF{n:03d}",
            number=f"CF{n:03d}",
            name=f"{FIN_NAMES[(n - 1) % len(FIN_NAMES)]} (finance demo)",
            segment=Customer.Segment.STRATEGIC,
            territory="NORTHEAST",
            credit_limit=Decimal("5000000"),
            payment_terms=Customer.PaymentTerms.NET30,
            billing_rule=rule,
            tax_region=region,
        )
        customer._history_user, customer._change_reason = self.system, "Demo customer for billing"
        customer.save()
        dock = ShipTo(
            customer=customer,
            code="MAIN",
            name="Main dock",
            address="1 Quay St",
            city="Boston",
            source_system="demo",
            external_id=f"CF{n:03d}-MAIN",
        )
        dock._history_user, dock._change_reason = self.system, "Demo customer for billing"
        dock.save()
        ar = ARBalance(customer=customer, as_of=timezone.now())
        ar._history_user, ar._change_reason = self.system, "Demo customer for billing"
        ar.save()
        return customer

    def order(self, customer: Customer, value: Decimal, *, lines: int = 2) -> Order | None:
        """A released order worth about ``value``; tries items until the rules let one through."""
        for _attempt in range(0, len(self.items) - lines, lines):
            chosen = self.items[:lines]
            self.items = self.items[lines:] + chosen  # rotate: the next order takes other items
            each = value / lines
            with transaction.atomic():
                order = order_create(
                    actor=self.cs,
                    customer_id=customer.pk,
                    channel="inside_sales",
                    ship_to_id=customer.ship_tos.values_list("pk", flat=True).first(),
                    lines=[
                        LineInput(
                            sku=sku, quantity=max(Decimal(1), (each / price).quantize(Decimal(1)))
                        )
                        for sku, price in chosen
                    ],
                    reason="Demo order for the finance desk",
                )
            order_evaluate(order_id=order.pk)
            order.refresh_from_db()
            if order.state == OrderState.RELEASED:
                return order
        raise _TooSmall("no item lets a demo order through the rules")

    def ship(self, order: Order, *, short=Decimal(0), over=Decimal(0), days_ago: float = 0.2):
        self.shipments += 1
        lines = list(order.lines.order_by("line_number"))
        quantities = {line.pk: line.ordered_qty for line in lines}
        quantities[lines[0].pk] += over - short
        shipment = shipment_record(
            actor=self.system,
            order_id=order.pk,
            # The confirmation of the warehouse the order's release went to, under the id that
            # warehouse gives it (the sandbox's SHP-<order>): when the sandbox confirms the same
            # release later, the inbox knows the shipment instead of parking it on an invoiced order.
            source=self.wms,
            external_id=f"SHP-{order.number}",
            quantities=quantities,
            shipped_at=timezone.now() - timedelta(days=days_ago),
            warehouse_code="DC-EAST",
            carrier="UPS",
            tracking_number=f"1Z{self.shipments:08d}",
        )
        shipments_invoice(order_id=order.pk)  # what runs after the shipment's commit
        return shipment

    def invoice_of(self, order: Order) -> Invoice:
        return Invoice.objects.filter(lines__order_line__order=order).distinct().latest("pk")


def seed_billing(*, wms: str = SOURCE) -> int:
    """Seed the finance desk once; returns how many invoices were made (0 when already there).
    ``wms`` names the warehouse connector that receives the demo orders' releases and confirms
    their shipments."""
    if Customer.objects.filter(source_system="demo", external_id="CF001").exists():
        return 0
    demo = _Demo(wms)
    if len(demo.items) < 4 or demo.finance is None:
        return 0
    try:
        with transaction.atomic():  # all or nothing: a half-seeded desk would confuse
            _scenarios(demo)
    except _TooSmall:
        return 0
    return (
        Invoice.objects.filter(lines__shipment_line__shipment__source_system=demo.wms)
        .distinct()
        .count()
    )


def _scenarios(demo: _Demo) -> None:
    # 1. An immediate customer: the first invoice waits (first invoice), then later ones flow.
    regular = demo.customer("immediate")
    first = demo.order(regular, Decimal("1800"))
    demo.ship(first, days_ago=3)
    invoice_approve(
        invoice_id=demo.invoice_of(first).pk, actor=demo.finance, reason="Demo: known account"
    )
    posted = demo.order(regular, Decimal("2400"))
    demo.ship(posted, days_ago=2)
    invoice_mark_posted(number=demo.invoice_of(posted).number, reference="AR-DEMO-1")
    paid = demo.order(regular, Decimal("900"))
    demo.ship(paid, days_ago=2)
    _paid_by_wire(demo.invoice_of(paid))
    credit_invoice = demo.invoice_of(posted)
    line = credit_invoice.lines.order_by("line_number").first()
    # finance credits by hand below the credit memo tier: one unit
    credit_memo_create(
        invoice_id=credit_invoice.pk,
        actor=demo.finance,
        quantities={line.pk: Decimal(1)},
        reason_code=CreditReason.DAMAGE,
        reason="Demo: a unit arrived damaged",
    )
    # customer service authorises a return of the first invoice's goods; the sandbox WMS
    # receives it (a unit short or damaged, by its switches) and the receipt is credited
    returned = demo.invoice_of(first)
    back = returned.lines.order_by("line_number").first()
    return_authorise(
        actor=demo.cs,
        invoice_id=returned.pk,
        reason=ReturnReason.ORDERED_IN_ERROR,
        quantities={back.pk: min(back.quantity, Decimal(2))},
        note="Demo: the customer ordered the wrong size",
    )
    # a short shipment (warehouse hold, invoice for what shipped) and an over-shipment
    demo.ship(demo.order(regular, Decimal("1200")), short=Decimal(1), days_ago=1)
    demo.ship(demo.order(regular, Decimal("1500")), over=Decimal(2), days_ago=1)

    # 2. Approvals by amount: tier 1, tier 2, and a tier 2 with its first approval given.
    big = demo.customer("immediate")
    demo.ship(demo.order(big, Decimal("3000")), days_ago=4)
    invoice_approve(
        invoice_id=Invoice.objects.filter(customer=big).latest("pk").pk,
        actor=demo.finance,
        reason="Demo",
    )
    demo.ship(demo.order(big, Decimal("18000")), days_ago=0.5)
    demo.ship(demo.order(big, Decimal("62000")), days_ago=0.4)
    half = demo.order(big, Decimal("75000"))
    demo.ship(half, days_ago=1)
    invoice_approve(
        invoice_id=demo.invoice_of(half).pk, actor=demo.manager, reason="Demo: first of two"
    )
    voided = demo.order(big, Decimal("11000"))
    demo.ship(voided, days_ago=0.3)
    invoice_void(
        invoice_id=demo.invoice_of(voided).pk,
        actor=demo.finance,
        reason="Demo: wrong PO",
        confirm=True,
    )

    # 3. Hold for POD: one delivered (invoiced), one overdue (billing hold).
    pod = demo.customer("hold_for_pod")
    delivered = demo.ship(demo.order(pod, Decimal("1100")), days_ago=2)
    shipment_deliver(
        actor=demo.system,
        source=demo.wms,
        external_id=delivered.external_id,
        delivered_at=timezone.now() - timedelta(days=1),
        signed_by="J. Dock",
    )
    shipments_invoice(order_id=delivered.order_id)
    demo.ship(demo.order(pod, Decimal("1300")), days_ago=8)
    shipments_hold_pod_overdue()

    # 4. A tax failure: a customer whose region has no rate yet.
    taxless = demo.customer("immediate", region="US-AK")
    demo.ship(demo.order(taxless, Decimal("700")), days_ago=1)

    # 5. Consolidated daily: two shipments yesterday, one invoice.
    daily = demo.customer("consolidated_daily")
    for value in (Decimal("800"), Decimal("650")):
        demo.ship(demo.order(daily, value), days_ago=1)
    invoices_consolidate(rule="consolidated_daily")


def _paid_by_wire(invoice) -> None:
    """The customer pays the invoice in full: a lockbox file naming it, matched and applied as
    any bank file is."""
    from core.roles import get_system_user
    from receivables.parsers import parse_lockbox
    from receivables.services import statement_store

    text = (
        "lockbox,batch,item,check_number,amount,payer_name,payer_account,deposit_date,"
        "invoice_reference,amount_paid,discount,adjustment,reason_code\n"
        f"LBX-DEMO,001,1,4471,{invoice.total},{invoice.customer.name.replace(',', ' ')},"
        f"021000021/90004471,{invoice.issued_on},{invoice.number},{invoice.total},,,\n"
    )
    for statement in parse_lockbox(text):
        statement_store(statement=statement, source="demo", actor=get_system_user())
