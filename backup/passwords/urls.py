from django.urls import path

from . import views

app_name = "passwords"

urlpatterns = [
    path("password/", views.new_password, name="new"),
    path("password/shown/", views.shown, name="shown"),
]
