"""Routes of the CRM sync API, included by icpsite.api_urls under /api/v1/."""

from rest_framework.routers import SimpleRouter

from scoring.api import views

router = SimpleRouter()
router.register("accounts", views.AccountSyncViewSet, basename="account")
router.register("scores", views.ScoreViewSet, basename="score")
router.register("webhooks", views.WebhookViewSet, basename="webhook")

urlpatterns = router.urls
