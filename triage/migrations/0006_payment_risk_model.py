"""The payment-risk model (in suggest mode: nothing shows until a version is trained on paid
invoices and beats its naive baseline), and a prediction's expected days late."""

from django.db import migrations, models


def seed(apps, schema_editor):
    TriageModel = apps.get_model("triage", "TriageModel")
    TriageModel.objects.get_or_create(name="payment_risk", defaults={"mode": "suggest"})


class Migration(migrations.Migration):
    dependencies = [("triage", "0005_case_reason_model")]
    operations = [
        migrations.AddField(
            model_name="prediction",
            name="expected_days",
            field=models.FloatField(blank=True, null=True),
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
