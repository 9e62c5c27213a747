"""The daily AR reconciliation: its runs and lines, and its beat task (editable in admin)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# After the night's ERP AR sync, before the working day.
DAILY = ("Reconcile AR with the ERP", "receivables.tasks.ar_reconciliation_daily", "30", "5")


def schedule(apps, schema_editor):
    from django.conf import settings

    name, task, minute, hour = DAILY
    Crontab = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    cron, _ = Crontab.objects.get_or_create(
        minute=minute, hour=hour, day_of_week="*", day_of_month="*", month_of_year="*",
        timezone=settings.TIME_ZONE,
    )
    PeriodicTask.objects.get_or_create(name=name, defaults={"task": task, "crontab": cron})


def unschedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=DAILY[0]).delete()


class Migration(migrations.Migration):

    # The customer model comes through 0001's dependency on orders.
    dependencies = [
        ('receivables', '0002_policy_and_role'),
        ('django_celery_beat', '0019_alter_periodictasks_options'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ArReconciliation',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('as_of', models.DateTimeField()),
                ('tolerance', models.DecimalField(decimal_places=2, max_digits=14)),
                ('customers', models.PositiveIntegerField(default=0)),
                ('flagged', models.PositiveIntegerField(default=0)),
                ('without_snapshot', models.PositiveIntegerField(default=0)),
                ('run_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'AR reconciliation',
            },
        ),
        migrations.CreateModel(
            name='ArReconciliationLine',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('currency', models.CharField(blank=True, max_length=3)),
                ('erp_open', models.DecimalField(decimal_places=2, max_digits=14)),
                ('erp_as_of', models.DateTimeField()),
                ('own_open', models.DecimalField(blank=True, decimal_places=2, max_digits=14, null=True)),
                ('erp_counted', models.DecimalField(blank=True, decimal_places=2, max_digits=14, null=True)),
                ('difference', models.DecimalField(blank=True, decimal_places=2, max_digits=14, null=True)),
                ('gap', models.DecimalField(decimal_places=2, default=0, max_digits=14)),
                ('flagged', models.BooleanField(default=False)),
                ('note', models.CharField(blank=True, max_length=200)),
                ('customer', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='orders.customer')),
                ('run', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='lines', to='receivables.arreconciliation')),
            ],
        ),
        migrations.AddIndex(
            model_name='arreconciliation',
            index=models.Index(fields=['-as_of', '-id'], name='ar_reconciliation_latest'),
        ),
        migrations.AddIndex(
            model_name='arreconciliationline',
            index=models.Index(fields=['run', '-flagged', '-gap', 'id'], name='ar_reconciliation_order'),
        ),
        migrations.AddConstraint(
            model_name='arreconciliationline',
            constraint=models.UniqueConstraint(fields=('run', 'customer'), name='ar_reconciliation_customer'),
        ),
        migrations.RunPython(schedule, unschedule),
    ]
