"""Deterministic generated master data and orders for the sandbox (seeded, so runs repeat)."""

import random
from decimal import Decimal

from .payers import company_names, holding_name

TERRITORIES = ["NORTHEAST", "SOUTHEAST", "MIDWEST", "SOUTHWEST", "WEST"]
CHANNELS = ["edi", "ecommerce", "inside_sales", "portal"]
WAREHOUSES = ["SBX-EAST", "SBX-WEST"]


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


class Catalog:
    """Everything the sandbox serves, built once from a seed."""

    def __init__(self, *, seed: int = 7, customers: int = 40, items: int = 80):
        self.seed = seed
        rng = random.Random(seed)
        # Names, parents and discount terms draw from their own generator, so the customers,
        # items and orders drawn from ``rng`` stay what they always were.
        names = company_names(customers, random.Random(seed + 5))
        self.customers = []
        for n in range(1, customers + 1):
            number = f"SBC{n:04d}"
            self.customers.append(
                {
                    "id": number,
                    "version": 1,
                    "number": number,
                    "name": names[n - 1],
                    "segment": rng.choice(["strategic", "key", "standard", "standard", "small"]),
                    "territory": rng.choice(TERRITORIES),
                    "credit_limit": _money(Decimal(rng.choice([20000, 50000, 100000]))),
                    "payment_terms": rng.choice(["NET30", "NET45"]),
                    "credit_status": "ok",
                    "billing_rule": rng.choice(["immediate", "immediate", "hold_for_pod"]),
                    "tax_region": rng.choice(["US-MA", "US-TX", "US-CA"]),
                    "ship_tos": [
                        {
                            "code": "MAIN",
                            "name": f"{names[n - 1]} main dock",
                            "address": f"{rng.randint(1, 999)} Dock Rd",
                            "city": "Springfield",
                            "postal_code": "01101",
                        },
                        {  # where an amendment may send an order instead
                            "code": "NORTH",
                            "name": f"{names[n - 1]} north dock",
                            "address": "1 Harbour Way",
                            "city": "Portland",
                            "postal_code": "04101",
                        },
                    ],
                }
            )
        _families(self.customers, random.Random(seed + 6))
        self.items = []
        for n in range(1, items + 1):
            cost = Decimal(rng.randint(100, 20000)) / 100
            self.items.append(
                {
                    "id": f"SB-{n:04d}",
                    "version": 1,
                    "sku": f"SB-{n:04d}",
                    "description": f"Sandbox part {n}",
                    "uom": "EA",
                    "unit_cost": _money(cost),
                    "list_price": _money(cost * Decimal("1.4")),
                }
            )
        self.prices = []
        for customer in self.customers:
            for item in rng.sample(self.items, 5):
                self.prices.append(
                    {
                        "id": f"PA-{customer['number']}-{item['sku']}",
                        "version": 1,
                        "customer": customer["number"],
                        "sku": item["sku"],
                        "contract_price": _money(Decimal(item["list_price"]) * Decimal("0.92")),
                        "valid_from": "2026-01-01",
                        "valid_to": None,
                    }
                )
        self.ar = [
            {
                "id": f"AR-{c['number']}",
                "version": 1,
                "customer": c["number"],
                "open_amount": _money(Decimal(rng.randint(0, 10000))),
                "current": "0.00",
                "past_due_1_30": "0.00",
                "past_due_31_60": "0.00",
                "past_due_61_90": "0.00",
                "past_due_over_90": "0.00",
                "oldest_past_due_days": 0,
                "as_of": "2026-11-01T00:00:00Z",
            }
            for c in self.customers
        ]
        self.inventory = [
            {
                "id": f"INV-{item['sku']}-{wh}",
                "version": 1,
                "sku": item["sku"],
                "warehouse": wh,
                "erp_on_hand": str(qty),
                "wms_on_hand": str(qty),
                "allocated": "0",
                "as_of": "2026-11-01T00:00:00Z",
            }
            for item in self.items
            for wh in WAREHOUSES
            for qty in [rng.randint(50, 400)]
        ]
        self._rng = random.Random(seed + 1)
        self._orders: list[dict] = []
        # Orders inserted mid-stream by the `insert` switch draw from their own generator, so
        # the main sequence stays the same whatever a test inserts.
        self._extra_rng = random.Random(seed + 2)
        self._extra = 0

    def order(self, index: int) -> dict:
        """The index-th order of the stream; about one in five has a credit, price or stock problem."""
        while len(self._orders) <= index:
            self._orders.append(self._make_order(f"SBO{100000 + len(self._orders)}", self._rng))
        return self._orders[index]

    def extra_order(self) -> dict:
        """A new order outside the main sequence (numbered from SBO200000), for insertions."""
        self._extra += 1
        return self._make_order(f"SBO{200000 + self._extra - 1}", self._extra_rng)

    def _make_order(self, number: str, rng: random.Random) -> dict:
        customer = rng.choice(self.customers)
        lines = []
        for k in range(1, rng.choice([1, 2, 3]) + 1):
            item = rng.choice(self.items)
            lines.append(
                {
                    "line": k,
                    "sku": item["sku"],
                    "quantity": str(rng.choice([1, 2, 5, 10])),
                    "unit_price": item["list_price"],
                }
            )
        problem = rng.random()
        if problem < 0.07:  # over the credit limit
            lines[0]["quantity"] = str(
                int(Decimal(customer["credit_limit"]) / Decimal(lines[0]["unit_price"])) + 50
            )
        elif problem < 0.14:  # under-priced
            lines[0]["unit_price"] = _money(Decimal(lines[0]["unit_price"]) * Decimal("0.7"))
        elif problem < 0.20:  # short on stock
            lines[0]["quantity"] = "5000"
        return {
            "id": number,
            "version": 1,
            "number": number,
            "channel": rng.choice(CHANNELS),
            "customer": customer["number"],
            "ship_to": "MAIN",
            "requested_date": "2026-12-15",
            "currency": "USD",
            "lines": lines,
        }


