"""The hold a ship confirmation raises when the warehouse shipped an order while a hold blocked
its shipping: the shipment is a fact and is recorded; invoicing waits for the warehouse."""

import importlib

from django.db import migrations

# code, category, description, blocks, queue, sla_hours, overridable
SHIPPING_REASONS = [
    ("SHIPPED_WHILE_HELD", "fulfilment", "Shipped while a hold blocked shipping", "invoice",
     "warehouse", 8, True),
]


def seed(apps, schema_editor):
    defaults = importlib.import_module("exceptions.migrations.0002_policies_reasons_schedule")
    defaults.add_reasons(apps, SHIPPING_REASONS)


class Migration(migrations.Migration):
    dependencies = [("exceptions", "0002_policies_reasons_schedule")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
