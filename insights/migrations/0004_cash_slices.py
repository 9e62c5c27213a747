"""The cash application slices: payment and application figures, and unapplied cash by hour."""

from decimal import Decimal

from django.db import migrations, models


def recompute_everything(apps, schema_editor):
    """Payments already received have no slices yet: the next refresh (within a minute, by
    beat) rebuilds every slice, as it does when it finds no earlier refresh."""
    apps.get_model("insights", "RollupState").objects.update(refreshed_at=None)


class Migration(migrations.Migration):

    dependencies = [
        ('insights', '0003_slice_currency'),
    ]

    operations = [
        migrations.AlterField(
            model_name='dailyfigure',
            name='figure',
            field=models.CharField(choices=[('orders', 'Orders received'), ('decided', 'Orders past received'), ('touchless', 'Decided orders never held'), ('held', 'Orders with a hold'), ('reheld', 'Orders held again after a resolved hold'), ('on_hold', 'Orders on hold now (amount: their total)'), ('release_cycle', 'Received to released (histogram)'), ('holds', 'Holds raised'), ('held_by_reason', 'Orders held, per reason'), ('resolution', 'Raised to resolved (histogram)'), ('invoice_latency', 'Shipment to invoice (histogram)'), ('invoices_released', 'Invoices released'), ('invoices_clean', 'Released invoices without a credit memo'), ('payments', 'Payments received'), ('payments_auto', 'Payments applied automatically'), ('receipt_to_applied', 'Received to applied (histogram)'), ('applications', 'Applications made'), ('applications_kept', 'Applications never reversed')], max_length=24),
        ),
        migrations.CreateModel(
            name='UnappliedCashSlice',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('channel', models.CharField(blank=True, max_length=16)),
                ('segment', models.CharField(blank=True, max_length=16)),
                ('territory', models.CharField(blank=True, max_length=32)),
                ('created_hour', models.DateTimeField()),
                ('currency', models.CharField(max_length=3)),
                ('count', models.BigIntegerField()),
                ('amount', models.DecimalField(decimal_places=2, default=Decimal('0'), max_digits=16)),
            ],
            options={
                'indexes': [models.Index(fields=['day'], name='unapplied_cash_slice_day')],
            },
        ),
        migrations.RunPython(recompute_everything, migrations.RunPython.noop),
    ]
