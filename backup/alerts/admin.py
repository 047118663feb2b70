from django.contrib import admin

from .models import PendingAlert


@admin.register(PendingAlert)
class PendingAlertAdmin(admin.ModelAdmin):
    """Alerts that reached nobody when sent, and their retries: read-only
    (retry_pending, run by update_df_stats, is what changes them)."""

    list_display = (
        "created_at",
        "user",
        "template",
        "attempts",
        "last_attempt_at",
        "last_error",
        "delivered_at",
        "gave_up_at",
    )
    list_filter = (("delivered_at", admin.EmptyFieldListFilter),)
    exclude = ("messages",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
