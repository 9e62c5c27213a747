"""python -m bench [--scale full|small|tiny]: generate (once) and measure; prints a table and
writes bench/results/<timestamp>.json with the machine's description."""

import argparse
import json
import os
import sys
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--scale", choices=["full", "small", "tiny"], default="full")
    parser.add_argument("--requests", type=int, default=None, help="requests per page figure")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "o2c.settings.local")
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

    from . import measure
    from .generate import SCALES, generate, present

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
    generated = {} if there else generate(scale)
    figures = [
        *measure.queue_page(requests),
        *measure.release_action(min(100, scale.open_holds // 10) or 1),
        *measure.dashboard(max(5, requests // 10)),
        *measure.ingestion(200 if scale.name == "tiny" else 2000),
    ]
    print(f"\no2c benchmark · scale {scale.name} · {scale.orders:,} orders")
    print(f"{'figure':<28} {'value':>12}  {'unit':<9} {'target':<32} extra")
    for f in figures:
        print(f"{f.name:<28} {f.value:>12.1f}  {f.unit:<9} {f.target:<32} {f.extra}")
    if generated:
        print(f"{'COPY baseline':<28} {generated['copy orders/s']:>12.1f}  orders/s")
    print(f"{'peak RSS (this process)':<28} {measure.peak_rss_mb():>12.1f}  MB")
    results = Path(__file__).parent / "results"
    results.mkdir(exist_ok=True)
    out = results / f"{time.strftime('%Y%m%d-%H%M%S')}-{scale.name}.json"
    out.write_text(
        json.dumps(
            {
                "scale": scale.name,
                "machine": measure.machine(),
                "generated": generated,
                "figures": [f.__dict__ for f in figures],
                "peak_rss_mb": measure.peak_rss_mb(),
            },
            indent=2,
            default=str,
        )
    )
    print(f"\nwritten to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
