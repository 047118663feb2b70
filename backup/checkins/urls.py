from django.urls import path

from . import ping, views

app_name = "checkins"

urlpatterns = [
    path("ping/<str:token>", ping.ping, name="ping"),
    path("ping/<str:token>/<str:signal>", ping.ping, name="ping-signal"),
    path("checkins/shown/", views.shown, name="shown"),
    path("checkins/create/", views.create, name="create"),
    path("checkins/<int:pk>/new-address/", views.new_address, name="new-address"),
    path("checkins/<int:pk>/remove/", views.remove, name="remove"),
    path("checkins/setup/", views.setup_help, name="setup"),
]
