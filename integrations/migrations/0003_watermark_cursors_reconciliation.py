"""Cursors become updated-since watermarks with an overlap window, and a reconciliation of every
stream with its source runs hourly (a django-celery-beat entry, editable in admin).

A position cursor ("after the 250th record") cannot be turned into a watermark, so each one is
emptied: the next pull reads its stream from the start once, and the inbox's idempotency key
makes every record already stored a no-op.
"""

import django.db.models.deletion
from django.db import migrations, models

TASK_NAME = "Reconcile connector streams"


def forward(apps, schema_editor):
    SyncCursor = apps.get_model("integrations", "SyncCursor")
    SyncCursor.objects.exclude(cursor="").update(cursor="")  # bookkeeping: no history kept
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _ = IntervalSchedule.objects.get_or_create(every=1, period="hours")
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={"task": "integrations.tasks.connectors_reconcile", "interval": every},
    )


def backward(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()
    apps.get_model("integrations", "SyncCursor").objects.exclude(cursor="").update(cursor="")


class Migration(migrations.Migration):
    dependencies = [
        ("exceptions", "0002_policies_reasons_schedule"),
        ("integrations", "0002_heartbeat_schedule"),
        ("orders", "0002_roles_and_system_user"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.AddField(
            model_name="connector",
            name="overlap_seconds",
            field=models.PositiveIntegerField(
                default=300,
                help_text="Each pull reads again the changes this many seconds behind the newest it read, so a change the source stamps late is not missed; repeats change nothing.",
            ),
        ),
        migrations.AddField(
            model_name="historicalconnector",
            name="overlap_seconds",
            field=models.PositiveIntegerField(
                default=300,
                help_text="Each pull reads again the changes this many seconds behind the newest it read, so a change the source stamps late is not missed; repeats change nothing.",
            ),
        ),
        migrations.AddField(
            model_name="synccursor",
            name="reconciled_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="synccursor",
            name="reconciliation",
            field=models.CharField(
                blank=True,
                help_text="What the last reconciliation compared and found.",
                max_length=300,
            ),
        ),
        migrations.AlterField(
            model_name="synccursor",
            name="cursor",
            field=models.CharField(
                blank=True,
                help_text="“<updated_at>|<id>”: the next pull reads the changes after it; empty: all.",
                max_length=200,
            ),
        ),
        migrations.CreateModel(
            name="MissedRecord",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("stream", models.CharField(max_length=32)),
                ("external_id", models.CharField(max_length=100)),
                ("version", models.PositiveIntegerField()),
                (
                    "source_updated_at",
                    models.DateTimeField(help_text="When the source says it changed."),
                ),
                ("found_at", models.DateTimeField()),
                ("resolved_at", models.DateTimeField(blank=True, null=True)),
                ("note", models.CharField(blank=True, max_length=300)),
                (
                    "connector",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="missed",
                        to="integrations.connector",
                    ),
                ),
                (
                    "hold",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="exceptions.hold",
                    ),
                ),
                (
                    "order",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="orders.order",
                    ),
                ),
            ],
            options={
                "ordering": ["-found_at", "-id"],
                "indexes": [
                    models.Index(
                        condition=models.Q(("resolved_at__isnull", True)),
                        fields=["connector", "stream"],
                        name="missed_open",
                    )
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("connector", "stream", "external_id", "version"),
                        name="integrations_missed_unique",
                    )
                ],
            },
        ),
        migrations.RunPython(forward, backward),
    ]
