from django.urls import path

from . import audit, views

app_name = "staff"

urlpatterns = [
    path("staff/", views.overview, name="overview"),
    path("staff/audit/", audit.audit, name="audit"),
    path("staff/audit/export.csv", audit.export, name="audit-export"),
    path("staff/operations/", views.active_operations, name="operations"),
    path("staff/operations/<int:pk>/end/", views.end_operation, name="end-operation"),
    path("staff/users/<str:username>/history/", views.user_history, name="user-history"),
]