def _families(customers: list[dict], rng: random.Random) -> None:
    """Give about one customer in ten a few subsidiaries whose invoices it may pay (``parent``:
    the parent's customer number, else None), and most customers an early-payment discount in
    their terms (``discount_percent`` off when paid within ``discount_days`` of the invoice)."""
    for customer in customers:
        customer["parent"] = None
        on_terms = rng.random() < 0.6
        customer["discount_percent"] = "2.00" if on_terms else "0.00"
        customer["discount_days"] = 10 if on_terms else 0
    if len(customers) < 3:
        return
    parents = rng.sample(customers, max(1, len(customers) // 10))
    free = [c for c in customers if c not in parents]
    rng.shuffle(free)
    for parent in parents:
        parent["name"] = holding_name(parent["name"])
        for ship_to in parent["ship_tos"]:
            ship_to["name"] = f"{parent['name']} {ship_to['code'].lower()} dock"
        for _ in range(rng.randint(1, 3)):
            if free:
                free.pop()["parent"] = parent["number"]


#: What the ERP's amendments do, in turn: (kind, what a person reads).
AMENDMENTS = ["quantity_up", "quantity_down", "line_added", "line_cancelled", "ship_to", "cancel"]


def amended(order: dict, kind: str, version: int = 2) -> dict:
    """A newer version of ``order`` (the whole record, as the ERP serves it) changed by ``kind``:
    one of AMENDMENTS."""
    record = {**order, "version": version, "lines": [dict(line) for line in order["lines"]]}
    first = record["lines"][0]
    quantity = Decimal(first["quantity"])
    if kind == "quantity_up":
        first["quantity"] = str(quantity * 3)
    elif kind == "quantity_down":
        first["quantity"] = str(max(Decimal(1), (quantity / 2).to_integral_value()))
    elif kind == "line_added":
        number = max(line["line"] for line in record["lines"]) + 1
        record["lines"].append(
            {"line": number, "sku": "SB-0001", "quantity": "2", "unit_price": None}
        )
    elif kind == "line_cancelled" and len(record["lines"]) > 1:
        record["lines"].pop()
    elif kind == "line_cancelled":
        first["quantity"] = str(quantity + 1)  # one line only: a quantity change instead
    elif kind == "ship_to":
        record["ship_to"] = "NORTH"
    elif kind == "cancel":
        record["status"] = "cancelled"
    else:
        raise ValueError(f"amend: unknown kind {kind!r}")
    return record
