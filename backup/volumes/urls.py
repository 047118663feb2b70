from django.urls import path

from . import connect, views

app_name = "volumes"

urlpatterns = [
    path("volume/create/", views.create, name="create"),
    path("volume/add-space/", views.add_space, name="add-space"),
    path("volume/mount/", views.mount, name="mount"),
    path("volume/delete/", views.delete, name="delete"),
    path("volume/delete/undo/", views.undo_delete, name="undo-delete"),
    path("volume/time-machine/delete/", views.delete_time_machine, name="delete-time-machine"),
    path("volume/defragment/", views.defragment, name="defragment"),
    path("volume/scrub/", views.scrub, name="scrub"),
    path("volume/connect/windows.cmd", connect.windows_script, name="connect-windows-script"),
    path("restore/", views.restore, name="restore"),
    path("restore/<slug:platform>/", views.restore, name="restore-platform"),
]
