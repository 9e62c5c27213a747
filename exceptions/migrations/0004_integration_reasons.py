"""Hold reasons raised by integrations (not by the order rules)."""

from django.db import migrations


def add(apps, schema_editor):
    HoldReason = apps.get_model("exceptions", "HoldReason")
    HoldReason.objects.get_or_create(code="SHIPMENT_UNMATCHED", defaults={
        "category": "integration", "description": "Shipment received for an order not released",
        "blocks": "invoice", "queue": "integration_admin", "sla_hours": 4, "overridable": True,
    })


class Migration(migrations.Migration):
    dependencies = [("exceptions", "0003_history_reason_text")]

    operations = [migrations.RunPython(add, migrations.RunPython.noop)]
