"""Admin for receivables: finance governs the cash policy here (with history). Statements,
payments, remittances, applications, unapplied cash and write-offs are records, read-only: they
change only through the cash desk's services. Accounts show masked; fingerprints never show."""

from django.contrib import admin

from core.admin import HistoryAdmin, ReadOnlyAdminMixin

from .models import (
    Application,
    ArReconciliation,
    BankStatement,
    CashPolicy,
    Payment,
    RemittanceAdvice,
    RemittanceLine,
    UnappliedCash,
    WriteOff,
)


class ReadOnlyAdmin(ReadOnlyAdminMixin, HistoryAdmin):
    pass


@admin.register(CashPolicy)
class CashPolicyAdmin(HistoryAdmin):
    list_display = [
        "__str__",
        "auto_threshold",
        "suggest_threshold",
        "margin",
        "amount_tolerance",
        "write_off_limit",
    ]

    def has_add_permission(self, request) -> bool:
        return not CashPolicy.objects.exists()  # one row: edit it, don't add another

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(BankStatement)
class BankStatementAdmin(ReadOnlyAdmin):
    list_display = ["statement_id", "format", "bank_account", "source", "entries", "received_at"]
    list_filter = ["format", "source"]
    search_fields = ["statement_id"]
    date_hierarchy = "received_at"
    exclude = ["bank_account_fingerprint"]


class RemittanceLineInline(admin.TabularInline):
    model = RemittanceLine
    extra = 0
    can_delete = False
    fields = readonly_fields = [
        "reference",
        "paid",
        "discount",
        "adjustment",
        "reason_code",
        "text",
    ]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(RemittanceAdvice)
class RemittanceAdviceAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "source", "received_at"]
    list_filter = ["source"]
    raw_id_fields = ["payment"]
    inlines = [RemittanceLineInline]


class ApplicationInline(admin.TabularInline):
    model = Application
    fk_name = "payment"
    extra = 0
    can_delete = False
    fields = readonly_fields = [
        "invoice",
        "amount",
        "discount",
        "short_amount",
        "short_reason",
        "automatic",
        "applied_by",
        "applied_at",
        "reversed_by",
        "reversed_at",
    ]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = [
        "pk",
        "value_date",
        "amount",
        "currency",
        "payer_name",
        "payer_account",
        "method",
        "state",
        "outcome",
        "confidence",
        "customer",
    ]
    list_select_related = ["customer"]
    list_filter = ["state", "outcome", "method", "currency", "automatic"]
    search_fields = ["payer_name", "bank_reference", "entry_reference", "customer__name"]
    date_hierarchy = "value_date"
    # the masked account only: the fingerprint identifies an account and is no one's business
    exclude = ["payer_account_fingerprint"]
    raw_id_fields = ["statement", "customer", "applied_by"]
    inlines = [ApplicationInline]


@admin.register(Application)
class ApplicationAdmin(ReadOnlyAdmin):
    list_display = ["pk", "payment", "invoice", "amount", "discount", "automatic", "applied_at"]
    list_select_related = ["payment", "invoice"]
    list_filter = ["automatic"]
    search_fields = ["invoice__number", "payment__payer_name"]
    raw_id_fields = ["payment", "invoice", "applied_by", "reversed_by"]


@admin.register(UnappliedCash)
class UnappliedCashAdmin(ReadOnlyAdmin):
    list_display = ["pk", "customer", "payment", "amount", "kind", "created_at", "released_at"]
    list_select_related = ["customer", "payment"]
    list_filter = ["kind"]
    search_fields = ["customer__name", "customer__number"]
    raw_id_fields = ["customer", "payment", "created_by"]


@admin.register(WriteOff)
class WriteOffAdmin(ReadOnlyAdmin):
    list_display = ["pk", "invoice", "amount", "state", "requested_by", "decided_by"]
    list_select_related = ["invoice", "requested_by", "decided_by"]
    list_filter = ["state"]
    search_fields = ["invoice__number", "reason"]
    raw_id_fields = ["invoice", "payment", "requested_by", "decided_by"]


@admin.register(ArReconciliation)
class ArReconciliationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("pk", "as_of", "customers", "flagged")
    ordering = ("-as_of",)
