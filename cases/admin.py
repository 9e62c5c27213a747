"""Admin for cases: the policy (credit limit, restocking fee), the reason taxonomy and the
customers' remittance codes (with history); cases and returns change only through their
services."""

from django.contrib import admin

from core.admin import HistoryAdmin, ReadOnlyAdminMixin

from .models import (
    Case,
    CasePolicy,
    CaseReason,
    CustomerLogin,
    ReasonCodeMapping,
    ReturnAuthorisation,
)


@admin.register(CasePolicy)
class CasePolicyAdmin(HistoryAdmin):
    list_display = ["__str__", "restocking_fee_percent"]

    def has_add_permission(self, request) -> bool:
        return not CasePolicy.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CaseReason)
class CaseReasonAdmin(HistoryAdmin):
    list_display = ["code", "name", "category", "queue", "sla_hours"]
    list_filter = ["category", "queue"]
    search_fields = ["code", "name"]


@admin.register(ReasonCodeMapping)
class ReasonCodeMappingAdmin(HistoryAdmin):
    list_display = ["code", "customer", "reason"]
    list_filter = ["reason"]
    search_fields = ["code", "customer__name", "customer__number"]
    autocomplete_fields = ["customer"]


@admin.register(Case)
class CaseAdmin(ReadOnlyAdminMixin, HistoryAdmin):
    list_display = ["pk", "kind", "customer", "invoice", "amount", "reason", "queue", "state"]
    list_filter = ["kind", "state", "queue"]


@admin.register(ReturnAuthorisation)
class ReturnAuthorisationAdmin(ReadOnlyAdminMixin, HistoryAdmin):
    list_display = ["number", "customer", "invoice", "reason", "state", "authorised_at"]
    list_filter = ["state", "reason"]
    search_fields = ["number", "invoice__number", "customer__name"]


@admin.register(CustomerLogin)
class CustomerLoginAdmin(HistoryAdmin):
    """Which user speaks for which customer on the disputes API (give it no role, and a token)."""

    list_display = ["user", "customer"]
    search_fields = ["user__username", "customer__name", "customer__number"]
    autocomplete_fields = ["customer"]
    raw_id_fields = ["user"]
