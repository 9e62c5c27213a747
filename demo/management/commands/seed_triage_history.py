"""manage.py seed_triage_history: months of history with learnable structure for the triage models
to train on in the demo (``make run`` runs it, then ``train_models``): decided holds, closed
deductions with their root causes, paid invoices, orders shipped on time or late, and orders with
hidden unusual ones that customer service rejected (the order-anomaly model)."""

from django.core.management.base import BaseCommand

from demo.triage import (
    one_invoice_each,
    seed_anomaly_history,
    seed_case_history,
    seed_payment_history,
    seed_shipment_history,
    seed_triage_history,
)
from orders.models import Customer, Item, Warehouse


class Command(BaseCommand):
    help = "Seed a history of decided holds for the triage models (safe to run again)."

    def add_arguments(self, parser):
        parser.add_argument("--holds", type=int, default=900)

    def handle(self, *args, holds: int, **options):
        from django.contrib.auth import get_user_model

        made = seed_triage_history(holds=holds)
        paid = seed_payment_history(
            invoices=1500, seed=20261205, still_open=40,
            customers=Customer.objects.order_by("number")[:40],
        )  # fmt: skip
        shipped = seed_shipment_history(
            orders=1500, seed=20261205, still_open=25,
            customers=Customer.objects.order_by("number")[:60],
            items=Item.objects.order_by("sku")[:20], warehouses=Warehouse.objects.order_by("code"),
        )  # fmt: skip
        # the deductions hang on the customers' invoices: after the paid ones exist
        cash = get_user_model().objects.filter(username="cash").first()
        cases = (
            seed_case_history(cases=900, seed=20261205, decider=cash, invoices=one_invoice_each(),
                              still_open=12)
            if cash else 0
        )  # fmt: skip
        # customers of their own where the demo has enough (past the ones above), so each
        # history keeps its own story; a small demo's last ten otherwise
        everyone = list(Customer.objects.order_by("number"))
        orders = seed_anomaly_history(
            orders=3000, seed=20261205, customers=everyone[60:90] or everyone[-10:],
            items=Item.objects.order_by("sku")[:40],
        )  # fmt: skip
        self.stdout.write(
            f"Seeded {made} decided holds, {cases} cases, {paid} invoices, {shipped} shipped "
            f"orders and {orders} orders for the anomaly model of history."
            if made or cases or paid or shipped or orders
            else "Triage history already present."
        )
