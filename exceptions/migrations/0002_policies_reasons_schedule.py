"""Default thresholds and segment overrides, the hold reasons (raised by the order rules, by
integrations and by billing), and the SLA beat task; all editable in admin."""

from decimal import Decimal

from django.db import migrations

# code, category, description, blocks, queue, sla_hours, overridable
RULE_REASONS = [
    ("CREDIT_LIMIT", "credit", "Exposure above credit limit", "release", "credit", 8, True),
    ("CREDIT_PAST_DUE", "credit", "Past-due receivables too old", "release", "credit", 8, True),
    ("CREDIT_BLOCKED", "credit", "Customer credit status is blocked", "release", "credit", 4, True),
    ("PRICE_MISSING", "pricing", "Line has no price", "release", "pricing", 8, False),
    ("PRICE_BELOW_CONTRACT", "pricing", "Price below contract or list", "release", "pricing", 8, True),
    ("MARGIN_BELOW_FLOOR", "pricing", "Margin below floor", "release", "pricing", 8, True),
    ("STOCK_SHORT", "inventory", "Requested quantity exceeds available stock", "release", "warehouse", 12, True),
    ("STOCK_VARIANCE", "inventory", "ERP and WMS on-hand disagree", "ship", "warehouse", 24, True),
    ("MASTER_DATA_MISSING", "master_data", "Ship-to, payment terms or tax region missing", "release",
     "customer_service", 4, False),
    ("QUANTITY_ANOMALY", "anomaly", "Quantity far above the customer's usual", "release", "customer_service", 4, True),
]
INTEGRATION_REASONS = [
    ("SHIPMENT_UNMATCHED", "integration", "Shipment received for an order not released", "invoice",
     "integration_admin", 4, True),
]
# Shipment mismatches go to the warehouse, billing holds to finance.
BILLING_REASONS = [
    ("SHIPMENT_SHORT", "fulfilment", "Shipped less than released", "ship", "warehouse", 8, True),
    ("SHIPMENT_OVER", "fulfilment", "Shipped more than ordered", "ship", "warehouse", 8, True),
    ("POD_OVERDUE", "billing", "Proof of delivery overdue", "invoice", "finance", 24, True),
    ("TAX_FAILED", "billing", "Tax could not be calculated", "invoice", "finance", 8, True),
    ("ERP_POSTING_REJECTED", "billing", "ERP rejected the invoice posting", "invoice", "finance", 8, True),
]


def add_policies(apps):
    HoldPolicy = apps.get_model("exceptions", "HoldPolicy")
    HoldPolicy.objects.get_or_create(segment="", defaults={
        "credit_tolerance": Decimal("0.05"), "past_due_days": 60, "price_tolerance": Decimal("0.03"),
        "margin_floor": Decimal("0.08"), "stock_variance": Decimal("0.05"), "anomaly_factor": Decimal("5"),
        "anomaly_history_orders": 10, "maker_checker_amount": Decimal("10000.00"), "segment_weight": Decimal("1.00"),
    })
    HoldPolicy.objects.get_or_create(segment="strategic", defaults={
        "credit_tolerance": Decimal("0.15"), "maker_checker_amount": Decimal("50000.00"), "segment_weight": Decimal("3.00"),
    })
    HoldPolicy.objects.get_or_create(segment="key", defaults={"segment_weight": Decimal("2.00")})
    HoldPolicy.objects.get_or_create(segment="small", defaults={
        "credit_tolerance": Decimal("0.00"), "maker_checker_amount": Decimal("2500.00"), "segment_weight": Decimal("0.50"),
    })


def add_reasons(apps, reasons):
    HoldReason = apps.get_model("exceptions", "HoldReason")
    for code, category, description, blocks, queue, sla_hours, overridable in reasons:
        HoldReason.objects.get_or_create(code=code, defaults={
            "category": category, "description": description, "blocks": blocks, "queue": queue,
            "sla_hours": sla_hours, "overridable": overridable,
        })


def schedule(apps):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _ = IntervalSchedule.objects.get_or_create(every=5, period="minutes")
    PeriodicTask.objects.get_or_create(
        name="Escalate overdue holds", defaults={"task": "exceptions.tasks.holds_escalate_overdue", "interval": every}
    )


def seed(apps, schema_editor):
    add_policies(apps)
    add_reasons(apps, RULE_REASONS + INTEGRATION_REASONS + BILLING_REASONS)
    schedule(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("exceptions", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
