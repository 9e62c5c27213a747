"""The cash application data set: customers with parents and early-payment terms, their open
invoices (by COPY, as the order data set), and the sandbox bank's statement files paying some of
them, with the truth behind each payment.

Scales: full = 20k customers, 1M open invoices, 100k payments; small = 1/10; tiny = CI's smoke.
The bank's files are not stored: they are made again from the invoices in the database on each
run (seeded, so the same invoices give the same files and truth), then stored in the inbox of the
measurement's scratch copy.
"""

import random
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as clock
from decimal import Decimal

from django.core.management.color import no_style
from django.db import connection, transaction
from django.utils import timezone

from billing.models import Invoice
from core.roles import get_system_user
from demo.sandbox.bank import Bank
from demo.sandbox.payers import FIRST_WORDS, LEGAL_FORMS, SECOND_WORDS, TRADES
from demo.sandbox.payments import DEFAULT_NOISE, StatementFile
from insights import rollups
from orders.models import Customer

from .generate import _copy, _history
from .stats import analyze_filled

SOURCE = "bench-cash"
SEED = 20261205
#: Ids well above the order data set's (10,000,000 up), so both live in one database.
FIRST_ID = 20_000_000
#: Invoice numbers as billing writes them; new invoices numbered by billing come after these.
NUMBER = "INV-{:07d}"
#: Most payments in one statement file: a day's receipts in one format and currency, as banks
#: send them (the sandbox's 20 is for a demo's few invoices).
FILE_SIZE = 1_000
#: Places that, with a first word and a trade, give every customer a distinct name without a
#: number in it (real names differ by words, not counters).
PLACES = [
    *SECOND_WORDS,
    "Valley", "Harbour", "River", "Mountain", "Prairie", "Coast", "Lakes", "Plains", "Forge",
    "Station", "Crossing", "Landing", "Meadow", "Summit", "Bridge", "Gate", "Harvest", "Pine",
    "Falls", "Heights", "Shore",
]  # fmt: skip


@dataclass(frozen=True)
class CashScale:
    name: str
    customers: int
    invoices: int
    payments: int


CASH_SCALES = {
    "full": CashScale("full", 20_000, 1_000_000, 100_000),
    "small": CashScale("small", 2_000, 100_000, 10_000),
    "tiny": CashScale("tiny", 40, 1_000, 200),
}


def cash_present(scale: CashScale) -> bool:
    return Invoice.objects.filter(customer__source_system=SOURCE).count() >= scale.invoices


def _names(count: int, rng: random.Random) -> list[str]:
    """``count`` distinct company names, "Summit Creek Foods Inc.", in a seeded order."""
    combos = [(f, p, t) for f in FIRST_WORDS for p in PLACES for t in TRADES if f != p]
    if count > len(combos):
        raise ValueError(f"at most {len(combos):,} distinct customer names")
    rng.shuffle(combos)
    return [f"{f} {p} {t} {rng.choice(LEGAL_FORMS)}" for f, p, t in combos[:count]]


