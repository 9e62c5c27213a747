"""What released invoices have billed of an order, so credit exposure counts a partly invoiced
order's uninvoiced value only (the invoiced part is in receivables, and was counted twice).
Filled in for the orders exposure reads; its index carries it beside the total, rebuilt without
blocking the orders' writes."""

from decimal import Decimal

from django.db import migrations, models
from django.db.models import F, Sum

from core.migration_ops import AddIndexOnline

EXPOSED = ["released", "allocated", "partially_shipped", "shipped", "partially_invoiced"]
#: Invoices not (yet) released bill nothing: their lines are in no receivable.
UNRELEASED = ["draft", "pending_approval", "void"]


def fill(apps, schema_editor):
    Order = apps.get_model("orders", "Order")
    InvoiceLine = apps.get_model("billing", "InvoiceLine")
    billed = (
        InvoiceLine.objects.filter(order_line__order__state__in=EXPOSED)
        .exclude(invoice__state__in=UNRELEASED)
        .values("order_line__order_id")
        .annotate(amount=Sum(F("amount") + F("tax_amount")))
        .order_by()
    )
    for row in billed.iterator(chunk_size=2000):
        Order.objects.filter(pk=row["order_line__order_id"]).update(invoiced_amount=row["amount"])


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("orders", "0007_held_by_customer"),
        ("billing", "0007_invoice_index_diet"),
    ]

    operations = [
        migrations.AddField(
            model_name="historicalorder",
            name="invoiced_amount",
            field=models.DecimalField(decimal_places=2, default=Decimal("0"), max_digits=14),
        ),
        migrations.AddField(
            model_name="order",
            name="invoiced_amount",
            field=models.DecimalField(decimal_places=2, default=Decimal("0"), max_digits=14),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, atomic=True, elidable=True),
        migrations.RemoveIndex(model_name="order", name="orders_order_exposure"),
        AddIndexOnline(
            model_name="order",
            index=models.Index(
                condition=models.Q(("state__in", EXPOSED)),
                fields=["customer"],
                include=("total", "invoiced_amount"),
                name="orders_order_exposure",
            ),
        ),
    ]
