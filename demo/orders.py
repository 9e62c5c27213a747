"""Demo orders: every channel and lifecycle state, with history rows built step by step."""

import hashlib
from datetime import timedelta
from decimal import Decimal

from core.audit import set_state_for_insert
from core.money import ZERO, line_amount
from core.roles import Role
from orders.models import Channel, Order, OrderLine, OrderState

from .common import CHANNEL_MIX, DEMO_SOURCE, HOLD_REASONS, STATE_MIX
from .common import pick as _pick


def _path(final: str, held: bool) -> list[str]:
    s = OrderState
    head = [s.RECEIVED, s.ON_HOLD] if held else [s.RECEIVED]
    if final in (s.RECEIVED, s.ON_HOLD):
        return [s.RECEIVED] if final == s.RECEIVED else [s.RECEIVED, s.ON_HOLD]
    if final == s.CANCELLED:
        return [*head, s.CANCELLED]
    flow = [s.RELEASED, s.ALLOCATED]
    tail = {
        s.RELEASED: [],
        s.ALLOCATED: [],
        s.PARTIALLY_SHIPPED: [s.PARTIALLY_SHIPPED],
        s.SHIPPED: [s.SHIPPED],
        s.PARTIALLY_INVOICED: [s.PARTIALLY_SHIPPED, s.PARTIALLY_INVOICED],
        s.INVOICED: [s.SHIPPED, s.INVOICED],
        s.CLOSED: [s.SHIPPED, s.INVOICED, s.CLOSED],
    }[final]
    flow = flow[: 1 if final == s.RELEASED else 2]
    return [*head, *flow, *tail]


def _rejected(customer_number: str, n: int) -> bool:
    """Two thirds of a shaky customer's decided holds end in rejection (a hash, not the random
    stream, so the rest of the demo stays as it was)."""
    from .triage import shaky

    draw = int(hashlib.sha256(f"{customer_number}:{n}".encode()).hexdigest()[:8], 16) % 3
    return shaky(customer_number) and draw < 2


def seed_orders(
    rng, users, system, now, customers, ship_tos, items, warehouses, contract, n_orders
):
    cs, credit, warehouse_user, finance = (
        users[Role.CUSTOMER_SERVICE],
        users[Role.CREDIT],
        users[Role.WAREHOUSE],
        users[Role.FINANCE],
    )
    actor_of = {
        OrderState.ON_HOLD: system,
        OrderState.RELEASED: credit,
        OrderState.ALLOCATED: system,
        OrderState.PARTIALLY_SHIPPED: warehouse_user,
        OrderState.SHIPPED: system,
        OrderState.PARTIALLY_INVOICED: system,
        OrderState.INVOICED: system,
        OrderState.CLOSED: finance,
        OrderState.CANCELLED: cs,
    }
    why_of = {
        OrderState.RELEASED: "Hold cleared after review",
        OrderState.ALLOCATED: "Stock allocated by WMS",
        OrderState.PARTIALLY_SHIPPED: "WMS confirmed a short shipment",
        OrderState.SHIPPED: "WMS confirmed shipment",
        OrderState.PARTIALLY_INVOICED: "Invoiced the shipped quantity",
        OrderState.INVOICED: "Invoice released",
        OrderState.CLOSED: "Paid in full",
        OrderState.CANCELLED: "Customer cancelled",
    }
    plans = []
    for n in range(1, n_orders + 1):
        customer = rng.choice(customers)
        channel = _pick(rng, CHANNEL_MIX)
        final = _pick(rng, STATE_MIX)
        held = final == OrderState.ON_HOLD or rng.random() < 0.25
        if held and final != OrderState.ON_HOLD and _rejected(customer.number, n):
            # a shaky customer's held order is usually rejected: the demo's own decided holds
            # follow the same hidden truth as the triage history before them (demo.triage)
            final = OrderState.CANCELLED
        path = _path(final, held)
        hold_reason = rng.choice(HOLD_REASONS) if OrderState.ON_HOLD in path else None
        # Older orders are further along: closed ones are weeks old, new ones hours.
        age_days = {OrderState.RECEIVED: 0.2, OrderState.ON_HOLD: 2, OrderState.CLOSED: 60}.get(
            final, 20
        )
        received_at = now - timedelta(days=rng.uniform(0.05, age_days))
        # Spread the lifecycle steps over the order's age so no step lies in the future.
        span = (now - received_at) * 0.9
        gaps = sorted(rng.random() for _ in path[1:])
        step_times = [received_at] + [received_at + span * g for g in gaps]
        entered_by = cs if channel == Channel.INSIDE_SALES else system
        steps = []
        for index, state in enumerate(path):
            if index == 0:
                who = entered_by
                why = "Order entered" if who == cs else f"Imported from {Channel(channel).label}"
            elif state == OrderState.ON_HOLD:
                who, why = system, f"Hold raised: {hold_reason}"
            elif state == OrderState.RELEASED and OrderState.ON_HOLD not in path:
                who, why = system, "Touchless: no hold raised"
            else:
                who, why = actor_of[state], why_of[state]
            steps.append((state, step_times[index].replace(microsecond=0), who, why))
        customer_ship_tos = ship_tos.get(customer.pk, [])
        order = Order(
            source_system=DEMO_SOURCE,
            external_id=f"SO{n:07d}",
            number=f"SO-{n:07d}",
            channel=channel,
            customer=customer,
            ship_to=None
            if rng.random() < 0.02 or not customer_ship_tos
            else rng.choice(customer_ship_tos),
            requested_date=(received_at + timedelta(days=rng.randint(2, 14))).date(),
            received_at=steps[0][1],
            released_at=next((at for st, at, _, _ in steps if st == OrderState.RELEASED), None),
            entered_by=entered_by,
            last_edited_by=entered_by,
        )
        set_state_for_insert(order, path[-1])  # built in its final state; history rows follow
        lines = []
        for k in range(1, rng.choice([1, 2, 3, 3, 4, 5]) + 1):
            item = rng.choice(items)
            agreed = contract.get((customer.pk, item.pk))
            price = agreed if agreed is not None else item.list_price
            if rng.random() < 0.04:
                price = (price * Decimal("0.80")).quantize(Decimal("0.01"))  # an under-priced line
            lines.append(
                OrderLine(
                    order=order,
                    line_number=k,
                    item=item,
                    warehouse=rng.choice(warehouses),
                    ordered_qty=Decimal(rng.choice([1, 2, 5, 10, 12, 20, 24, 50, 100])),
                    unit_price=price,
                    contract_price=agreed,
                )
            )
        if lines[0].ordered_qty < 2:
            lines[0].ordered_qty = Decimal(10)  # so a partial shipment can really be partial
        if hold_reason:
            _give_problem(order, lines[0], hold_reason)
        order.subtotal = sum(
            (line_amount(line.ordered_qty, line.unit_price) for line in lines), ZERO
        )
        order.total = order.subtotal
        for line in lines:
            for name, value in _quantities(line, path).items():
                setattr(line, name, value)
        plans.append((order, lines, steps))

    Order.objects.bulk_create([plan[0] for plan in plans], batch_size=500)
    for order, lines, _steps in plans:
        for line in lines:
            line.order_id = order.pk
    OrderLine.objects.bulk_create([line for plan in plans for line in plan[1]], batch_size=1000)
    _seed_history(plans)


