"""Scoring panels under a profile's address: /profiles/<slug>/..."""

from django.urls import path

from scoring import profile_views

urlpatterns = [
    path("scoring/progress/", profile_views.run_progress, name="run-progress"),
    path("v<int:number>/impact/", profile_views.version_impact, name="version-impact"),
]
