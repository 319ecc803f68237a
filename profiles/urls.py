from django.urls import path

from profiles import views

version = "profiles/<slug:slug>/v<int:number>/"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("profiles/", views.profile_index, name="profile-list"),
    path("profiles/<slug:slug>/", views.profile_detail, name="profile-detail"),
    path("profiles/<slug:slug>/drafts/", views.draft_start, name="draft-start"),
    path("profiles/<slug:slug>/compare/", views.version_compare, name="version-compare"),
    path(version, views.version_detail, name="version-detail"),
    path(version + "criteria/", views.criterion_save, name="criterion-add"),
    path(version + "criteria/<int:pk>/", views.criterion_save, name="criterion-update"),
    path(version + "criteria/<int:pk>/edit/", views.criterion_edit, name="criterion-edit"),
    path(version + "criteria/<int:pk>/delete/", views.criterion_delete, name="criterion-delete"),
    path(version + "settings/", views.version_settings, name="version-settings"),
    path(version + "comments/", views.comment_post, name="comment-post"),
    path(version + "comments/<int:pk>/resolve/", views.comment_resolve, name="comment-resolve"),
    path(version + "signoffs/", views.signoff_post, name="signoff-post"),
    path(version + "<str:action>/", views.version_transition, name="version-transition"),
]
