from django.urls import path

from . import views

app_name = "stats"

urlpatterns = [
    path("stats/volumes/", views.volume_lookup, name="volume-lookup"),
    path("stats/volumes/<str:account>/", views.volume_page, name="volume"),
    path(
        "stats/volumes/<str:account>/<slug:graph>/<slug:period>.png",
        views.volume_graph,
        name="volume-graph",
    ),
    path("stats/server/<slug:graph>/<slug:period>.png", views.server_graph, name="server-graph"),
    path("stats/pool/<slug:period>.png", views.pool_graph, name="pool-graph"),
]
