"""The order-anomaly hold: the policy's anomaly score threshold (0.65 by default; segments inherit
it unless they set their own) and the ORDER_ANOMALY reason, raised for customer service when the
order-anomaly model, in suggest or act mode, scores an order above it."""

import django.core.validators
from decimal import Decimal
from django.db import migrations, models

DEFAULT = Decimal("0.65")


def seed(apps, schema_editor):
    HoldPolicy = apps.get_model("exceptions", "HoldPolicy")
    HoldPolicy.objects.filter(segment="", anomaly_score_threshold__isnull=True).update(
        anomaly_score_threshold=DEFAULT
    )
    HoldReason = apps.get_model("exceptions", "HoldReason")
    HoldReason.objects.get_or_create(
        code="ORDER_ANOMALY",
        defaults={
            "category": "anomaly",
            "description": "Order unlike the customer's usual ones (anomaly model)",
            "blocks": "release",
            "queue": "customer_service",
            "sla_hours": 4,
            "overridable": True,
        },
    )


class Migration(migrations.Migration):

    dependencies = [
        ('exceptions', '0008_notes_and_attachments'),
    ]

    operations = [
        migrations.AddField(
            model_name='historicalholdpolicy',
            name='anomaly_score_threshold',
            field=models.DecimalField(blank=True, decimal_places=2, help_text='An order whose anomaly score (0-1, from the order-anomaly model when it is in suggest or act mode) is above this is held for customer service.', max_digits=3, null=True, validators=[django.core.validators.MinValueValidator(Decimal('0')), django.core.validators.MaxValueValidator(Decimal('1'))]),
        ),
        migrations.AddField(
            model_name='holdpolicy',
            name='anomaly_score_threshold',
            field=models.DecimalField(blank=True, decimal_places=2, help_text='An order whose anomaly score (0-1, from the order-anomaly model when it is in suggest or act mode) is above this is held for customer service.', max_digits=3, null=True, validators=[django.core.validators.MinValueValidator(Decimal('0')), django.core.validators.MaxValueValidator(Decimal('1'))]),
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
