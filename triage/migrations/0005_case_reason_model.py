"""The case-reason model (in suggest mode: nothing shows until a version is trained on closed
cases and beats its naive baseline; the scoring beat scores open holds and cases), and room in a
prediction's label for a category's name."""

from django.db import migrations, models


def seed(apps, schema_editor):
    TriageModel = apps.get_model("triage", "TriageModel")
    TriageModel.objects.get_or_create(name="case_reason", defaults={"mode": "suggest"})


class Migration(migrations.Migration):
    dependencies = [("triage", "0004_expected_hours")]
    operations = [
        # a category ("duplicate_billing") is a longer label than "release"
        migrations.AlterField(
            model_name="prediction", name="label", field=models.CharField(max_length=24)
        ),
        migrations.AlterField(
            model_name="prediction",
            name="outcome",
            field=models.CharField(blank=True, max_length=24),
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