def _seed_history(plans) -> None:
    """One history row per lifecycle step for the order, and per quantity change for its lines."""
    HistoricalOrder, HistoricalLine = Order.history.model, OrderLine.history.model
    # the fields history tracks (a model's expectation on the order is not among them)
    order_fields = [f.attname for f in Order.history.model.tracked_fields]
    line_fields = [f.attname for f in OrderLine.history.model.tracked_fields]
    order_history, line_history = [], []
    for order, lines, steps in plans:
        for index, (state, at, who, why) in enumerate(steps):
            values = {name: getattr(order, name) for name in order_fields}
            values["state"] = state
            if state in (OrderState.RECEIVED, OrderState.ON_HOLD):
                values["released_at"] = None
            order_history.append(
                HistoricalOrder(
                    **values,
                    history_date=at,
                    history_type="+" if index == 0 else "~",
                    history_user=who,
                    history_change_reason=why,
                )
            )
        path = []
        for index, (state, at, who, why) in enumerate(steps):
            path.append(state)
            for line in lines:
                values = {name: getattr(line, name) for name in line_fields}
                quantities = _quantities(line, path)
                if index == 0 or quantities != _quantities(line, path[:-1]):
                    line_history.append(
                        HistoricalLine(
                            **(values | quantities),
                            history_date=at,
                            history_type="+" if index == 0 else "~",
                            history_user=who,
                            history_change_reason=why,
                        )
                    )
    HistoricalOrder.objects.bulk_create(order_history, batch_size=1000)
    HistoricalLine.objects.bulk_create(line_history, batch_size=1000)


def _quantities(line: OrderLine, path: list[str]) -> dict[str, Decimal]:
    """A line's allocated, shipped and invoiced quantities after the order walked ``path``."""
    s = OrderState
    allocated = shipped = invoiced = ZERO
    if s.ALLOCATED in path and s.CANCELLED not in path:
        allocated = line.ordered_qty
    if s.SHIPPED in path:
        shipped = line.ordered_qty
    elif s.PARTIALLY_SHIPPED in path:
        # Line 1 ships short (half, rounded down); the other lines ship in full.
        shipped = line.ordered_qty // 2 if line.line_number == 1 else line.ordered_qty
    if s.INVOICED in path:
        invoiced = line.ordered_qty
    elif s.PARTIALLY_INVOICED in path:
        invoiced = shipped
    return {"allocated_qty": allocated, "shipped_qty": shipped, "invoiced_qty": invoiced}


def _give_problem(order: Order, line: OrderLine, reason: str) -> None:
    """Make a held order really show the problem its hold names, so the rules agree with it."""
    if reason == "Price below contract":
        line.unit_price = (line.unit_price * Decimal("0.80")).quantize(Decimal("0.01"))
    elif reason == "Short stock at DC":
        line.ordered_qty = Decimal(5000)  # more than the three DCs hold together
    elif reason == "Credit exposure above limit":
        # Enough of line 1 to pass 130 % of the customer's limit on its own.
        needed = order.customer.credit_limit * Decimal("1.3") / max(line.unit_price, Decimal("1"))
        line.ordered_qty = max(line.ordered_qty, needed.to_integral_value() + 1)
    elif reason == "Missing ship-to":
        order.ship_to = None
