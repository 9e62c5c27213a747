"""Hold reasons raised by billing: shipment mismatches (warehouse) and billing holds (finance)."""

from django.db import migrations

REASONS = [
    ("SHIPMENT_SHORT", "fulfilment", "Shipped less than released", "ship", "warehouse", 8),
    ("SHIPMENT_OVER", "fulfilment", "Shipped more than ordered", "ship", "warehouse", 8),
    ("POD_OVERDUE", "billing", "Proof of delivery overdue", "invoice", "finance", 24),
    ("TAX_FAILED", "billing", "Tax could not be calculated", "invoice", "finance", 8),
    ("ERP_POSTING_REJECTED", "billing", "ERP rejected the invoice posting", "invoice", "finance", 8),
]


def add(apps, schema_editor):
    HoldReason = apps.get_model("exceptions", "HoldReason")
    for code, category, description, blocks, queue, sla in REASONS:
        HoldReason.objects.get_or_create(code=code, defaults={
            "category": category, "description": description, "blocks": blocks,
            "queue": queue, "sla_hours": sla, "overridable": True,
        })


class Migration(migrations.Migration):
    dependencies = [("exceptions", "0004_integration_reasons")]

    operations = [migrations.RunPython(add, migrations.RunPython.noop)]
