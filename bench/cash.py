"""Cash application at scale: the sandbox bank's statement files through the inbox to two real
worker processes, which store, match and apply each payment; the figures are checked against the
bank's truth. Baselines, measured in the same run: the matching engine alone (no database) and a
plain exact-reference rule on a sample of the same payments."""

import gc
import time
from collections import Counter
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import Resolver404, resolve

from billing.models import Invoice
from core.roles import Role
from dunning.services import accounts_refresh
from integrations.mappers import map_statement
from integrations.models import Connector, InboundMessage, InboundState
from integrations.services import inbox_store
from integrations.services.attempts import WAITING
from integrations.tasks import inbox_process_task
from receivables.accounts import account_fingerprint
from receivables.matching import Outcome, PaymentIn, match_payments
from receivables.models import Application, Payment
from receivables.parsers import PARSERS, ParseError
from receivables.selectors import cash_policy, matching_context, thresholds_of

from .cash_data import BankRun, CashScale, bank_run
from .measure import Figure, _client, _pct, _timed_get, _user, sample_spread
from .workers import _skipped, _stop, _worker

#: Payments the in-process baselines (engine alone, exact-reference rule) look at, at most.
SAMPLE = 5_000
#: Statement files stored in the inbox per call, as a connector's pull stores a page.
PAGE = 100


def cash_application(scale: CashScale, *, processes: int = 2, requests: int = 200) -> list[Figure]:
    """The whole measurement, on the scratch copy it is given: the bank's files (made from the
    data set's invoices, not timed), the baselines, the workers' run, accuracy against the truth,
    then the cash application queue as an analyst opens it after the run."""
    name = f"cash application, {processes} workers"
    skipped = _skipped(name, ">= 2,000 payments/s")
    if skipped:
        return [skipped]
    run = bank_run(scale)
    baseline = in_process_baselines(run)
    applied = worker_run(run, processes)
    accuracy = accuracy_against_truth(run)
    rate = applied["payments"] / applied["seconds"] if applied["seconds"] else 0.0
    engine_rate = baseline["engine payments/s"]
    rss = applied.pop("rss")
    first, last = rss[0] if rss else None, rss[-1] if rss else None
    growth = round(max(last) - max(first), 1) if first and last else float("nan")
    figures = [
        Figure(
            name,
            round(rate, 1),
            "payments/s",
            ">= 2,000 payments/s",
            {
                **applied,
                "bank files made in s": round(run.seconds, 1),
                "engine alone, one process, payments/s": engine_rate,
                "share of 2 x engine alone": round(rate / (processes * engine_rate), 3)
                if engine_rate
                else None,
            },
        ),
        Figure(
            "cash worker RSS growth",
            growth,
            "MB",
            "flat: last quarter <= first + 10 %",
            {
                "RSS by quarter MB (each process)": rss,
                "first quarter MB": max(first) if first else None,
                "last quarter MB": max(last) if last else None,
                "flat": bool(first and last and max(last) <= max(first) * 1.10),
            },
        ),
        Figure(
            "cash auto-match rate",
            accuracy["auto rate"],
            "share",
            ">= 0.90",
            {
                "payments": accuracy["payments"],
                "outcomes": accuracy["outcomes"],
                "engine alone on the sample": baseline["engine auto rate"],
                "exact-reference rule on the sample": baseline["rule auto rate"],
                "sample": baseline["sample"],
            },
        ),
        Figure(
            "cash auto precision",
            accuracy["precision"],
            "share",
            ">= 0.995",
            {
                "automatic": accuracy["automatic"],
                "wrong": accuracy["wrong"],
                "wrong by kind": accuracy["wrong by kind"],
                "discount differs from the truth": accuracy["discount differs"],
                "engine alone on the sample": baseline["engine precision"],
                "exact-reference rule on the sample": baseline["rule precision"],
            },
        ),
    ]
    return figures + queue_page(requests)


# -- baselines ------------------------------------------------------------------------------


def _entries(run: BankRun, limit: int | None = None) -> list[list]:
    """The files parsed as o2c parses them, each a list of its distinct entries, up to ``limit``
    payments in all."""
    batches, seen, count = [], set(), 0
    for statement_file in run.files:
        record = map_statement(statement_file.record())
        try:
            statements = PARSERS[record.format](record.content)
        except ParseError:  # a dead letter in the run too; its payments count as not applied
            continue
        batch = []
        for statement in statements:
            for entry in statement.entries:
                if entry.entry_reference not in seen:
                    seen.add(entry.entry_reference)
                    batch.append(entry)
        batches.append(batch)
        count += len(batch)
        if limit is not None and count >= limit:
            break
    return batches


def _payment_in(entry) -> PaymentIn:
    return PaymentIn(
        key=entry.entry_reference,
        amount=entry.amount,
        currency=entry.currency,
        value_date=entry.value_date,
        payer_name=entry.payer_name,
        payer_account_fingerprint=account_fingerprint(entry.payer_account),
        free_text=entry.free_text,
        remittance=entry.remittance,
    )


