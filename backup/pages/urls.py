from django.urls import path

from . import views

app_name = "pages"

urlpatterns = [
    path("ping/", views.ping, name="ping"),
    path("signed-out/", views.signed_out, name="signed-out"),
    path("language/", views.set_language, name="set-language"),
    path("time-zone/", views.time_zone, name="time-zone"),
]