def _customers(scale: CashScale, rng: random.Random) -> list[dict]:
    """Customers as the sandbox catalog shapes them: one in ten a parent paying for one to three
    subsidiaries; six in ten on 2 % / 10 days early-payment terms; one in thirty in euros."""
    names = _names(scale.customers, rng)
    customers = []
    for n in range(scale.customers):
        on_terms = rng.random() < 0.6
        customers.append(
            {
                "id": FIRST_ID + n,
                "source_system": SOURCE,
                "external_id": f"BK{n:06d}",
                "number": f"BK{n:06d}",
                "name": names[n],
                "segment": rng.choice(["strategic", "key", "standard", "standard", "small"]),
                "territory": rng.choice(["NORTHEAST", "SOUTHEAST", "MIDWEST", "SOUTHWEST", "WEST"]),
                "credit_limit": Decimal(rng.choice([50000, 200000, 1000000])),
                "payment_terms": rng.choice(["NET30", "NET30", "NET45"]),
                "credit_status": "ok",
                "billing_rule": "immediate",
                "tax_region": "US-MA",
                "discount_percent": Decimal("2.00") if on_terms else Decimal("0"),
                "discount_days": 10 if on_terms else 0,
                "parent_id": None,
                # not a column: the currency its invoices are in
                "_currency": "EUR" if rng.random() < 1 / 30 else "USD",
            }
        )
    parents = rng.sample(customers, max(1, scale.customers // 10))
    chosen = {c["id"] for c in parents}
    free = [c for c in customers if c["id"] not in chosen]
    rng.shuffle(free)
    for parent in parents:
        for _ in range(rng.randint(1, 3)):
            if free:
                free.pop()["parent_id"] = parent["id"]
    return customers


@transaction.atomic
def generate_cash(scale: CashScale, *, log=print) -> dict:
    """Customers and their open (posted, unpaid) invoices at ``scale``, all or nothing."""
    rng = random.Random(SEED)
    now = timezone.now().replace(microsecond=0)
    today = timezone.localdate()
    user = get_system_user().pk
    log(f"generating cash {scale.name}: {scale.invoices:,} open invoices …")
    started = time.perf_counter()
    customers = _customers(scale, rng)
    rows = [{k: v for k, v in c.items() if not k.startswith("_")} for c in customers]
    # parents first: a subsidiary's row points at its parent's
    rows.sort(key=lambda c: (c["parent_id"] is not None, c["id"]))
    _copy(Customer, rows)
    _copy(
        Customer.history.model,
        (
            _history(None, c, at=now - timedelta(days=400), kind="+", user_id=user, reason="Bench")
            for c in rows
        ),
        skip=("history_id",),
    )
    # some customers buy far more than others (a long tail, as real ledgers have)
    weights = [rng.lognormvariate(0, 1) for _ in customers]
    invoices, history = [], []

    def flush():
        _copy(Invoice, invoices)
        _copy(Invoice.history.model, history, skip=("history_id",))
        invoices.clear()
        history.clear()

    owners = rng.choices(customers, weights=weights, k=scale.invoices)
    for n, customer in enumerate(owners):
        issued = today - timedelta(days=rng.randint(1, 150))
        terms = customer["payment_terms"]
        total = Decimal(round(rng.lognormvariate(7.2, 1.0), 2)).quantize(Decimal("0.01"))
        total = max(total, Decimal("25.00"))
        created = timezone.make_aware(datetime.combine(issued, clock(9)))
        invoice = {
            "id": FIRST_ID + n,
            "number": NUMBER.format(n + 1),
            "customer_id": customer["id"],
            "order_id": None,
            "billing_rule": "immediate",
            "currency": customer["_currency"],
            "payment_terms": terms,
            "issued_on": issued,
            "due_date": issued + timedelta(days=45 if terms == "NET45" else 30),
            "tax_region": "US-MA",
            "subtotal": total,
            "tax_total": Decimal("0"),
            "total": total,
            "settled_amount": Decimal("0"),
            "credited_amount": Decimal("0"),
            "state": "posted",
            "approval_tier": 0,
            "approval_reasons": [],
            "created_at": created,
            "released_at": created,
            "posted_at": created + timedelta(minutes=5),
            "erp_reference": f"ERP-{n + 1:07d}",
            "correlation_id": uuid.UUID(int=rng.getrandbits(128)),
        }
        invoices.append(invoice)
        history.append(
            _history(None, invoice, at=created, kind="+", user_id=user, reason="Bench invoice")
        )
        if len(invoices) >= 20_000:
            flush()
            if (n + 1) % 200_000 == 0:
                log(f"  … {n + 1:,} invoices")
    flush()
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), [Customer, Invoice]):
            cursor.execute(sql)
    analyze_filled()  # the empty tables left as a live installation has them (bench.stats)
    seconds = time.perf_counter() - started
    rollups.rebuild()  # the dashboard's slices take the new invoices in, as after a restore
    log(f"cash data set generated in {seconds:.0f} s")
    return {"cash invoices/s (COPY)": round(scale.invoices / seconds, 1)}


@dataclass
class BankRun:
    """What the sandbox bank sent: its files (at most ``FILE_SIZE`` payments each) and the truth
    behind every payment in them, by entry reference."""

    files: list[StatementFile]
    truth: dict[str, dict]
    seconds: float

    @property
    def payments(self) -> int:
        return len(self.truth)


def bank_run(scale: CashScale) -> BankRun:
    """The sandbox bank pays a seeded sample of the open invoices with its default noise mix
    (partial, discounted, short, over and bundled payments, parents paying, mistyped references,
    name variants, duplicate lines, unknown payers), into statement files; whole files are kept,
    in a seeded order, until ``scale.payments`` payments are reached."""
    started = time.perf_counter()
    rng = random.Random(f"{SEED}:paid")
    customers = {
        number: {
            "number": number,
            "name": name,
            "parent": parent,
            "discount_percent": str(percent),
            "discount_days": days,
        }
        for number, name, parent, percent, days in Customer.objects.filter(
            source_system=SOURCE
        ).values_list("number", "name", "parent__number", "discount_percent", "discount_days")
    }
    wanted = min(scale.invoices, int(scale.payments * 1.25))
    ids = sorted(rng.sample(range(FIRST_ID, FIRST_ID + scale.invoices), wanted))
    invoices = {
        number: {
            "number": number,
            "customer": customer,
            "total": str(total),
            "currency": currency,
            "issued_on": issued.isoformat(),
            "due_date": due.isoformat(),
        }
        for number, customer, total, currency, issued, due in Invoice.objects.filter(
            pk__in=ids
        ).values_list("number", "customer__number", "total", "currency", "issued_on", "due_date")
    }
    bank = Bank(customers=customers, seed=SEED)
    bank.settle(invoices, [], noise=dict(DEFAULT_NOISE), size=FILE_SIZE)
    by_file: dict[str, list[dict]] = {}
    for payment in bank.payments:
        by_file.setdefault(payment.file, []).append(payment.as_json())
    files = list(bank.files)
    rng.shuffle(files)
    kept, truth = [], {}
    for statement in files:
        if len(truth) >= scale.payments:
            break
        kept.append(statement)
        truth |= {p["entry_reference"]: p for p in by_file[statement.id]}
    return BankRun(kept, truth, time.perf_counter() - started)
