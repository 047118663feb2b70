from django.urls import path

from . import views

app_name = "staff"

urlpatterns = [
    path("staff/", views.overview, name="overview"),
    path("staff/audit/", views.audit, name="audit"),
    path("staff/operations/", views.active_operations, name="operations"),
    path("staff/operations/<int:pk>/end/", views.end_operation, name="end-operation"),
    path("staff/users/<str:username>/history/", views.user_history, name="user-history"),
    # placeholder until the person page lands
    path("staff/users/<str:username>/", views.user_history, name="person"),
]
