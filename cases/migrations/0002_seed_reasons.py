"""The reason taxonomy with its owning queues and SLAs, and the remittance codes most customers
write (DMG, SHT, PRC, FRT, PRO) mapped for every customer; admin edits both."""

from django.db import migrations

#: code, name, category, queue, SLA hours
REASONS = [
    ("PRICING", "Price difference", "pricing", "pricing", 72),
    ("SHORTAGE", "Shortage", "shortage", "warehouse", 120),
    ("DAMAGE", "Damaged goods", "damage", "warehouse", 120),
    ("PROMOTION", "Promotion or allowance", "promotion", "customer_service", 120),
    ("FREIGHT", "Freight", "freight", "warehouse", 120),
    ("TAX", "Tax", "tax", "finance", 72),
    ("DUPLICATE", "Duplicate billing", "duplicate_billing", "finance", 48),
    ("UNAUTHORISED", "Unauthorised deduction", "unauthorised", "cash_application", 168),
    ("OTHER", "Other", "other", "cash_application", 120),
]
CODES = {"PRC": "PRICING", "SHT": "SHORTAGE", "DMG": "DAMAGE", "FRT": "FREIGHT", "PRO": "PROMOTION"}


def seed(apps, schema_editor):
    CaseReason = apps.get_model("cases", "CaseReason")
    Mapping = apps.get_model("cases", "ReasonCodeMapping")
    made = {}
    for code, name, category, queue, hours in REASONS:
        made[code], _ = CaseReason.objects.get_or_create(
            code=code,
            defaults={"name": name, "category": category, "queue": queue, "sla_hours": hours},
        )
    for code, reason in CODES.items():
        Mapping.objects.get_or_create(customer=None, code=code, defaults={"reason": made[reason]})


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
