"""manage.py sandbox: run the sandbox ERP/WMS/TMS alone on loopback."""

import time

from django.core.management.base import BaseCommand

from demo.sandbox import Sandbox, SandboxState
from demo.sandbox.data import Catalog


class Command(BaseCommand):
    help = "Run the sandbox ERP/WMS/TMS over HTTP (Ctrl-C stops it)."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8100)
        parser.add_argument("--orders", type=int, default=30, help="Orders available at start.")
        parser.add_argument("--orders-per-minute", type=float, default=2.0)
        parser.add_argument(
            "--ship-after", type=float, default=20.0, help="Seconds from release to shipment."
        )
        parser.add_argument(
            "--pay-after",
            type=float,
            default=60.0,
            help="Seconds from an invoice booked in the ERP to the bank paying it.",
        )

    def handle(
        self,
        *args,
        port: int,
        orders: int,
        orders_per_minute: float,
        ship_after: float,
        pay_after: float,
        **options,
    ):
        state = SandboxState(
            catalog=Catalog(),
            orders=orders,
            orders_per_minute=orders_per_minute,
            ship_after_seconds=ship_after,
            pay_after_seconds=pay_after,
        )
        sandbox = Sandbox(port=port, state=state).start()
        self.stdout.write(
            f"Sandbox ERP/WMS/TMS/bank at {sandbox.url} ({orders} orders, +{orders_per_minute}/min)"
        )
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            sandbox.stop()
