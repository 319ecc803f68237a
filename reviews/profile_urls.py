"""Review panels under a profile's address: /profiles/<slug>/..."""

from django.urls import path

from reviews import views

urlpatterns = [
    path("v<int:number>/evidence/", views.version_evidence, name="version-evidence"),
]
