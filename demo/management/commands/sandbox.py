"""manage.py sandbox: run the sandbox ERP/WMS/TMS alone, on loopback unless --host says otherwise."""

import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from demo.sandbox import Sandbox, SandboxState
from demo.sandbox.data import Catalog
from demo.sandbox.edi import PARTNER_NAME


class Command(BaseCommand):
    help = "Run the sandbox ERP/WMS/TMS over HTTP (Ctrl-C stops it)."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8100)
        # 0.0.0.0 in a container (compose.yaml's sandbox profile), where workers reach it by name
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--orders", type=int, default=30, help="Orders available at start.")
        parser.add_argument("--orders-per-minute", type=float, default=2.0)
        parser.add_argument(
            "--ship-after", type=float, default=20.0, help="Seconds from release to shipment."
        )
        parser.add_argument(
            "--edi-orders-per-minute",
            type=float,
            default=1.0,
            help="850s the EDI buyer drops in o2c's folder for it (O2C_EDI_DIR/sandbox-buyer/in).",
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
        host: str,
        port: int,
        orders: int,
        orders_per_minute: float,
        ship_after: float,
        pay_after: float,
        edi_orders_per_minute: float,
        **options,
    ):
        state = SandboxState(
            catalog=Catalog(),
            orders=orders,
            orders_per_minute=orders_per_minute,
            ship_after_seconds=ship_after,
            pay_after_seconds=pay_after,
        )
        state.edi.drop = Path(settings.O2C_EDI_DIR) / PARTNER_NAME / "in"
        sandbox = Sandbox(host=host, port=port, state=state).start()
        self.stdout.write(
            f"Sandbox ERP/WMS/TMS/bank at {sandbox.url} ({orders} orders, +{orders_per_minute}/min)"
        )
        every = 60.0 / edi_orders_per_minute if edi_orders_per_minute > 0 else None
        next_order = time.monotonic() + 20  # after the master data has arrived
        try:
            while True:
                time.sleep(1)
                state.edi.release_due_acks()
                if every and time.monotonic() >= next_order:
                    state.edi.send_orders(1)
                    next_order += every
                    sent = list(state.edi.sent)
                    if len(sent) % 4 == 0:  # every fourth, the buyer changes the one before
                        earlier = state.edi.sent[sent[-2]]["lines"][0]
                        ordered = int(earlier["quantity"]) // earlier["factor"]
                        state.edi.send_change(sent[-2], 1, ordered + 1)
        except KeyboardInterrupt:
            sandbox.stop()
