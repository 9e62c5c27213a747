"""The billing policy row, state base tax rates for the regions in use, and the billing beat tasks
(all editable in admin)."""

from decimal import Decimal

from django.db import migrations

TAX_RATES = [
    ("US-CA", "California (state base rate)", Decimal("0.07250")),
    ("US-CO", "Colorado (state base rate)", Decimal("0.02900")),
    ("US-GA", "Georgia (state base rate)", Decimal("0.04000")),
    ("US-IL", "Illinois (state base rate)", Decimal("0.06250")),
    ("US-MA", "Massachusetts", Decimal("0.06250")),
    ("US-TX", "Texas (state base rate)", Decimal("0.06250")),
    ("US-WA", "Washington (state base rate)", Decimal("0.06500")),
]
CRON_TASKS = [
    # name, task, minute, hour, day_of_week
    ("Consolidate daily invoices", "billing.tasks.invoices_consolidate_daily", "15", "0", "*"),
    ("Consolidate weekly invoices", "billing.tasks.invoices_consolidate_weekly", "30", "0", "1"),
]
INTERVAL_TASKS = [
    ("Invoice billable shipments (catch-up)", "billing.tasks.invoices_catch_up", 5, "minutes"),
    ("Raise holds for overdue proof of delivery", "billing.tasks.pod_overdue_scan", 1, "hours"),
]


def seed(apps, schema_editor):
    from django.conf import settings

    apps.get_model("billing", "BillingPolicy").objects.get_or_create(pk=1)
    TaxRate = apps.get_model("billing", "TaxRate")
    for region, name, rate in TAX_RATES:
        TaxRate.objects.get_or_create(region=region, defaults={"name": name, "rate": rate})
    Crontab = apps.get_model("django_celery_beat", "CrontabSchedule")
    Interval = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, minute, hour, day_of_week in CRON_TASKS:
        cron, _ = Crontab.objects.get_or_create(
            minute=minute, hour=hour, day_of_week=day_of_week, day_of_month="*",
            month_of_year="*", timezone=settings.TIME_ZONE,
        )
        PeriodicTask.objects.get_or_create(name=name, defaults={"task": task, "crontab": cron})
    for name, task, every, period in INTERVAL_TASKS:
        interval, _ = Interval.objects.get_or_create(every=every, period=period)
        PeriodicTask.objects.get_or_create(name=name, defaults={"task": task, "interval": interval})


def unseed(apps, schema_editor):
    names = [t[0] for t in CRON_TASKS + INTERVAL_TASKS]
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name__in=names).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
