"""python -m bench [--scale full|small|tiny]: generate (once) and measure, each measurement on a
scratch copy of the data set; prints a table and writes bench/results/<timestamp>.json with the
machine's description."""

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

#: A real worker pool's burst, in multiples of the in-process ingestion's orders.
POOL_BURST = 15

#: The measurements, in the order they run (``--only`` picks some).
MEASUREMENTS = (
    "queue",
    "release",
    "dashboard",
    "ingestion",
    "latency",
    "memory",
    "cash",
    "cases",
    "edi",
    "triage",
    "browser",
)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--scale", choices=["full", "small", "tiny"], default="full")
    parser.add_argument("--requests", type=int, default=None, help="requests per page figure")
    parser.add_argument(
        "--latency-seconds", type=int, default=None, help="shipment-to-invoice run length (s)"
    )
    parser.add_argument(
        "--memory-messages",
        type=int,
        default=None,
        help="messages for the worker memory figure (default 1,000,000 at full scale)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="measure each figure this many times, each on a fresh copy of the data set; the "
        "table shows the median run and every run's value",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=MEASUREMENTS,
        help="measure only these (repeatable), e.g. to re-measure one figure after a change",
    )
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "o2c.settings.local")
    # Measure what production runs: no debug (no query log, no template debug data); the bench
    # worker processes inherit it.
    os.environ["DEBUG"] = "0"
    # WhiteNoise looks for collected static files once production-like; the bench requests pages,
    # never their assets, so its warning about a missing STATIC_ROOT is noise in the table.
    warnings.filterwarnings("ignore", message="No directory at: .*staticfiles")
    import django

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        print(
            "The benchmark runs on PostgreSQL only (it uses COPY and measures at a million orders). "
            "Set DATABASE_URL=postgres://… and run it again.",
            file=sys.stderr,
        )
        return 2
    from django.core.management import call_command

    from . import browser, cases, cash, edi, measure, triage, workers
    from .cash_data import CASH_SCALES, cash_present, generate_cash
    from .generate import SCALES, generate, present
    from .scratch import ScratchCopyRefused, row_counts

    scale = SCALES[args.scale]
    requests = args.requests or (20 if scale.name == "tiny" else 200)
    call_command("migrate", verbosity=0)
    there = present(scale)
    if there is None:
        print(
            f"This database holds a smaller benchmark dataset than {scale.name}: "
            "use a fresh database for each scale.",
            file=sys.stderr,
        )
        return 2
    results = Path(__file__).parent / "results"
    results.mkdir(exist_ok=True)
    (results / "copy").mkdir(exist_ok=True)
    copy_file = results / "copy" / f"{scale.name}.json"
    generated = {} if there else generate(scale)
    if generated:  # the raw COPY rate is the ingestion baseline of every later run on this data
        copy_file.write_text(json.dumps(generated, default=str))
    elif copy_file.exists():
        generated = json.loads(copy_file.read_text())
    # the cash data set (customers and open invoices of their own) joins a data set made before
    # it existed, the first time any run meets it
    cash_scale = CASH_SCALES[scale.name]
    if not cash_present(cash_scale):
        generated |= generate_cash(cash_scale)
    # and the open cases over those invoices, with the collection accounts, after the cash data
    case_count = cases.CASE_SCALES[scale.name]
    if not cases.cases_present(case_count):
        generated |= cases.generate_cases(case_count)
    # and the interchanges its EDI partners sent before
    if not edi.edi_history_present():
        generated |= edi.generate_edi_history(edi.HISTORY[scale.name])
    tiny = scale.name == "tiny"
    ingestion_orders = 200 if tiny else 2000
    # a tiny run (the test suite's) keeps its bursts short: it proves the harness, not rates
    pool_orders = ingestion_orders * (5 if tiny else POOL_BURST)
    steps = [
        ("queue", lambda: measure.queue_page(requests)),
        ("release", lambda: measure.release_action(min(100, scale.open_holds // 10) or 1)),
        ("dashboard", lambda: measure.dashboard(max(5, requests // 10))),
        # in this process, with the naive and COPY baselines
        (
            "ingestion",
            lambda: measure.ingestion(ingestion_orders, copy_rate=generated.get("copy orders/s")),
        ),
        # by a pool of real workers over a longer burst (fifteen times the orders, ~15 s: a
        # steady state, not the pool's start-up; at five times, ~5 s, the start-up and the
        # shared VM's hiccups moved a run's rate by up to 15 %), against the naive rate measured
        # just before; then scoring each order with the order-anomaly model, against the plain
        # rate of the same run
        (
            "ingestion",
            lambda: workers.ingestion_pool_scoring(pool_orders, naive_rate=naive_rate(figures)),
        ),
        (
            "latency",
            lambda: workers.shipment_to_invoice(
                rate=5 if tiny else 10, seconds=args.latency_seconds or (4 if tiny else 60)
            ),
        ),
        # "over a 1M-message run": a million at full scale (~15 min), a tenth of it at small
        (
            "memory",
            lambda: workers.ingestion_worker_memory(
                args.memory_messages or {"full": 1_000_000, "small": 100_000}.get(scale.name, 200)
            ),
        ),
        # the bank's payments against the open invoices, by two real workers; then the queue
        ("cash", lambda: cash.cash_application(cash_scale, requests=requests)),
        # the case desk and collections: the worklist, a case queue, cases with their evidence
        ("cases", lambda: cases.case_pages(requests)),
        # X12 850s through the partners' folders, by two real workers, beside the JSON intake
        ("edi", lambda: edi.edi_intake(pool_orders)),
        # the triage models on generated histories, beside their naive baselines
        (
            "triage",
            lambda: (
                triage.hold_outcome_quality(900)
                + triage.case_reason_quality(1200)
                + triage.payment_risk_quality(2000)
                + triage.late_shipment_quality(2000)
                + triage.order_anomaly_quality(1500)
            ),
        ),
        # the queue in chromium against a real server: the claim key and the hold drawer
        ("browser", lambda: browser.queue_keys(30)),
    ]
    found = row_counts()
    figures: list[measure.Figure] = []
    for name, run in steps:
        if name not in (args.only or MEASUREMENTS):
            continue
        try:
            figures += measured(run, max(1, args.repeat))
        except ScratchCopyRefused as refused:  # the figures measured before it are kept
            print(f"{name}: not measured: {refused}", file=sys.stderr)
            figures.append(measure.Figure(name, float("nan"), "", extra={"skipped": str(refused)}))
    left = row_counts()
    print(f"\no2c benchmark · scale {scale.name} · {scale.orders:,} orders")
    print(f"{'figure':<28} {'value':>12}  {'unit':<9} {'target':<32} {'spread':<40} extra")
    for f in figures:
        print(
            f"{f.name:<28} {measure.number(f.value):>12}  {f.unit:<9} {f.target:<32} "
            f"{f.spread_text():<40} "
            f"{f.extra}"
        )
    if generated.get("copy orders/s"):
        print(f"{'COPY baseline':<28} {generated['copy orders/s']:>12.1f}  orders/s")
    print(f"{'peak RSS (this process)':<28} {measure.peak_rss_mb():>12.1f}  MB")
    if left == found:
        rows = ", ".join(f"{n:,} {table}" for table, n in found.items())
        print(f"data set left as found: {rows}")
    else:
        changed = {t: f"{found[t]:,} -> {left[t]:,}" for t in found if found[t] != left[t]}
        print(f"the run changed the data set (rows before -> after): {changed}", file=sys.stderr)
    ratios = scale_ratios(results, scale.name, figures)
    for name, ratio in ratios.items():
        print(f"{'full / small: ' + name:<42} {ratio:>6.2f}   target <= 1.5")
    out = results / f"{time.strftime('%Y%m%d-%H%M%S')}-{scale.name}.json"
    out.write_text(
        json.dumps(
            {
                "scale": scale.name,
                "machine": measure.machine(),
                "generated": generated,
                "only": args.only,
                "figures": [f.__dict__ for f in figures],
                "peak_rss_mb": measure.peak_rss_mb(),
                "repeat": max(1, args.repeat),
                "data set rows": {"before": found, "after": left},
                "full / small": ratios,
            },
            indent=2,
            default=str,
        )
    )
    print(f"\nwritten to {out}")
    return 0 if left == found else 1


def measured(run, repeat: int) -> list:
    """``run``'s figures, measured ``repeat`` times, each time on a fresh scratch copy of the data
    set (copied before, dropped after, neither timed), so no measurement sees another's writes
    (or a former run's) and the data set is left as found.

    A copy per measurement rather than one per run: a measurement's figures then do not depend on
    which ran before it (``--only`` gives what a whole run gives), and repeating one repeats it
    from the same start. The cost: copying and writing back took ~4.5 s a GB on the 2-vCPU VM
    of docs/performance.md (1.5 GB: 4 s, then 3 s of write-back), so ~20 s a measurement for the
    full-scale data set (1M orders, 4M lines and their history: ~4 GB, estimated from the tiny
    one's), seven copies in a run of ~20 minutes. One copy shared by the run would save ~2 minutes
    but make each figure depend on the measurements run before it."""
    from .measure import combine
    from .scratch import scratch_copy

    rounds = []
    for _ in range(repeat):
        with scratch_copy():
            rounds.append(run())
    return combine(rounds)


def naive_rate(figures: list) -> float | None:
    """The naive path's rate from the in-process ingestion figure measured in this run."""
    return next(
        (f.extra.get("naive orders/s") for f in figures if f.name == "ingestion" and f.extra),
        None,
    )


SCALED = (
    "queue page p95",
    "queue later page p95",
    "hold release p95",
    "dashboard p95 (30 days)",
    "cash queue page p95",
)


def scale_ratios(results: Path, scale: str, figures) -> dict[str, float]:
    """Full-scale figures over the latest small-scale run's (each scale has its own database, so
    the two runs are separate; the ratio uses the newest of the other)."""
    other = {"full": "small", "small": "full"}.get(scale)
    runs = sorted(results.glob(f"2*-{other}.json")) if other else []  # timestamped runs only
    if not runs:
        return {}
    theirs: dict[str, float] = {}
    for run in reversed(runs):  # newest first: a partial run (--only) lacks some figures
        for f in json.loads(run.read_text())["figures"]:
            theirs.setdefault(f["name"], f["value"])
    ours = {f.name: f.value for f in figures}
    full, small = (ours, theirs) if scale == "full" else (theirs, ours)
    return {
        name: round(full[name] / small[name], 2)
        for name in SCALED
        if full.get(name) and small.get(name)
    }


if __name__ == "__main__":
    sys.exit(main())
