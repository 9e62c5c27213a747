"""The order-anomaly model, in shadow mode: once a version is trained, its scores are recorded
beside the orders and shown to nobody, until a manager moves it to suggest (then the hold policy's
anomaly score threshold holds an order). Its calls ("anomaly") are made at 0.65."""

from decimal import Decimal

from django.db import migrations


def seed(apps, schema_editor):
    TriageModel = apps.get_model("triage", "TriageModel")
    TriageModel.objects.get_or_create(
        name="order_anomaly", defaults={"mode": "shadow", "threshold": Decimal("0.65")}
    )


class Migration(migrations.Migration):
    dependencies = [("triage", "0007_late_shipment_model")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
