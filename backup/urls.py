"""URL layout. Deployed under a prefix (/backup/ as in the original), Django
builds every URL from the SCRIPT_NAME the web server passes."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("backup.dashboard.urls")),
    path("", include("backup.volumes.urls")),
    path("", include("backup.passwords.urls")),
    path("", include("backup.operations.urls")),
    path("", include("backup.staff.urls")),
    path("", include("backup.stats.urls")),
    path("", include("backup.discovery.urls")),
    path("", include("backup.snapshots.urls")),
    path("", include("backup.pages.urls")),
    path("", include("backup.metrics.urls")),
    path("", include("backup.alerts.urls")),
    path("", include("backup.checkins.urls")),
    path("admin/", admin.site.urls),
]

if settings.DEV_SSO:
    urlpatterns.append(path("dev-sso/", include("backup.sso.urls")))

handler403 = "backup.pages.views.forbidden"
handler404 = "backup.pages.views.not_found"
handler500 = "backup.pages.views.server_error"
