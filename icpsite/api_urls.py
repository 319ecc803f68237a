"""The REST API, version 1: each app's routes under /api/v1/, names in the "api" namespace."""

from django.urls import include, path

app_name = "api"

urlpatterns = [
    path("", include("profiles.api.urls")),
    path("", include("scoring.api.urls")),
    path("", include("reviews.api")),
]
