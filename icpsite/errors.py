"""Site-wide error pages: HTML for people, JSON for API clients.

Everything under /api/ answers the API's error body ({"detail": ...}), the
404 for an address no route takes and the 500 for a failure alike, so a CRM
client never has to parse the site's HTML pages. The 500 body names no
exception and holds no traceback: that goes to the log only.
"""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

API_PREFIX = "/api/"

SERVER_ERROR = (
    "Something went wrong on our side. Try again; if it keeps failing, tell the site's "
    "administrators."
)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": "The request could not be read."}, status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        detail = str(exception) or "You do not have permission to do this."
        return JsonResponse({"detail": detail}, status=403)
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": SERVER_ERROR}, status=500)
    return defaults.server_error(request)
