from django.urls import path, re_path

from . import views

app_name = "snapshots"

# Snapshot names as the wrappers make them (@GMT-YYYY.MM.DD-HH.MM.SS).
SNAPSHOT = r"(?P<snapshot>@GMT-\d{4}\.\d{2}\.\d{2}-\d{2}\.\d{2}\.\d{2})"

urlpatterns = [
    path("snapshots/", views.snapshot_list, name="list"),
    re_path(rf"^snapshots/{SNAPSHOT}/$", views.browse, name="browse"),
    re_path(rf"^snapshots/{SNAPSHOT}/restore/$", views.restore_path, name="restore"),
    re_path(rf"^snapshots/{SNAPSHOT}/download/$", views.download, name="download"),
    re_path(rf"^snapshots/{SNAPSHOT}/rollback/$", views.rollback, name="rollback"),
    path(
        "snapshots/mass-change/<int:pk>/dismiss/",
        views.dismiss_mass_change,
        name="dismiss_mass_change",
    ),
    path("staff/snapshots/", views.staff_snapshots, name="staff"),
]
