"""The one facts builder the hold rules read: a batch of orders' facts gathered set-wise, in a
fixed number of queries whatever the batch's size. Evaluating one order is a batch of one, so an
entered, edited or re-evaluated order and a burst of imported ones are judged on the same facts.

Orders are walked in the order given and each sees the ones before it, as if they had been
evaluated one after another: an earlier order of the same customer released touchless counts
toward the later one's credit exposure, and counts among its recent orders for the anomaly rule.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from statistics import median

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection
from django.db.models import F, OuterRef, Sum, Value, Window
from django.db.models.functions import Greatest, RowNumber

from core.money import CENT, ZERO
from orders.extensions import ar_adjustments, credit_standings, worst_credit_status
from orders.models import (
    EXPOSED_STATES,
    ARBalance,
    Customer,
    InventoryPosition,
    Order,
    OrderLine,
    OrderState,
)
from orders.services import lock_credit

from .extensions import anomaly_scores
from .rules import CustomerFacts, LineFacts, OrderFacts


def stock_of(item_ids) -> dict:
    """Stock per item across warehouses: available (WMS on hand − allocated), ERP and WMS."""
    stock = defaultdict(lambda: {"available": ZERO, "erp": ZERO, "wms": ZERO})
    for row in (
        InventoryPosition.objects.filter(item_id__any=item_ids)
        .values("item_id")
        .annotate(wms=Sum("wms_on_hand"), erp=Sum("erp_on_hand"), allocated=Sum("allocated"))
    ):
        stock[row["item_id"]] = {
            "available": row["wms"] - row["allocated"],
            "erp": row["erp"],
            "wms": row["wms"],
        }
    return stock


def _exposure(customer_ids: set[int]) -> dict[int, Decimal]:
    # Orders under evaluation are received or on hold, never exposed, so none of the batch's
    # own orders is in these sums (an imported batch's rows are not even stored yet); a released
    # or allocated one judged again after an amendment is, and ``for_order`` takes it out.
    # What released invoices billed of an order is in receivables, and is not counted again.
    return {
        row["customer_id"]: row["total"] or ZERO
        for row in Order.objects.filter(customer_id__any=customer_ids, state__in=EXPOSED_STATES)
        .values("customer_id")
        .annotate(total=Sum(uninvoiced()))
        .order_by()
    }


def uninvoiced():
    """``Order.uninvoiced_amount`` in SQL, to sum over a customer's orders."""
    return Greatest(F("total") - F("invoiced_amount"), Value(ZERO))


def recent_orders(customer_ids: set[int], before: datetime, depth: int) -> dict[int, list[int]]:
    """Each customer's last ``depth`` orders received before ``before``, newest first."""
    recent = defaultdict(list)
    if depth <= 0:
        return recent
    earlier = Order.objects.filter(received_at__lt=before).exclude(state=OrderState.CANCELLED)
    if connection.vendor == "postgresql":
        # ``depth`` rows per customer off the (customer, -received_at) index; ranking with a
        # window read every order the batch's customers ever placed (~1/3 of an import's SQL).
        newest = earlier.filter(customer_id=OuterRef("pk")).order_by("-received_at")
        rows = Customer.objects.filter(pk__any=customer_ids).values_list(
            "pk", ArraySubquery(newest.values("id")[:depth])
        )
        recent.update((customer_id, ids) for customer_id, ids in rows if ids)
        return recent
    rows = (
        earlier.filter(customer_id__in=customer_ids)
        .annotate(
            rank=Window(
                RowNumber(), partition_by=[F("customer_id")], order_by=F("received_at").desc()
            )
        )
        .filter(rank__lte=depth)
        .order_by("customer_id", "rank")
        .values_list("customer_id", "id")
    )
    for customer_id, order_id in rows:
        recent[customer_id].append(order_id)
    return recent


def recent_lines(order_ids) -> list[tuple]:
    """(order id, item id, ordered quantity, cancelled) of every line of these orders."""
    if connection.vendor != "postgresql":
        return list(
            OrderLine.objects.filter(order_id__in=order_ids).values_list(
                "order_id", "item_id", "ordered_qty", "cancelled"
            )
        )
    # Ten earlier orders of four lines for each order of a batch: thousands of rows, read as
    # raw tuples with the ids as one array parameter (the ORM's IN list of thousands of
    # parameters and its rows cost a third more). Every line, whatever its item: the planner,
    # not knowing the arrays, added the item index to the order one and walked every line ever
    # ordered of the batch's items (60 ms of a 62 ms query at 1M orders); and the anomaly
    # scorers read the same rows for the orders' shapes.
    meta, quote = OrderLine._meta, connection.ops.quote_name
    columns = ", ".join(
        quote(meta.get_field(name).column) for name in ("order", "item", "ordered_qty", "cancelled")
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns} FROM {quote(meta.db_table)} "  # noqa: S608
            f"WHERE {quote(meta.get_field('order').column)} = ANY(%s)",
            [list(order_ids)],
        )
        return cursor.fetchall()


