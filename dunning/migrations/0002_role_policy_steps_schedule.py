"""The collections role, the policy's one row, a sensible ladder of dunning steps (editable in
admin) and the nightly run on the beat."""

from django.db import migrations

# After the AR reconciliation (05:30), before the working day.
DAILY = ("Collections: dunning, promises, standings", "dunning.tasks.dunning_daily", "45", "5")

STEPS = [
    (
        "Friendly reminder",
        1,
        "reminder",
        "Dear {customer},\n\nour records show {amount} past due on invoices {invoices}. If you "
        "have already paid, thank you, and please send us the remittance.",
    ),
    (
        "Second reminder",
        15,
        "reminder",
        "Dear {customer},\n\n{amount} on invoices {invoices} is now more than two weeks past "
        "due. Please pay, or tell us what stands in the way.",
    ),
    ("Collector's call", 30, "task", "Call {customer} about {amount} past due ({invoices})."),
    (
        "Escalate to the credit manager",
        60,
        "task",
        "{customer} owes {amount} more than 60 days past due ({invoices}); their orders are "
        "blocked. Agree a plan or pass it to the credit manager.",
    ),
]


def seed(apps, schema_editor):
    from django.conf import settings

    apps.get_model("auth", "Group").objects.get_or_create(name="collections")
    Policy = apps.get_model("dunning", "DunningPolicy")
    if not Policy.objects.exists():
        Policy.objects.create()
    Step = apps.get_model("dunning", "DunningStep")
    for name, days, action, message in STEPS:
        Step.objects.get_or_create(
            days_past_due=days, defaults={"name": name, "action": action, "message": message}
        )
    name, task, minute, hour = DAILY
    Crontab = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    cron, _ = Crontab.objects.get_or_create(
        minute=minute, hour=hour, day_of_week="*", day_of_month="*", month_of_year="*",
        timezone=settings.TIME_ZONE,
    )
    PeriodicTask.objects.get_or_create(name=name, defaults={"task": task, "crontab": cron})


def unseed(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=DAILY[0]).delete()
    apps.get_model("auth", "Group").objects.filter(name="collections").delete()


class Migration(migrations.Migration):

    dependencies = [
        ("dunning", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
