from django.urls import path

from . import views

app_name = "sso"

urlpatterns = [path("switch/", views.switch_user, name="switch")]
