"""Notice preferences, the deliveries of mail and chat, and the beat sweep of lost deliveries."""

import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models


SWEEP = ("Send deliveries whose task was lost", "core.tasks.deliveries_sweep_task", 60)


def schedule(apps, schema_editor):
    name, task, seconds = SWEEP
    Interval = apps.get_model("django_celery_beat", "IntervalSchedule")
    every, _ = Interval.objects.get_or_create(every=seconds, period="seconds")
    apps.get_model("django_celery_beat", "PeriodicTask").objects.get_or_create(
        name=name, defaults={"task": task, "interval": every}
    )


def unschedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=SWEEP[0]).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('django_celery_beat', '0019_alter_periodictasks_options'),
        ('core', '0003_saved_view'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='HistoricalNoticePreference',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('kind', models.CharField(choices=[('escalation', 'Escalations of work I hold or oversee'), ('assignment', 'Work routed or assigned to me'), ('approval', 'Decisions on what I sent for approval'), ('mention', 'Notes that mention me'), ('late_shipment', 'Orders likely to ship late'), ('model', 'Models changing mode')], max_length=20)),
                ('mode', models.CharField(choices=[('email', 'Email at once, and in the app'), ('digest', 'In the app, and once a day in an email digest'), ('in_app', 'In the app only'), ('off', 'Off')], default='email', max_length=10)),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.TextField(null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('user', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'historical notice preference',
                'verbose_name_plural': 'historical notice preferences',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='Delivery',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('channel', models.CharField(choices=[('email', 'Email'), ('chat', 'Chat')], max_length=8)),
                ('address', models.CharField(max_length=254)),
                ('kind', models.CharField(blank=True, help_text="The notice kind, or 'digest'.", max_length=20)),
                ('subject', models.CharField(max_length=200)),
                ('body', models.TextField()),
                ('key', models.CharField(blank=True, max_length=120, null=True, unique=True)),
                ('status', models.CharField(choices=[('pending', 'Pending'), ('sent', 'Sent'), ('failed', 'Failed')], default='pending', max_length=8)),
                ('attempts', models.PositiveSmallIntegerField(default=0)),
                ('last_error', models.TextField(blank=True)),
                ('created_at', models.DateTimeField()),
                ('next_attempt_at', models.DateTimeField(blank=True, null=True)),
                ('last_attempt_at', models.DateTimeField(blank=True, null=True)),
                ('sent_at', models.DateTimeField(blank=True, null=True)),
                ('user', models.ForeignKey(blank=True, help_text="The person it is for; empty for a customer's letter or a chat channel.", null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='deliveries', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name_plural': 'deliveries',
                'ordering': ['-created_at', '-id'],
                'indexes': [models.Index(fields=['status', 'next_attempt_at'], name='core_delivery_due')],
            },
        ),
        migrations.CreateModel(
            name='NoticePreference',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('escalation', 'Escalations of work I hold or oversee'), ('assignment', 'Work routed or assigned to me'), ('approval', 'Decisions on what I sent for approval'), ('mention', 'Notes that mention me'), ('late_shipment', 'Orders likely to ship late'), ('model', 'Models changing mode')], max_length=20)),
                ('mode', models.CharField(choices=[('email', 'Email at once, and in the app'), ('digest', 'In the app, and once a day in an email digest'), ('in_app', 'In the app only'), ('off', 'Off')], default='email', max_length=10)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='notice_preferences', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('user', 'kind'), name='core_notice_preference_kind')],
            },
        ),
        migrations.RunPython(schedule, unschedule),
    ]
