"""A customer's held orders read from an index of the held orders alone (judged again when the
customer's cash is applied), built without blocking the orders' writes."""

from django.db import migrations, models

from core.migration_ops import AddIndexOnline


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("orders", "0006_ship_watch"),
    ]

    operations = [
        AddIndexOnline(
            model_name="order",
            index=models.Index(
                condition=models.Q(("state", "on_hold")), fields=["customer"], name="orders_order_held"
            ),
        ),
    ]
