"""A message waiting for its order or shipment keeps its waiting time and its checks apart from
its attempts, which now count real failures only (the poison limit reads them).

Messages parked when this runs had every check counted as an attempt: those checks become
``park_checks``, their attempts start again from zero, and their waiting is dated from their
arrival, as the O2C_PARK_HOURS limit was counted until now.
"""

from django.db import migrations, models
from django.db.models import F


def forward(apps, schema_editor):
    InboundMessage = apps.get_model("integrations", "InboundMessage")
    # bookkeeping of the new columns: no history row, as the counts were never recorded there
    InboundMessage.objects.filter(state="failed", last_error__startswith="parked: ").update(
        parked_since=F("received_at"), park_checks=F("attempts"), attempts=0
    )


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0003_watermark_cursors_reconciliation"),
    ]

    operations = [
        migrations.AddField(
            model_name="historicalinboundmessage",
            name="park_checks",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="historicalinboundmessage",
            name="parked_since",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="inboundmessage",
            name="park_checks",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="inboundmessage",
            name="parked_since",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(forward, migrations.RunPython.noop, elidable=True),
    ]
