"""Admin: each model's mode and thresholds (with history); versions read-only, switchable."""

from django.contrib import admin, messages
from django.db import transaction
from simple_history.admin import SimpleHistoryAdmin

from .models import ModelVersion, TriageModel


@admin.register(TriageModel)
class TriageModelAdmin(SimpleHistoryAdmin):
    list_display = ["name", "mode", "threshold", "act_confidence", "act_value_limit",
                    "precision_floor"]  # fmt: skip
    readonly_fields = ["name"]

    def has_add_permission(self, request) -> bool:
        return False  # the models are o2c's; their data migration makes them

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        from .models import SHOWN_MODES
        from .scoring import shown_clear

        with transaction.atomic():
            super().save_model(request, obj, form, change)
            if obj.mode not in SHOWN_MODES:  # off the pages at once, not at the next scoring run
                shown_clear(obj)


@admin.register(ModelVersion)
class ModelVersionAdmin(SimpleHistoryAdmin):
    list_display = ["__str__", "trained_at", "active", "digest"]
    list_filter = ["model", "active"]
    readonly_fields = [f.name for f in ModelVersion._meta.fields]
    actions = ["make_active"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(
        description="Make the selected version the active one (one per model)",
        permissions=["change"],
    )
    def make_active(self, request, queryset):
        chosen = list(queryset)
        if len(chosen) != 1:
            self.message_user(request, "Choose exactly one version.", messages.ERROR)
            return
        version = chosen[0]
        with transaction.atomic():  # under the model's lock, as training takes it
            TriageModel.objects.select_for_update().get(pk=version.model_id)
            ModelVersion.objects.filter(model=version.model, active=True).update(active=False)
            version.active = True
            version._change_reason = f"Made active by {request.user.get_username()}"
            version.save(update_fields=["active"])
        self.message_user(request, f"{version} is active; workers use it from their next run.")
