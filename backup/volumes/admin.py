from django.contrib import admin

from .models import Quota, Volume


@admin.register(Quota)
class QuotaAdmin(admin.ModelAdmin):
    list_display = ("user", "max_size_gib")
    search_fields = ("user__username",)
    autocomplete_fields = ("user",)


@admin.register(Volume)
class VolumeAdmin(admin.ModelAdmin):
    """Volumes are changed through the portal's operations, not edited here."""

    list_display = ("account", "size_gib", "filesystem", "created_at", "password_changed_at")
    search_fields = ("account",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
