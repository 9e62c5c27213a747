"""The late-shipment model (in suggest mode: nothing shows, and no order enters the proactive
customer-service queue, until a version is trained on shipped orders and beats its baseline)."""

from django.db import migrations


def seed(apps, schema_editor):
    TriageModel = apps.get_model("triage", "TriageModel")
    TriageModel.objects.get_or_create(name="late_shipment", defaults={"mode": "suggest"})


class Migration(migrations.Migration):
    dependencies = [("triage", "0006_payment_risk_model")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
