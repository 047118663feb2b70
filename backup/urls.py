"""URL layout. Deployed under a prefix (/backup/ as in the original), Django
builds every URL from the SCRIPT_NAME the web server passes."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("backup.pages.urls")),
    path("admin/", admin.site.urls),
]
