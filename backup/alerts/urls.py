from django.urls import path

from . import views

app_name = "alerts"

urlpatterns = [
    path("alerts/", views.channels_page, name="channels"),
    path("alerts/add/", views.add, name="add"),
    path("alerts/<int:channel_id>/remove/", views.remove, name="remove"),
    path("alerts/email/", views.email, name="email"),
    path("alerts/test/", views.test, name="test"),
]