def in_process_baselines(run: BankRun) -> dict:
    """On a sample of the payments, in this process: the matching engine alone (each file's
    context read first, untimed; only ``match_payments`` timed), and an exact-reference rule
    (apply when the remittance names invoices exactly as issued and the payment equals their
    open amounts), each with its auto rate and precision against the truth."""
    policy = cash_policy()
    thresholds = thresholds_of(policy)
    seconds, results, entries = 0.0, [], []
    for batch in _entries(run, SAMPLE):
        payments = [_payment_in(entry) for entry in batch]
        # a copy: the read worked out the payments' references, which the engine would reuse
        context = replace(matching_context(payments, policy))
        # the collector held off while timed: a full collection here sweeps this process's
        # heap (the run's files and truth, hundreds of MB, not a worker's), and whether one
        # fell in the timed part moved this figure between ~5,000 and ~8,500/s
        gc.disable()
        start = time.perf_counter()
        try:
            results += match_payments(payments, context, thresholds)
        finally:
            seconds += time.perf_counter() - start
            gc.enable()
        entries += batch
    auto = [result for result in results if result.outcome == Outcome.AUTO]
    numbers = dict(
        Invoice.objects.filter(
            pk__in={a.invoice_id for result in auto for a in result.best.allocations}
        ).values_list("pk", "number")
    )
    engine_right = sum(
        _right(
            run.truth[result.payment_key],
            {(numbers[a.invoice_id], a.amount) for a in result.best.allocations if a.amount},
        )
        for result in auto
    )
    engine_auto = len(auto)
    rule_auto, rule_right = _exact_reference_rule(entries, run)
    n = len(results)
    return {
        "sample": n,
        "engine payments/s": round(n / seconds, 1) if seconds else None,
        "engine auto rate": round(engine_auto / n, 4) if n else None,
        "engine precision": round(engine_right / engine_auto, 4) if engine_auto else None,
        "rule auto rate": round(rule_auto / n, 4) if n else None,
        "rule precision": round(rule_right / rule_auto, 4) if rule_auto else None,
    }


def _right(truth: dict, got: set) -> bool:
    """An automatic application is right when the truth knows the customer and the payment's
    money went to exactly the invoices, in exactly the amounts, the customer paid."""
    if truth["customer"] is None:
        return False
    return got == {(a["invoice"], Decimal(a["applied"])) for a in truth["applies"]}


def _exact_reference_rule(entries: list, run: BankRun) -> tuple[int, int]:
    named = {line.reference for entry in entries for line in entry.remittance}
    open_amounts = {
        number: total - settled - credited
        for number, total, settled, credited in Invoice.objects.filter(
            number__in=named
        ).values_list("number", "total", "settled_amount", "credited_amount")
    }
    auto = right = 0
    for entry in entries:
        references = [line.reference for line in entry.remittance]
        if not references or any(r not in open_amounts for r in references):
            continue
        if sum(open_amounts[r] for r in set(references)) != entry.amount:
            continue
        auto += 1
        right += _right(
            run.truth[entry.entry_reference], {(r, open_amounts[r]) for r in set(references)}
        )
    return auto, right


