"""Two controls' hold reasons: a ship confirmation for an order the warehouse shipped while a hold
blocked its shipping (the shipment is a fact and is recorded; invoicing waits for the
warehouse), and an upstream record the pulls missed that reconciliation found."""

import importlib

from django.db import migrations

# code, category, description, blocks, queue, sla_hours, overridable
REASONS = [
    ("SHIPPED_WHILE_HELD", "fulfilment", "Shipped while a hold blocked shipping", "invoice",
     "warehouse", 8, True),
    ("RECORD_MISSED", "integration", "Upstream record missed by the pull, found by reconciliation",
     "invoice", "integration_admin", 8, True),
]


def seed(apps, schema_editor):
    defaults = importlib.import_module("exceptions.migrations.0002_policies_reasons_schedule")
    defaults.add_reasons(apps, REASONS)


class Migration(migrations.Migration):
    dependencies = [("exceptions", "0002_policies_reasons_schedule")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