class BatchFacts:
    """The facts of a batch of orders, read once; ``facts`` and ``record`` walk the batch.

    ``lines_of`` maps each order's id to the lines the rules judge (``judged_lines``). Reading
    takes the batch's customers' credit locks (``orders.services.lock_credit``), held to the
    commit, so the caller must be inside the transaction that acts on the findings; only a read
    that acts on nothing may pass ``lock=False``. ``score``: ask the declared anomaly scorers
    (``exceptions.extensions``) once for the whole batch; a read that acts on nothing passes
    False, so no prediction is recorded for it.
    """

    def __init__(
        self,
        orders: list[Order],
        lines_of: dict[int, list[OrderLine]],
        *,
        depth: int,
        lock: bool = True,
        score: bool = True,
    ):
        customer_ids = {order.customer_id for order in orders}
        item_ids = {line.item_id for lines in lines_of.values() for line in lines}
        self.ar = {
            row.customer_id: row for row in ARBalance.objects.filter(customer_id__any=customer_ids)
        }
        # o2c's own open invoices in place of what the ERP's snapshot says of them (billing)
        self.ar_extra = ar_adjustments({cid: self.ar.get(cid) for cid in customer_ids})
        # o2c's own view of how the customer pays (collections: watch or block when past due)
        self.standings = credit_standings(customer_ids)
        self.stock = stock_of(item_ids)
        self.recent = recent_orders(customer_ids, min(order.received_at for order in orders), depth)
        self.earlier = defaultdict(list)  # (order id, item id) -> quantities of earlier orders
        earlier_lines = recent_lines({oid for ids in self.recent.values() for oid in ids})
        for order_id, item_id, quantity, _cancelled in earlier_lines:
            if item_id in item_ids:
                self.earlier[(order_id, item_id)].append(quantity)
        # Another worker's import, or a person's release, of these customers' orders is waited
        # for here, after every other read: the lock is held to the commit, and the reads
        # before it (the earlier orders' lines above all) were a third of the time two workers
        # took turns.
        # before the lock: the model reads the customers' own history, not their exposure
        self.anomaly = (
            anomaly_scores(orders, lines_of, recent=self.recent, depth=depth, lines=earlier_lines)
            if score
            else {}
        )
        if lock:
            lock_credit(customer_ids)
        self.exposure = defaultdict(lambda: ZERO, _exposure(customer_ids))

    def facts(self, order: Order, lines: list[OrderLine], *, history_orders: int) -> OrderFacts:
        """The rules' view of ``order``, counting the batch's orders before it."""
        history = self.recent[order.customer_id][:history_orders]
        quantities = defaultdict(list)
        for line in lines:
            item_id, found = line.item_id, []
            for order_id in history:
                found += self.earlier.get((order_id, item_id), ())
            quantities[item_id] += found
        ar = self.ar.get(order.customer_id)
        customer = order.customer
        return OrderFacts(
            order_total=order.total,
            has_ship_to=order.ship_to_id is not None,
            customer=CustomerFacts(
                credit_limit=customer.credit_limit,
                credit_status=worst_credit_status(
                    customer.credit_status, self.standings.get(order.customer_id, "ok")
                ),
                # never below zero: a snapshot missing invoices o2c posted must not make room
                open_ar=max(
                    ZERO,
                    (ar.open_amount if ar else ZERO) + self.ar_extra.get(order.customer_id, ZERO),
                ),
                oldest_past_due_days=ar.oldest_past_due_days if ar else 0,
                # SQLite sums decimals loosely; money stays in cents
                released_uninvoiced=self.released_before(order).quantize(CENT),
                payment_terms=customer.payment_terms,
                tax_region=customer.tax_region,
            ),
            lines=tuple(_line_facts(line, self.stock, quantities) for line in lines),
            anomaly=self.anomaly.get(order.pk),
        )

    def released_before(self, order: Order) -> Decimal:
        """The customer's released, uninvoiced orders other than ``order``: a released order
        judged again (after an amendment, or to show a hold's figures today) is in the sum it
        was read with, and must not count twice."""
        exposure = self.exposure[order.customer_id]
        if order.state not in EXPOSED_STATES:
            return exposure
        return exposure - order.uninvoiced_amount

    def record(self, order: Order, lines: Iterable[OrderLine], *, released: bool) -> None:
        """``order`` was judged: the batch's later orders see it as the customer's newest, and
        as exposure if it was released."""
        if released:
            self.exposure[order.customer_id] += order.total
        self.recent[order.customer_id].insert(0, order.pk)
        for line in lines:
            self.earlier[(order.pk, line.item_id)].append(line.ordered_qty)


def judged_lines(order: Order) -> list[OrderLine]:
    """The lines of a stored order that the rules judge: not cancelled, by line number."""
    return list(order.lines.filter(cancelled=False).select_related("item").order_by("line_number"))


def order_facts(order: Order, *, history_orders: int) -> OrderFacts:
    """One stored order's facts, a batch of one, without its customer's credit lock: for reads
    that act on nothing (the demo's seeded holds show what the rules would find)."""
    lines = judged_lines(order)
    batch = BatchFacts([order], {order.pk: lines}, depth=history_orders, lock=False, score=False)
    return batch.facts(order, lines, history_orders=history_orders)


def _line_facts(line, stock, quantities) -> LineFacts:
    # each related value read once: a batch assembles this for thousands of lines
    item, item_id = line.item, line.item_id
    on_hand, history = stock[item_id], quantities[item_id]
    return LineFacts(
        line_id=line.pk,
        sku=item.sku,
        quantity=line.ordered_qty,
        unit_price=line.unit_price,
        contract_price=line.contract_price,
        list_price=item.list_price,
        unit_cost=item.unit_cost,
        available=on_hand["available"],
        erp_on_hand=on_hand["erp"],
        wms_on_hand=on_hand["wms"],
        median_quantity=Decimal(median(history)) if history else None,
    )
