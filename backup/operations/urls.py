from django.urls import path

from . import views

app_name = "operations"

urlpatterns = [
    path("operations/<int:pk>/", views.detail, name="detail"),
    path("operations/<int:pk>/status/", views.status, name="status"),
    path("history/", views.history, name="history"),
]
