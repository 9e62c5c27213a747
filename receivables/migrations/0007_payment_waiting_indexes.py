"""The cash queue's default tab read in page order from indexes of the waiting payments alone,
built without blocking the statements' writes."""

from django.db import migrations, models

from core.migration_ops import AddIndexOnline

WAITING = models.Q(("state__in", ("suggested", "ambiguous", "unmatched")))


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("receivables", "0006_remittance_820_indexes"),
    ]

    operations = [
        AddIndexOnline(
            model_name="payment",
            index=models.Index(condition=WAITING, fields=["received_at", "id"], name="payment_waiting_age"),
        ),
        AddIndexOnline(
            model_name="payment",
            index=models.Index(condition=WAITING, fields=["-amount", "-id"], name="payment_waiting_amount"),
        ),
    ]
