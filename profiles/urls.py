from django.urls import path

from profiles import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
]
