"""The hold reasons of EDI documents past due, and the beat entry that finds them."""

import importlib

from django.db import migrations

# code, category, description, blocks, queue, sla_hours, overridable
REASONS = [
    ("EDI_ACK_OVERDUE", "integration", "Partner's 997 acknowledgement overdue", "invoice",
     "integration_admin", 8, True),
    ("EDI_DOCUMENT_OVERDUE", "integration", "Required EDI document not sent in time", "invoice",
     "integration_admin", 8, True),
]  # fmt: skip
TASK_NAME = "EDI documents overdue"


def seed(apps, schema_editor):
    defaults = importlib.import_module("exceptions.migrations.0002_policies_reasons_schedule")
    defaults.add_reasons(apps, REASONS)
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _ = IntervalSchedule.objects.get_or_create(every=15, period="minutes")
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME, defaults={"task": "integrations.tasks.edi_overdue_task", "interval": every}
    )


def unseed(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0006_edi_partners_interchanges"),
        ("exceptions", "0005_change_after_shipment_reason"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(seed, unseed)]
