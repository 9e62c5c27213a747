"""Create the staff role groups and the system user that imports and tasks act as."""

from django.db import migrations

ROLES = [
    "customer_service",
    "credit",
    "pricing",
    "warehouse",
    "finance",
    "integration_admin",
    "manager",
]


def create_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    User = apps.get_model("auth", "User")
    for name in ROLES:
        Group.objects.get_or_create(name=name)
    # No usable password: this account only authors history rows written by connectors and tasks.
    User.objects.get_or_create(
        username="o2c-system",
        defaults={"first_name": "o2c", "last_name": "system", "password": "!"},
    )


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
