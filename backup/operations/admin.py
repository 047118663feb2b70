from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import Operation


@admin.register(Operation)
class OperationAdmin(admin.ModelAdmin):
    """The audit log: read-only."""

    list_display = ("requested_at", "owner_name", "actor_name", "kind", "state", "outcome")
    list_filter = ("kind", "state")
    search_fields = ("owner_name", "actor_name", "message", "detail")
    date_hierarchy = "requested_at"

    @admin.display(description=_("outcome"))
    def outcome(self, operation):
        # In the admin's language, naming whose volume (an admin is not
        # the owner of the volumes listed).
        return operation.outcome_for(reader_name="")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
