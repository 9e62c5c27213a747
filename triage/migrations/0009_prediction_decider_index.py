"""The decisions' partial index, built without blocking ingestion's prediction writes."""

from django.conf import settings
from django.db import migrations, models

from core.migration_ops import AddIndexOnline


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("triage", "0008_order_anomaly_model"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        AddIndexOnline(
            model_name="prediction",
            index=models.Index(
                condition=models.Q(("decided_by__isnull", False)),
                fields=["decided_by"],
                name="triage_prediction_decider",
            ),
        ),
    ]