# -- the workers' run -------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    """The prefork pool's processes under a worker's main process (Linux)."""
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(child) for child in text.split()]


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def worker_run(run: BankRun, processes: int) -> dict:
    """The files stored in the inbox first (a pull's pages, not timed), then a real ``celery
    worker`` of ``processes`` processes applies them: timed from the first task queued to the
    last file applied. Each pool process's RSS is read as each quarter of the payments is
    stored. Collections' accounts and standings are refreshed first, as each night."""
    bank, _ = Connector.objects.get_or_create(
        name="bench-bank",
        defaults={"kind": "bank", "base_url": "http://127.0.0.1:9", "enabled": False},
    )
    for start in range(0, len(run.files), PAGE):
        inbox_store(
            connector=bank,
            stream="statements",
            records=[f.record() for f in run.files[start : start + PAGE]],
        )
    waiting = InboundMessage.objects.filter(connector=bank, stream="statements", state__in=WAITING)
    # the state a desk wakes to: last night's collections run has placed every customer (not
    # timed), so applying cash moves only the standings the cash changes
    accounts_refresh()
    worker = _worker("bench-cash", concurrency=processes)
    rss: list[list[float]] = []
    try:
        pool = _children(worker.pid)
        start = time.monotonic()
        # an inbox run lists at most 1,000 files: a round of tasks per thousand, one a process
        for _ in range(processes * (len(run.files) // 1000 + 1)):
            inbox_process_task.delay(bank.pk, "statements")
        quarter = max(1, run.payments // 4)
        deadline = start + 3600
        asked = time.monotonic()
        while waiting.exists() and time.monotonic() < deadline:
            # the payments counted only until the third quarter is read: counting a table the
            # workers are filling reads its new pages, PostgreSQL's time taken from the run
            if len(rss) < 3 and Payment.objects.count() >= quarter * (len(rss) + 1):
                rss.append([_rss_mb(pid) for pid in pool])
            if time.monotonic() - asked > 15:
                # as beat's next pull would: a run cut by the task's time limit leaves its file
                # failed (retried), and the files after it waiting
                inbox_process_task.delay(bank.pk, "statements")
                asked = time.monotonic()
            time.sleep(0.25)
        elapsed = time.monotonic() - start
        rss.append([_rss_mb(pid) for pid in pool])
    finally:
        _stop(worker)
    return {
        "payments": Payment.objects.count(),
        "files": len(run.files),
        "seconds": round(elapsed, 1),
        "dead files": InboundMessage.objects.filter(
            connector=bank, state=InboundState.DEAD
        ).count(),
        "files left waiting": waiting.count(),
        "rss": rss,
    }


def accuracy_against_truth(run: BankRun) -> dict:
    """Every stored payment against what the bank says it truly pays."""
    outcomes = Counter(Payment.objects.values_list("outcome", flat=True))
    applied: dict[str, set] = {}
    discounts: dict[str, set] = {}
    for reference, number, amount, discount in Application.objects.filter(
        payment__automatic=True, reversed_at__isnull=True
    ).values_list("payment__entry_reference", "invoice__number", "amount", "discount"):
        if amount:
            applied.setdefault(reference, set()).add((number, amount))
        discounts.setdefault(reference, set()).add((number, discount))
    automatic = list(
        Payment.objects.filter(automatic=True).values_list("entry_reference", flat=True)
    )
    wrong: Counter = Counter()
    discount_differs = 0
    for reference in automatic:
        truth = run.truth[reference]
        if not _right(truth, applied.get(reference, set())):
            wrong[truth["kind"]] += 1
        elif discounts.get(reference, set()) != {
            (a["invoice"], Decimal(a["discount"])) for a in truth["applies"]
        }:
            discount_differs += 1
    n = len(run.truth)
    return {
        "payments": n,
        "outcomes": dict(outcomes),
        "automatic": len(automatic),
        "auto rate": round(len(automatic) / n, 4) if n else float("nan"),
        "precision": round(1 - sum(wrong.values()) / len(automatic), 4)
        if automatic
        else float("nan"),
        "wrong": sum(wrong.values()),
        "wrong by kind": dict(wrong),
        "discount differs": discount_differs,
    }


# -- the queue after the run --------------------------------------------------------------


def queue_page(requests: int) -> list[Figure]:
    """The cash application queue as an analyst opens it after the run (the payments matching
    left for people), a later keyset page, and the admin changelist of the same payments."""
    analyst = _user("bench-cash", Role.CASH_APPLICATION)
    try:
        resolve("/cash/")
    except Resolver404:
        return [_selector_page(analyst, requests)]
    client = _client(analyst)
    first, first_q = _timed_get(client, "/cash/", requests)
    page = client.get("/cash/?sort=largest").content.decode()
    cursor = page.split("after=")[1].split('"')[0].split("&")[0] if "after=" in page else ""
    later, later_q = _timed_get(client, f"/cash/?sort=largest&after={cursor}", requests)
    admin = _client(_user("bench-admin", superuser=True))
    changelist, admin_q = _timed_get(
        admin, "/admin/receivables/payment/?state__exact=suggested", max(5, requests // 4)
    )
    p95 = _pct(first, 0.95)
    return [
        Figure(
            "cash queue page p95",
            p95,
            "ms",
            "<= 50 ms, constant queries",
            {
                "queries": first_q,
                "later page queries": later_q,
                "waiting payments": Payment.objects.filter(
                    state__in=("suggested", "ambiguous", "unmatched")
                ).count(),
                "admin changelist p95 ms": round(_pct(changelist, 0.95), 1),
                "admin changelist queries": admin_q,
            },
            sample_spread(first),
        ),
        Figure(
            "cash queue later page p95",
            _pct(later, 0.95),
            "ms",
            "<= 50 ms",
            {"queries": later_q, "cursor": bool(cursor)},
            sample_spread(later),
        ),
    ]


def _selector_page(analyst, requests: int) -> Figure:
    """Where the queue page is not mounted: the selector its view calls, one page evaluated."""
    from receivables.queue import PaymentFilters, payment_queue

    samples, queries = [], 0
    for _ in range(requests + 1):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            page = payment_queue(user=analyst, filters=PaymentFilters(), cursor=None, size=50)
            list(page.rows)
            samples.append((time.perf_counter() - start) * 1000)
        queries = len(captured)
    samples = samples[1:]
    return Figure(
        "cash queue page p95",
        _pct(samples, 0.95),
        "ms",
        "<= 50 ms, constant queries",
        {"queries": queries, "measured": "the selector (no /cash/ page mounted)"},
        sample_spread(samples),
    )
