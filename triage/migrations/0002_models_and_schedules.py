"""The hold-outcome model (in suggest mode: nothing shows until a version is trained and beats
its baseline), and the beat entries that score open holds and retrain weekly."""

from django.db import migrations

TASKS = [
    ("Triage: score open holds", "triage.tasks.triage_score_task", 2, "minutes"),
    ("Triage: retrain models", "triage.tasks.triage_train_task", 7, "days"),
]


def seed(apps, schema_editor):
    TriageModel = apps.get_model("triage", "TriageModel")
    TriageModel.objects.get_or_create(name="hold_outcome", defaults={"mode": "suggest"})
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, every, period in TASKS:
        interval, _ = IntervalSchedule.objects.get_or_create(every=every, period=period)
        PeriodicTask.objects.get_or_create(name=name, defaults={"task": task, "interval": interval})


def unseed(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[name for name, *_ in TASKS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("triage", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(seed, unseed)]
