"""Routes of the CRM sync API, included by icpsite.api_urls under /api/v1/."""

from django.urls import re_path
from rest_framework.routers import SimpleRouter

from icpsite.api.params import ANY_SEGMENT
from scoring.api import views

router = SimpleRouter()
router.register("accounts", views.AccountSyncViewSet, basename="account")
router.register("scores", views.ScoreViewSet, basename="score")
router.register("deals", views.DealViewSet, basename="deal")
router.register("webhooks", views.WebhookViewSet, basename="webhook")
router.register("traits", views.TraitViewSet, basename="trait")

RUNS = rf"^profiles/(?P<slug>{ANY_SEGMENT})/runs/"

urlpatterns = [
    *router.urls,
    re_path(RUNS + "$", views.RunViewSet.as_view({"get": "list"}), name="run-list"),
    re_path(
        RUNS + rf"(?P<pk>{ANY_SEGMENT})/$",
        views.RunViewSet.as_view({"get": "retrieve"}),
        name="run-detail",
    ),
]
