from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from icpsite.health import health

handler400 = "icpsite.errors.bad_request"
handler403 = "icpsite.errors.permission_denied"
handler404 = "icpsite.errors.page_not_found"
handler500 = "icpsite.errors.server_error"

# Swagger UI with its start-up script served from its own address (?script),
# so script-src stays 'self'; its page keeps an inline <style> block and its
# icons are data: images, allowed on this page alone.
api_docs = csp_update({"style-src": [UNSAFE_INLINE], "img-src": ["data:"]})(
    SpectacularSwaggerSplitView.as_view(url_name="api-schema")
)

urlpatterns = [
    # Before profiles.urls, whose "v<n>/<action>/" would otherwise take these.
    path("profiles/<slug:slug>/", include("scoring.profile_urls")),
    path("profiles/<slug:slug>/", include("reviews.profile_urls")),
    path("", include("profiles.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("accounts/", include("scoring.urls")),
    path("reviews/", include("reviews.urls")),
    path("admin/", admin.site.urls),
    path("health/", health, name="health"),
    path("api/v1/", include("icpsite.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", api_docs, name="api-docs"),
]
