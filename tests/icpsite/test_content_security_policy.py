"""Every page carries a Content-Security-Policy that allows no inline script;
the admin and the API docs still work under it."""

import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from profiles.models import User
from tests.factories import UserFactory


def directives(header: str) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for part in header.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


@pytest.fixture
def staff(db: None) -> User:
    return UserFactory.create(username="staff", is_staff=True, is_superuser=True)


def test_the_sign_in_page_allows_scripts_and_styles_from_the_site_only(
    client: Client, db: None
) -> None:
    response = client.get(reverse("login"))
    policy = directives(response["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]


def test_a_signed_in_page_carries_the_policy(client: Client, rep: User) -> None:
    client.force_login(rep)
    response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]


def test_the_admin_answers_under_the_policy(client: Client, staff: User) -> None:
    client.force_login(staff)
    for url in (reverse("admin:index"), reverse("admin:axes_accessattempt_changelist")):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "'unsafe-inline'" not in response["Content-Security-Policy"]


def test_the_api_docs_answer_without_inline_script(client: Client, staff: User) -> None:
    client.force_login(staff)
    page = client.get(reverse("api-docs"))
    assert page.status_code == 200
    html = page.content.decode()
    assert not re.search(r"<script>", html)
    script = client.get(reverse("api-docs") + "?script=")
    assert script.status_code == 200
    policy = directives(page["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"]


def test_no_page_template_has_inline_script_style_or_handlers() -> None:
    """Emails are left out: a mail client applies no Content-Security-Policy."""
    root = Path(__file__).resolve().parents[2] / "templates"
    offenders = []
    pattern = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+=|javascript:|\sstyle=|hx-on")
    for path in root.rglob("*.html"):
        if "email" in path.parts:
            continue
        for match in pattern.finditer(path.read_text()):
            offenders.append(f"{path.relative_to(root)}: {match.group(0)}")
    assert offenders == []
