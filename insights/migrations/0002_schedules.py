"""The beat tasks that keep the KPI slices current (editable in admin): a refresh of changed days
every minute and a full rebuild every night."""

from django.db import migrations

REFRESH = ("Refresh KPI slices (changed days)", "insights.tasks.kpis_refresh")
REBUILD = ("Rebuild KPI slices", "insights.tasks.kpis_rebuild")


def schedule(apps, schema_editor):
    from django.conf import settings

    Interval = apps.get_model("django_celery_beat", "IntervalSchedule")
    Crontab = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _ = Interval.objects.get_or_create(every=1, period="minutes")
    PeriodicTask.objects.get_or_create(
        name=REFRESH[0], defaults={"task": REFRESH[1], "interval": every}
    )
    nightly, _ = Crontab.objects.get_or_create(
        minute="40", hour="2", day_of_week="*", day_of_month="*", month_of_year="*",
        timezone=settings.TIME_ZONE,
    )
    PeriodicTask.objects.get_or_create(
        name=REBUILD[0], defaults={"task": REBUILD[1], "crontab": nightly}
    )


def unschedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[REFRESH[0], REBUILD[0]]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("insights", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
