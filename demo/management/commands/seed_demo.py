"""manage.py seed_demo: deterministic, idempotent demo data and one login per role.

It lives in demo, above every app it seeds, so no product app imports demo code."""

from django.core.management.base import BaseCommand

from demo.billing import seed_billing
from demo.connectors import SANDBOX_URL, seed_connectors
from demo.holds import seed_holds
from demo.master_data import seed_demo
from dunning.services import dunning_run
from integrations.services.outbox import outbox_recipient


class Command(BaseCommand):
    help = "Seed demo users, master data and orders (safe to run again: existing data is kept)."

    def add_arguments(self, parser):
        parser.add_argument("--orders", type=int, default=2000)
        parser.add_argument("--customers", type=int, default=200)
        parser.add_argument("--items", type=int, default=500)

    def handle(self, *args, orders: int, customers: int, items: int, **options):
        result = seed_demo(orders=orders, customers=customers, items=items)
        holds = seed_holds()
        connectors = seed_connectors()
        # the finance desk's orders are released to this warehouse, which confirms their shipments
        wms = outbox_recipient("order_release")
        invoices = seed_billing(wms=wms.name) if wms else seed_billing()
        # what the nightly collections run would do, so the worklist reads today's invoices
        dunning_run()
        if result.created:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Seeded {customers} customers, {items} items, {orders} orders, {holds} holds, "
                    f"{invoices} invoices."
                )
            )
        else:
            self.stdout.write("Demo data already present; left as it is.")
        self.stdout.write(f"Connectors: {', '.join(connectors)} (sandbox at {SANDBOX_URL})")
        self.stdout.write("\nLog in at http://127.0.0.1:8000/login/ with:")
        for username, password, role in result.logins:
            self.stdout.write(f"  {username:<12} {password:<16} {role}")
