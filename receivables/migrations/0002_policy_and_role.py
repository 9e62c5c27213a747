"""The cash policy's one row, and the cash application role."""

from django.db import migrations


def create(apps, schema_editor):
    apps.get_model("receivables", "CashPolicy").objects.get_or_create(pk=1)
    apps.get_model("auth", "Group").objects.get_or_create(name="cash_application")


def remove(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="cash_application").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("receivables", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create, remove)]
