"""Integration alerts: one open alert per kind, counting repeats, until a person resolves it."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('integrations', '0008_edi_interchange_once_per_receiver'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='IntegrationAlert',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('delivery_failed', 'Notice not delivered')], max_length=32)),
                ('message', models.CharField(help_text='The latest occurrence, readable.', max_length=500)),
                ('count', models.PositiveIntegerField(default=1, help_text='Occurrences while open.')),
                ('raised_at', models.DateTimeField()),
                ('last_raised_at', models.DateTimeField()),
                ('resolved_at', models.DateTimeField(blank=True, null=True)),
                ('resolved_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-last_raised_at'],
                'constraints': [models.UniqueConstraint(condition=models.Q(('resolved_at__isnull', True)), fields=('kind',), name='integration_alert_open_kind')],
            },
        ),
    ]
