"""Cases: reasons and their mapping from customers' remittance codes, deductions and disputes,
their notes, and the case policy."""

import django.db.models.deletion
import django_fsm
import simple_history.models
import uuid
from decimal import Decimal
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('billing', '0003_settled_and_credited_amounts'),
        ('orders', '0004_customer_parent_and_discount_terms'),
        ('receivables', '0004_payment_posted_at'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='CasePolicy',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('credit_memo_limit', models.DecimalField(decimal_places=2, default=Decimal('1000.00'), max_digits=14)),
            ],
            options={
                'verbose_name_plural': 'case policy',
            },
        ),
        migrations.CreateModel(
            name='CaseReason',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('code', models.CharField(max_length=32, unique=True)),
                ('name', models.CharField(max_length=100)),
                ('category', models.CharField(choices=[('pricing', 'Pricing'), ('shortage', 'Shortage'), ('damage', 'Damage'), ('promotion', 'Promotion or allowance'), ('freight', 'Freight'), ('tax', 'Tax'), ('duplicate_billing', 'Duplicate billing'), ('unauthorised', 'Unauthorised'), ('other', 'Other')], max_length=20)),
                ('queue', models.CharField(choices=[('pricing', 'Pricing'), ('warehouse', 'Warehouse'), ('customer_service', 'Customer service'), ('finance', 'Finance'), ('cash_application', 'Cash application')], max_length=20)),
                ('sla_hours', models.PositiveIntegerField(default=120)),
            ],
            options={
                'ordering': ['code'],
            },
        ),
        migrations.CreateModel(
            name='Case',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('deduction', 'Deduction'), ('dispute', 'Dispute')], max_length=10)),
                ('amount', models.DecimalField(decimal_places=2, max_digits=14)),
                ('currency', models.CharField(max_length=3)),
                ('remittance_code', models.CharField(blank=True, max_length=32)),
                ('queue', models.CharField(choices=[('pricing', 'Pricing'), ('warehouse', 'Warehouse'), ('customer_service', 'Customer service'), ('finance', 'Finance'), ('cash_application', 'Cash application')], max_length=20)),
                ('state', django_fsm.FSMField(choices=[('open', 'Open'), ('claimed', 'Claimed'), ('resolved_valid', 'Valid'), ('resolved_invalid', 'Invalid'), ('resolved_partly', 'Partly valid'), ('written_off', 'Written off'), ('withdrawn', 'Withdrawn'), ('awaiting_approval', 'Credit waiting for approval')], default='open', max_length=50, protected=True)),
                ('opened_at', models.DateTimeField()),
                ('due_at', models.DateTimeField()),
                ('claimed_at', models.DateTimeField(blank=True, null=True)),
                ('resolved_at', models.DateTimeField(blank=True, null=True)),
                ('outcome_amount', models.DecimalField(blank=True, decimal_places=2, max_digits=14, null=True)),
                ('root_cause', models.CharField(blank=True, choices=[('price_file', 'Price file wrong or late'), ('shipment_short', 'Shipment short'), ('damage_in_transit', 'Damage in transit'), ('promotion_not_set_up', 'Promotion not set up'), ('freight_terms', 'Freight terms'), ('tax_setup', 'Tax set-up'), ('billed_twice', 'Billed twice'), ('customer_error', "Customer's error"), ('other', 'Other')], max_length=24)),
                ('root_cause_text', models.TextField(blank=True)),
                ('proposal', models.JSONField(blank=True, default=dict)),
                ('correlation_id', models.UUIDField(db_index=True, default=uuid.uuid4)),
                ('application', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='case', to='receivables.application')),
                ('claimed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('credit_memo', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='cases', to='billing.creditmemo')),
                ('customer', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='cases', to='orders.customer')),
                ('invoice', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='cases', to='billing.invoice')),
                ('opened_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('payment', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='cases', to='receivables.payment')),
                ('proposed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('resolved_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('write_off', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='cases', to='receivables.writeoff')),
                ('reason', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='cases', to='cases.casereason')),
            ],
            bases=(django_fsm.ConcurrentTransitionMixin, django_fsm.FSMModelMixin, models.Model),
        ),
        migrations.CreateModel(
            name='HistoricalCase',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('kind', models.CharField(choices=[('deduction', 'Deduction'), ('dispute', 'Dispute')], max_length=10)),
                ('amount', models.DecimalField(decimal_places=2, max_digits=14)),
                ('currency', models.CharField(max_length=3)),
                ('remittance_code', models.CharField(blank=True, max_length=32)),
                ('queue', models.CharField(choices=[('pricing', 'Pricing'), ('warehouse', 'Warehouse'), ('customer_service', 'Customer service'), ('finance', 'Finance'), ('cash_application', 'Cash application')], max_length=20)),
                ('state', django_fsm.FSMField(choices=[('open', 'Open'), ('claimed', 'Claimed'), ('resolved_valid', 'Valid'), ('resolved_invalid', 'Invalid'), ('resolved_partly', 'Partly valid'), ('written_off', 'Written off'), ('withdrawn', 'Withdrawn'), ('awaiting_approval', 'Credit waiting for approval')], default='open', max_length=50, protected=True)),
                ('opened_at', models.DateTimeField()),
                ('due_at', models.DateTimeField()),
                ('claimed_at', models.DateTimeField(blank=True, null=True)),
                ('resolved_at', models.DateTimeField(blank=True, null=True)),
                ('outcome_amount', models.DecimalField(blank=True, decimal_places=2, max_digits=14, null=True)),
                ('root_cause', models.CharField(blank=True, choices=[('price_file', 'Price file wrong or late'), ('shipment_short', 'Shipment short'), ('damage_in_transit', 'Damage in transit'), ('promotion_not_set_up', 'Promotion not set up'), ('freight_terms', 'Freight terms'), ('tax_setup', 'Tax set-up'), ('billed_twice', 'Billed twice'), ('customer_error', "Customer's error"), ('other', 'Other')], max_length=24)),
                ('root_cause_text', models.TextField(blank=True)),
                ('proposal', models.JSONField(blank=True, default=dict)),
                ('correlation_id', models.UUIDField(db_index=True, default=uuid.uuid4)),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.TextField(null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('application', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='receivables.application')),
                ('claimed_by', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('credit_memo', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='billing.creditmemo')),
                ('customer', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='orders.customer')),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('invoice', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='billing.invoice')),
                ('opened_by', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('payment', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='receivables.payment')),
                ('proposed_by', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('reason', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='cases.casereason')),
                ('resolved_by', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('write_off', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='receivables.writeoff')),
            ],
            options={
                'verbose_name': 'historical case',
                'verbose_name_plural': 'historical cases',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='HistoricalCaseNote',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('text', models.TextField()),
                ('created_at', models.DateTimeField()),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.TextField(null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('author', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('case', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='cases.case')),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'historical case note',
                'verbose_name_plural': 'historical case notes',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='HistoricalCasePolicy',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('credit_memo_limit', models.DecimalField(decimal_places=2, default=Decimal('1000.00'), max_digits=14)),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.TextField(null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'historical case policy',
                'verbose_name_plural': 'historical case policy',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='HistoricalCaseReason',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('code', models.CharField(db_index=True, max_length=32)),
                ('name', models.CharField(max_length=100)),
                ('category', models.CharField(choices=[('pricing', 'Pricing'), ('shortage', 'Shortage'), ('damage', 'Damage'), ('promotion', 'Promotion or allowance'), ('freight', 'Freight'), ('tax', 'Tax'), ('duplicate_billing', 'Duplicate billing'), ('unauthorised', 'Unauthorised'), ('other', 'Other')], max_length=20)),
                ('queue', models.CharField(choices=[('pricing', 'Pricing'), ('warehouse', 'Warehouse'), ('customer_service', 'Customer service'), ('finance', 'Finance'), ('cash_application', 'Cash application')], max_length=20)),
                ('sla_hours', models.PositiveIntegerField(default=120)),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.TextField(null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'historical case reason',
                'verbose_name_plural': 'historical case reasons',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='HistoricalReasonCodeMapping',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('code', models.CharField(max_length=32)),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.TextField(null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('customer', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='orders.customer')),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('reason', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='cases.casereason')),
            ],
            options={
                'verbose_name': 'historical reason code mapping',
                'verbose_name_plural': 'historical reason code mappings',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='ReasonCodeMapping',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('code', models.CharField(max_length=32)),
                ('customer', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='orders.customer')),
                ('reason', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='mappings', to='cases.casereason')),
            ],
        ),
        migrations.CreateModel(
            name='CaseNote',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('text', models.TextField()),
                ('created_at', models.DateTimeField()),
                ('author', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('case', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='notes', to='cases.case')),
            ],
            options={
                'ordering': ['created_at', 'id'],
                'indexes': [models.Index(fields=['case', 'created_at'], name='case_note_case')],
            },
        ),
        migrations.AddIndex(
            model_name='case',
            index=models.Index(fields=['state', 'due_at', 'id'], name='case_queue_due'),
        ),
        migrations.AddIndex(
            model_name='case',
            index=models.Index(fields=['customer', 'reason', '-opened_at'], name='case_customer_reason'),
        ),
        migrations.AddConstraint(
            model_name='case',
            constraint=models.CheckConstraint(condition=models.Q(('amount__gt', 0)), name='case_amount_positive'),
        ),
        migrations.AddConstraint(
            model_name='reasoncodemapping',
            constraint=models.UniqueConstraint(condition=models.Q(('customer__isnull', False)), fields=('customer', 'code'), name='cases_mapping_customer_code'),
        ),
        migrations.AddConstraint(
            model_name='reasoncodemapping',
            constraint=models.UniqueConstraint(condition=models.Q(('customer__isnull', True)), fields=('code',), name='cases_mapping_any_code'),
        ),
    ]
