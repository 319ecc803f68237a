"""What is mine, under /reviews/."""

from django.urls import path

from reviews.mywork import views

urlpatterns = [
    path("my-work/", views.my_work, name="my-work"),
    path("my-work/nav/", views.my_work_nav, name="my-work-nav"),
    path("my-work/clear/", views.my_work_clear, name="my-work-clear"),
    path("queue/overrides/<int:pk>/", views.queue_override, name="queue-override"),
    path("notifications/", views.notifications, name="notification-list"),
    path("notifications/read/", views.notifications_read_all, name="notifications-read-all"),
    path("notifications/<int:pk>/read/", views.notification_read, name="notification-read"),
    path(
        "notifications/preferences/",
        views.notification_preferences,
        name="notification-preferences",
    ),
]
