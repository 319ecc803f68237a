"""Review panels under a profile's address: /profiles/<slug>/..."""

from django.urls import path

from reviews import views
from reviews.suggestions import views as suggestions

urlpatterns = [
    path("v<int:number>/evidence/", views.version_evidence, name="version-evidence"),
    path("v<int:number>/suggestions/", suggestions.version_suggestions, name="version-suggestions"),
    path(
        "v<int:number>/suggestions/adopt/",
        suggestions.suggestions_adopt_post,
        name="suggestions-adopt",
    ),
]
