"""Invoices keep what was settled on them (cash, discounts, write-offs) and credited; invoices
already credited or marked paid get their sums from what is stored."""

import django_fsm
from decimal import Decimal
from django.db import migrations, models
from django.db.models import OuterRef, Subquery, Sum


def backfill(apps, schema_editor):
    Invoice = apps.get_model("billing", "Invoice")
    CreditMemo = apps.get_model("billing", "CreditMemo")
    credited = (
        CreditMemo.objects.filter(invoice=OuterRef("pk"))
        .values("invoice")
        .annotate(total=Sum("total"))
        .values("total")
    )
    Invoice.objects.filter(credit_memos__isnull=False).distinct().update(
        credited_amount=Subquery(credited)
    )
    # paid by hand before cash application existed: nothing of it is open
    Invoice.objects.filter(state="paid").update(
        settled_amount=models.F("total") - models.F("credited_amount")
    )


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0002_defaults_and_schedules'),
    ]

    operations = [
        migrations.AddField(
            model_name='historicalinvoice',
            name='credited_amount',
            field=models.DecimalField(decimal_places=2, default=Decimal('0'), max_digits=14),
        ),
        migrations.AddField(
            model_name='historicalinvoice',
            name='settled_amount',
            field=models.DecimalField(decimal_places=2, default=Decimal('0'), max_digits=14),
        ),
        migrations.AddField(
            model_name='invoice',
            name='credited_amount',
            field=models.DecimalField(decimal_places=2, default=Decimal('0'), max_digits=14),
        ),
        migrations.AddField(
            model_name='invoice',
            name='settled_amount',
            field=models.DecimalField(decimal_places=2, default=Decimal('0'), max_digits=14),
        ),
        migrations.AlterField(
            model_name='historicalinvoice',
            name='state',
            field=django_fsm.FSMField(choices=[('draft', 'Draft'), ('pending_approval', 'Pending approval'), ('released', 'Released'), ('posted', 'Posted'), ('partially_paid', 'Partially paid'), ('paid', 'Paid'), ('void', 'Void')], db_index=True, default='draft', max_length=50, protected=True),
        ),
        migrations.AlterField(
            model_name='invoice',
            name='state',
            field=django_fsm.FSMField(choices=[('draft', 'Draft'), ('pending_approval', 'Pending approval'), ('released', 'Released'), ('posted', 'Posted'), ('partially_paid', 'Partially paid'), ('paid', 'Paid'), ('void', 'Void')], db_index=True, default='draft', max_length=50, protected=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
