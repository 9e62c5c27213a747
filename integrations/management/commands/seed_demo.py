"""manage.py seed_demo: deterministic, idempotent demo data and one login per role.

It lives in integrations, the top of the dependency chain, because it seeds every app."""

from django.core.management.base import BaseCommand

from billing.demo import seed_billing
from exceptions.demo import seed_holds
from integrations.demo import seed_connectors
from integrations.services.outbox import outbox_recipient
from orders.demo import seed_demo


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
        if result.created:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Seeded {customers} customers, {items} items, {orders} orders, {holds} holds, "
                    f"{invoices} invoices."
                )
            )
        else:
            self.stdout.write("Demo data already present; left as it is.")
        self.stdout.write(f"Connectors: {', '.join(connectors)} (sandbox at http://127.0.0.1:8100)")
        self.stdout.write("\nLog in at http://127.0.0.1:8000/login/ with:")
        for username, password, role in result.logins:
            self.stdout.write(f"  {username:<12} {password:<16} {role}")
