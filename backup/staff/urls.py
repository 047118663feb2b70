from django.urls import path

from . import audit, person, views

app_name = "staff"

urlpatterns = [
    path("staff/", views.overview, name="overview"),
    path("staff/audit/", audit.audit, name="audit"),
    path("staff/audit/export.csv", audit.export, name="audit-export"),
    path("staff/operations/", views.active_operations, name="operations"),
    path("staff/operations/<int:pk>/end/", views.end_operation, name="end-operation"),
    path("staff/users/<str:username>/", person.person, name="person"),
    path("staff/users/<str:username>/mount/", person.mount, name="person-mount"),
    path("staff/users/<str:username>/add-space/", person.add_space, name="person-add-space"),
    path("staff/users/<str:username>/delete/", person.delete, name="person-delete"),
    path("staff/users/<str:username>/history/", person.history, name="user-history"),
]
