from django.urls import path

from . import views

app_name = "discovery"

urlpatterns = [
    path("backups/check/", views.check_now, name="check"),
    path("backups/threshold/", views.set_threshold, name="threshold"),
    path("backups/delete/", views.delete_source, name="delete"),
]
