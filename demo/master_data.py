"""Deterministic demo data: master data and orders in every state, with a consistent history.

Orders are written in bulk with hand-built history rows (one per lifecycle step) so that 2,000
orders seed in seconds, while every order's timeline still tells how it reached its state.
"""

import random
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from core.money import ZERO
from core.roles import Role, get_system_user
from orders.models import (
    ARBalance,
    Customer,
    InventoryPosition,
    Item,
    PriceAgreement,
    ShipTo,
    TerritoryAssignment,
    Warehouse,
)

from .common import (
    CITIES,
    DEMO_PASSWORD,
    DEMO_SOURCE,
    KINDS,
    PRODUCTS,
    SEED,
    TERRITORIES,
    USERS,
    WORDS,
)
from .common import pick as _pick
from .orders import seed_orders


@dataclass
class DemoResult:
    created: bool
    logins: list[tuple[str, str, str]]


def ensure_users() -> tuple[dict[str, object], list[tuple[str, str, str]]]:
    User = get_user_model()
    users, logins = {}, []
    for username, first, last, role in USERS:
        user, _ = User.objects.get_or_create(
            username=username, defaults={"first_name": first, "last_name": last}
        )
        user.set_password(DEMO_PASSWORD)
        user.save()
        user.groups.set([Group.objects.get(name=role)])
        users[role] = user
        logins.append((username, DEMO_PASSWORD, Role(role).label))
    west, _ = User.objects.get_or_create(
        username="cs_west", defaults={"first_name": "Wren", "last_name": "West"}
    )
    west.set_password(DEMO_PASSWORD)
    west.save()
    west.groups.set([Group.objects.get(name=Role.CUSTOMER_SERVICE)])
    TerritoryAssignment.objects.get_or_create(user=west, territory="WEST")
    logins.append(("cs_west", DEMO_PASSWORD, "Customer service, WEST territory only"))
    admin, created = User.objects.get_or_create(
        username="admin", defaults={"is_staff": True, "is_superuser": True}
    )
    if created or not admin.has_usable_password():
        admin.set_password(DEMO_PASSWORD)
        admin.save()
    logins.append(("admin", DEMO_PASSWORD, "Django admin (superuser)"))
    return users, logins


def seed_demo(*, orders: int = 2000, customers: int = 200, items: int = 500) -> DemoResult:
    users, logins = ensure_users()
    if Customer.objects.filter(source_system=DEMO_SOURCE).exists():
        return DemoResult(created=False, logins=logins)
    with transaction.atomic():
        _seed(random.Random(SEED), users, n_orders=orders, n_customers=customers, n_items=items)
    return DemoResult(created=True, logins=logins)


