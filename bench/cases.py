"""The case desk and collections at scale: open deductions and disputes over the cash data set's
invoices (20,000 at full scale over its 1M open invoices, 2,000 small, 40 tiny), the customers'
collection accounts refreshed from those invoices, then the pages people keep open all day:

- the collections worklist's first page, as a collector sees it, p95 <= 50 ms;
- a case queue's first page (pricing's), p95 <= 50 ms;
- a case with its evidence (another open case each request), p95 <= 100 ms.

Each figure carries the queries its pages made; a page whose count varied says so. The cases are
written once, with their history and opening note, into the data set itself (as the cash data
set joins the orders'), so every later run measures the same rows; the pages only read.
"""

import random
import statistics
import time
import uuid
from datetime import timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from billing.models import Invoice
from cases.models import Case, CaseNote, CaseReason, CaseState
from core.roles import Role, get_system_user

from .cash_data import SOURCE
from .measure import Figure, _client, _pct, _timed_get, _user, sample_spread

CASE_SCALES = {"full": 20_000, "small": 2_000, "tiny": 40}
#: The mark of the bench's cases (a remittance code no customer writes).
MARK = "BENCH"
SEED = 20261206


def cases_present(count: int) -> bool:
    return Case.objects.filter(remittance_code=MARK).count() >= count


@transaction.atomic
def generate_cases(count: int, *, log=print) -> dict:
    """``count`` open cases on the cash data set's invoices: four in five deductions, across the
    taxonomy's reasons (a third of them pricing's), opened over the last three weeks, one in ten
    claimed; then every customer's collection account."""
    from dunning.models import CollectionAccount, CustomerStanding
    from dunning.services import accounts_refresh

    rng = random.Random(SEED)
    started = time.perf_counter()
    log(f"generating {count:,} open cases …")
    reasons = list(CaseReason.objects.order_by("code"))
    if not reasons:
        raise RuntimeError("No case reasons: migrate first (cases 0002 seeds them).")
    pricing = [r for r in reasons if r.code == "PRICING"]
    invoice_ids = list(
        Invoice.objects.filter(customer__source_system=SOURCE)
        .order_by("pk")
        .values_list("pk", "customer_id", "currency", "total")[: count * 20]
    )
    chosen = rng.sample(invoice_ids, min(count, len(invoice_ids)))
    system, now = get_system_user(), timezone.now()
    claimer = _user("bench-pricing", Role.PRICING)
    cases = []
    for invoice_id, customer_id, currency, total in chosen:
        reason = pricing[0] if pricing and rng.random() < 1 / 3 else rng.choice(reasons)
        opened = now - timedelta(minutes=rng.randint(10, 21 * 24 * 60))
        claimed = rng.random() < 0.1
        cases.append(
            Case(
                kind=Case.Kind.DEDUCTION if rng.random() < 0.8 else Case.Kind.DISPUTE,
                customer_id=customer_id,
                invoice_id=invoice_id,
                amount=min(total, Decimal(rng.randint(500, 40_000)) / 100),
                currency=currency,
                reason=reason,
                remittance_code=MARK,
                queue=reason.queue,
                state=CaseState.CLAIMED if claimed else CaseState.OPEN,
                opened_at=opened,
                opened_by=system,
                due_at=opened + timedelta(hours=reason.sla_hours),
                claimed_at=opened + timedelta(minutes=5) if claimed else None,
                claimed_by=claimer if claimed else None,
                correlation_id=uuid.uuid4(),
            )
        )
    made = bulk_create_with_history(
        cases, Case, batch_size=5_000, default_user=system, default_change_reason="Bench"
    )
    CaseNote.objects.bulk_create(
        [
            CaseNote(
                case=case,
                author=system,
                text=f"Bench case on invoice {case.invoice_id}.",
                created_at=case.opened_at,
            )
            for case in made
        ],
        batch_size=5_000,
    )
    refreshed = accounts_refresh()
    # statistics for what was just written: without them the first run's plans are a fresh
    # table's (the case queue merge-joined every active case with its invoice: 150 ms a page)
    with connection.cursor() as cursor:
        for model in (Case, Case.history.model, CaseNote, CollectionAccount, CustomerStanding):
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    seconds = time.perf_counter() - started
    log(f"… {len(made):,} cases and the collection accounts in {seconds:.1f} s")
    return {"cases generated": len(made), "case accounts refreshed": refreshed}


def case_pages(requests: int) -> list[Figure]:
    """The worklist, the pricing queue, and open cases with their evidence."""
    collector = _client(_user("bench-collector", Role.COLLECTIONS))
    worklist, worklist_q = _timed_get(collector, "/collections/", requests)
    pricer = _client(_user("bench-pricing", Role.PRICING))
    queue, queue_q = _timed_get(pricer, "/cases/", requests)
    ids = list(
        Case.objects.filter(remittance_code=MARK, queue="pricing", state=CaseState.OPEN)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    rng = random.Random(SEED)
    picked = [rng.choice(ids) for _ in range(requests + 1)] if ids else []
    samples, counts = [], set()
    for n, case_id in enumerate(picked):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            response = pricer.get(f"/cases/{case_id}/")
            elapsed = (time.perf_counter() - start) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"/cases/{case_id}/ answered {response.status_code}")
        if n:  # the first one warms templates up, as on a running server
            samples.append(elapsed)
            counts.add(len(captured))
    open_cases = Case.objects.filter(state__in=(CaseState.OPEN, CaseState.CLAIMED)).count()
    return [
        Figure(
            "collections worklist p95",
            _pct(worklist, 0.95),
            "ms",
            "<= 50 ms, constant queries",
            {"queries": worklist_q, "p50": round(statistics.median(worklist), 1)},
            sample_spread(worklist),
        ),
        Figure(
            "case queue page p95",
            _pct(queue, 0.95),
            "ms",
            "<= 50 ms, constant queries",
            {"queries": queue_q, "open cases": open_cases},
            sample_spread(queue),
        ),
        Figure(
            "case page p95",
            _pct(samples, 0.95) if samples else float("nan"),
            "ms",
            "<= 100 ms, constant queries",
            {
                "queries": sorted(counts)[0] if len(counts) == 1 else sorted(counts),
                "cases opened": len(samples),
            },
            sample_spread(samples),
        ),
    ]
