"""Site-wide error pages: HTML for people, JSON for API clients.

An address under /api/ that no route takes still answers the API's error
body, so a CRM client never has to parse the site's HTML 404 page.
"""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)
