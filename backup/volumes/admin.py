from django.contrib import admin

from backup.sso.admin_search import AccountNameSearch

from . import quotas
from .forms import QuotaForm
from .models import Quota, Volume


@admin.register(Quota)
class QuotaAdmin(AccountNameSearch):
    """Every change goes through quotas.set_quota, which records it."""

    form = QuotaForm
    list_display = ("user", "max_size_gib")
    search_fields = ("user__username",)
    autocomplete_fields = ("user",)

    def get_readonly_fields(self, request, obj=None):
        # Moving a quota row to another person would change two quotas.
        return ("user",) if obj is not None else ()

    def save_model(self, request, obj, form, change):
        quotas.set_quota(obj.user, obj.max_size_gib, request.user)
        obj.pk = Quota.objects.get(user=obj.user).pk

    def delete_model(self, request, obj):
        quotas.set_quota(obj.user, None, request.user)

    def delete_queryset(self, request, queryset):
        for quota in queryset.select_related("user"):
            self.delete_model(request, quota)


@admin.register(Volume)
class VolumeAdmin(AccountNameSearch):
    """Volumes are changed through the portal's operations, not edited here."""

    list_display = ("account", "size_gib", "filesystem", "created_at", "password_changed_at")
    search_fields = ("account",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
