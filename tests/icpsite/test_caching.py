"""A browser keeps nothing of a signed-in person's pages."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory

from icpsite.caching import NeverCacheSignedInMiddleware
from profiles.models import Profile, User

pytestmark = pytest.mark.django_db


def test_signed_in_pages_and_api_answers_are_not_stored(
    client: Client, rep: User, icp: Profile
) -> None:
    client.force_login(rep)
    for url in ("/", f"/profiles/{icp.slug}/", "/accounts/", "/api/v1/profiles/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"], url
        assert "private" in response["Cache-Control"], url


def test_the_rule_leaves_anonymous_answers_and_a_views_own_caching_alone(
    rf: RequestFactory, rep: User
) -> None:
    def plain(request: HttpRequest) -> HttpResponse:
        return HttpResponse("ok")

    def cached(request: HttpRequest) -> HttpResponse:
        response = HttpResponse("ok")
        response["Cache-Control"] = "public, max-age=60"
        return response

    anonymous = rf.get("/")
    anonymous.user = AnonymousUser()
    assert not NeverCacheSignedInMiddleware(plain)(anonymous).has_header("Cache-Control")
    signed_in = rf.get("/")
    signed_in.user = rep
    assert "no-store" in NeverCacheSignedInMiddleware(plain)(signed_in)["Cache-Control"]
    kept = NeverCacheSignedInMiddleware(cached)(signed_in)
    assert kept["Cache-Control"] == "public, max-age=60"