def _seed(
    rng: random.Random, users: dict, *, n_orders: int, n_customers: int, n_items: int
) -> None:
    system = get_system_user()
    now = timezone.now().replace(microsecond=0)
    today = now.date()
    reason = "Demo data"

    warehouses = bulk_create_with_history(
        [
            Warehouse(code=code, name=name, source_system=DEMO_SOURCE, external_id=code)
            for code, name in [
                ("DC-EAST", "East DC, Columbus"),
                ("DC-WEST", "West DC, Reno"),
                ("DC-SOUTH", "South DC, Dallas"),
            ]
        ],
        Warehouse,
        default_user=system,
        default_change_reason=reason,
    )
    warehouses = list(Warehouse.objects.order_by("code"))

    customer_rows = []
    for n in range(1, n_customers + 1):
        segment = _pick(rng, [("strategic", 5), ("key", 15), ("standard", 55), ("small", 25)])
        limit = {"strategic": 500000, "key": 200000, "standard": 60000, "small": 15000}[segment]
        customer_rows.append(
            Customer(
                source_system=DEMO_SOURCE,
                external_id=f"C{n:05d}",
                number=f"C{n:05d}",
                name=f"{rng.choice(WORDS)} {rng.choice(KINDS)} {n:03d}",
                segment=segment,
                territory=rng.choice(TERRITORIES),
                credit_limit=Decimal(limit),
                # A few customers miss master data, so the master-data rule has real work to do.
                payment_terms=""
                if rng.random() < 0.03
                else rng.choice(["NET30", "NET30", "NET45", "NET15", "NET60"]),
                credit_status=_pick(rng, [("ok", 90), ("watch", 7), ("blocked", 3)]),
                billing_rule=_pick(
                    rng,
                    [
                        ("immediate", 70),
                        ("hold_for_pod", 15),
                        ("consolidated_daily", 10),
                        ("consolidated_weekly", 5),
                    ],
                ),
                tax_region=""
                if rng.random() < 0.03
                else rng.choice(["US-MA", "US-GA", "US-IL", "US-TX", "US-CO", "US-WA"]),
            )
        )
    bulk_create_with_history(
        customer_rows, Customer, default_user=system, default_change_reason=reason
    )
    customers = list(Customer.objects.filter(source_system=DEMO_SOURCE).order_by("number"))

    ship_rows = []
    for customer in customers:
        for k in range(1, rng.choice([1, 1, 2, 3]) + 1):
            city = rng.choice(CITIES)
            ship_rows.append(
                ShipTo(
                    source_system=DEMO_SOURCE,
                    external_id=f"{customer.number}-{k}",
                    customer=customer,
                    code=f"ST{k}",
                    name=f"{customer.name} – {city}",
                    address=f"{rng.randint(10, 9999)} Commerce Way",
                    city=city,
                    postal_code=f"{rng.randint(10000, 99999)}",
                )
            )
    bulk_create_with_history(ship_rows, ShipTo, default_user=system, default_change_reason=reason)
    ship_tos: dict[int, list[ShipTo]] = {}
    for ship_to in ShipTo.objects.filter(source_system=DEMO_SOURCE).order_by("id"):
        ship_tos.setdefault(ship_to.customer_id, []).append(ship_to)

    item_rows = []
    for n in range(1, n_items + 1):
        cost = Decimal(rng.randint(50, 50000)) / 100
        item_rows.append(
            Item(
                source_system=DEMO_SOURCE,
                external_id=f"I{n:05d}",
                sku=f"SKU-{n:05d}",
                description=f"{rng.choice(PRODUCTS)} {rng.choice(['S', 'M', 'L', 'XL', '10mm', '25mm', '1in'])} #{n}",
                uom=rng.choice(["EA", "EA", "EA", "BX", "CS"]),
                unit_cost=cost,
                list_price=(cost * Decimal(rng.choice(["1.25", "1.35", "1.45", "1.60"]))).quantize(
                    Decimal("0.01")
                ),
            )
        )
    bulk_create_with_history(item_rows, Item, default_user=system, default_change_reason=reason)
    items = list(Item.objects.filter(source_system=DEMO_SOURCE).order_by("sku"))

    positions = [
        InventoryPosition(
            item=item,
            warehouse=wh,
            erp_on_hand=qty,
            allocated=Decimal(rng.randint(0, 40)),
            wms_on_hand=qty if rng.random() > 0.05 else qty - rng.randint(1, 20),
            as_of=now,
        )
        for item in items
        for wh in warehouses
        for qty in [Decimal(rng.randint(0, 600))]
    ]
    bulk_create_with_history(
        positions, InventoryPosition, default_user=system, default_change_reason=reason
    )

    agreements, contract = [], {}
    for customer in customers:
        for item in rng.sample(items, 8):
            price = (
                item.list_price * Decimal(rng.choice(["0.85", "0.90", "0.92", "0.95"]))
            ).quantize(Decimal("0.01"))
            contract[(customer.pk, item.pk)] = price
            agreements.append(
                PriceAgreement(
                    source_system=DEMO_SOURCE,
                    external_id=f"PA-{customer.number}-{item.sku}",
                    customer=customer,
                    item=item,
                    contract_price=price,
                    valid_from=today - timedelta(days=365),
                    valid_to=today + timedelta(days=365),
                )
            )
    bulk_create_with_history(
        agreements, PriceAgreement, default_user=system, default_change_reason=reason
    )

    balances = []
    for customer in customers:
        buckets = [Decimal(rng.randint(0, int(customer.credit_limit) // 4)) for _ in range(5)]
        if rng.random() < 0.6:
            buckets[2:] = [ZERO, ZERO, ZERO]
        oldest = (
            0
            if not any(buckets[1:])
            else max(d for d, b in zip([15, 45, 75, 120], buckets[1:], strict=True) if b)
        )
        balances.append(
            ARBalance(
                customer=customer,
                current=buckets[0],
                past_due_1_30=buckets[1],
                past_due_31_60=buckets[2],
                past_due_61_90=buckets[3],
                past_due_over_90=buckets[4],
                open_amount=sum(buckets, ZERO),
                oldest_past_due_days=oldest,
                as_of=now,
            )
        )
    bulk_create_with_history(balances, ARBalance, default_user=system, default_change_reason=reason)

    seed_orders(rng, users, system, now, customers, ship_tos, items, warehouses, contract, n_orders)
