from django.contrib import admin

from .models import Operation


@admin.register(Operation)
class OperationAdmin(admin.ModelAdmin):
    """The audit log: read-only."""

    list_display = ("requested_at", "owner_name", "actor_name", "kind", "state", "message")
    list_filter = ("kind", "state")
    search_fields = ("owner_name", "actor_name", "message", "detail")
    date_hierarchy = "requested_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
