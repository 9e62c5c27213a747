"""A payment remembers when the ERP acknowledged its applications."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('receivables', '0003_ar_reconciliation'),
    ]

    operations = [
        migrations.AddField(
            model_name='historicalpayment',
            name='posted_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='payment',
            name='posted_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
