"""Connectors of kind bank: statements and lockbox files."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('integrations', '0004_message_waiting'),
    ]

    operations = [
        migrations.AlterField(
            model_name='connector',
            name='kind',
            field=models.CharField(choices=[('erp', 'ERP'), ('wms', 'WMS'), ('tms', 'TMS'), ('bank', 'Bank')], max_length=8),
        ),
        migrations.AlterField(
            model_name='historicalconnector',
            name='kind',
            field=models.CharField(choices=[('erp', 'ERP'), ('wms', 'WMS'), ('tms', 'TMS'), ('bank', 'Bank')], max_length=8),
        ),
    ]
