from django.urls import include, path

from reviews import views

urlpatterns = [
    path("", views.queue, name="review-queue"),
    path("marks/", views.mark, name="review-mark"),
    path("marks/surprises/", views.mark_group, name="review-mark-group"),
    path("checkpoint/", views.checkpoint, name="review-checkpoint"),
    path(
        "overrides/<int:pk>/<str:decision>/",
        views.override_decide,
        name="override-decide",
    ),
    path("accounts/<int:pk>/overrides/", views.account_overrides, name="account-overrides"),
    path("checkins/", views.checkins, name="checkin-list"),
    path("checkins/<int:pk>/", views.checkin_detail, name="checkin-detail"),
    path("validation/", views.validation, name="validation"),
    path("", include("reviews.mywork.urls")),
]
