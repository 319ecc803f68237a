"""Routes of the profiles API, included by icpsite.api_urls under /api/v1/."""

from rest_framework.routers import SimpleRouter

from icpsite.api.params import ANY_SEGMENT
from profiles.api import views

PROFILE = rf"profiles/(?P<slug>{ANY_SEGMENT})"
VERSION = PROFILE + rf"/versions/(?P<number>{ANY_SEGMENT})"

router = SimpleRouter()
router.register("profiles", views.ProfileViewSet, basename="profile")
router.register(PROFILE + "/versions", views.VersionViewSet, basename="version")
router.register(VERSION + "/criteria", views.CriterionViewSet, basename="criterion")
router.register(VERSION + "/comments", views.CommentViewSet, basename="comment")
router.register(VERSION + "/signoffs", views.SignOffViewSet, basename="signoff")
router.register(VERSION + "/events", views.VersionEventViewSet, basename="version-event")

urlpatterns = router.urls
