"""What each notice is about, and the hourly beat task that sends the daily digests when due."""

from django.db import migrations, models


# Hourly: each person's digest goes at O2C_DIGEST_HOUR in their own time zone.
DIGEST = ("Send the daily notice digests", "exceptions.tasks.notices_digest_task", "5", "*")


def schedule(apps, schema_editor):
    from django.conf import settings

    name, task, minute, hour = DIGEST
    Crontab = apps.get_model("django_celery_beat", "CrontabSchedule")
    cron, _ = Crontab.objects.get_or_create(
        minute=minute, hour=hour, day_of_week="*", day_of_month="*", month_of_year="*",
        timezone=settings.TIME_ZONE,
    )
    apps.get_model("django_celery_beat", "PeriodicTask").objects.get_or_create(
        name=name, defaults={"task": task, "crontab": cron}
    )


def unschedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=DIGEST[0]).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('django_celery_beat', '0019_alter_periodictasks_options'),
        ('exceptions', '0009_anomaly_score_threshold'),
    ]

    operations = [
        migrations.AddField(
            model_name='notification',
            name='kind',
            field=models.CharField(blank=True, max_length=20),
        ),
        migrations.AddField(
            model_name='notification',
            name='digested_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(schedule, unschedule),
    ]
