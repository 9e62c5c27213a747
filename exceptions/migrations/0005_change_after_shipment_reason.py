"""A hold reason for an upstream change or cancellation that can no longer apply because the
order has shipped (or the WMS answered "already shipped"): customer service sees the
difference and settles it with the customer; invoicing waits."""

import importlib

from django.db import migrations

# code, category, description, blocks, queue, sla_hours, overridable
REASONS = [
    (
        "CHANGED_AFTER_SHIPMENT",
        "fulfilment",
        "Changed or cancelled upstream after shipping",
        "invoice",
        "customer_service",
        8,
        True,
    ),
]


def seed(apps, schema_editor):
    defaults = importlib.import_module("exceptions.migrations.0002_policies_reasons_schedule")
    defaults.add_reasons(apps, REASONS)


class Migration(migrations.Migration):
    dependencies = [("exceptions", "0004_release_decisions")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
