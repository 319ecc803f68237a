"""`next` is followed only when it stays on this site."""

import pytest
from django.test import RequestFactory

from profiles.redirects import next_url, redirect_to_next


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "http://testserver.evil.example/",
        "\\\\evil.example",
        "javascript:alert(1)",
        "",
    ],
)
def test_it_refuses_a_next_that_leaves_the_site(rf: RequestFactory, target: str) -> None:
    request = rf.post("/reviews/overrides/1/accept/", {"next": target})
    assert next_url(request) is None
    assert redirect_to_next(request, "review-queue")["Location"] == "/reviews/"


@pytest.mark.parametrize("target", ["/reviews/?page=2", "http://testserver/reviews/"])
def test_it_follows_a_next_on_this_site(rf: RequestFactory, target: str) -> None:
    request = rf.post("/reviews/overrides/1/accept/", {"next": target})
    assert redirect_to_next(request, "review-queue")["Location"] == target


def test_it_reads_next_from_the_query_string_too(rf: RequestFactory) -> None:
    assert next_url(rf.get("/", {"next": "/profiles/"})) == "/profiles/"


def test_over_https_it_refuses_a_next_over_plain_http(rf: RequestFactory) -> None:
    request = rf.post("/", {"next": "http://testserver/reviews/"}, secure=True)
    assert next_url(request) is None
    secure = rf.post("/", {"next": "https://testserver/reviews/"}, secure=True)
    assert next_url(secure) == "https://testserver/reviews/"
