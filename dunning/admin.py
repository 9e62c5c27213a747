"""Admin for collections: the dunning policy and steps, and customers' collections contacts (with
history); accounts, standings, promises and tasks change only through their services."""

from django.contrib import admin

from core.admin import HistoryAdmin, ReadOnlyAdminMixin

from .models import (
    CollectionContact,
    CollectionTask,
    CustomerStanding,
    DunningPolicy,
    DunningStep,
    PromiseToPay,
)


@admin.register(DunningPolicy)
class DunningPolicyAdmin(HistoryAdmin):
    list_display = ["__str__", "watch_after_days", "block_after_days", "minimum_past_due"]

    def has_add_permission(self, request) -> bool:
        return not DunningPolicy.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(DunningStep)
class DunningStepAdmin(HistoryAdmin):
    list_display = ["name", "days_past_due", "action", "active"]
    list_filter = ["action", "active"]


@admin.register(CollectionContact)
class CollectionContactAdmin(HistoryAdmin):
    list_display = ["customer", "name", "email", "phone"]
    search_fields = ["customer__name", "customer__number", "name", "email"]
    autocomplete_fields = ["customer"]


@admin.register(CustomerStanding)
class CustomerStandingAdmin(ReadOnlyAdminMixin, HistoryAdmin):
    list_display = ["customer", "status", "days_past_due", "since"]
    list_filter = ["status"]
    search_fields = ["customer__name", "customer__number"]


@admin.register(PromiseToPay)
class PromiseToPayAdmin(ReadOnlyAdminMixin, HistoryAdmin):
    list_display = ["customer", "amount", "currency", "promised_for", "state"]
    list_filter = ["state"]


@admin.register(CollectionTask)
class CollectionTaskAdmin(ReadOnlyAdminMixin, HistoryAdmin):
    list_display = ["pk", "customer", "kind", "state", "due_on"]
    list_filter = ["kind", "state"]
