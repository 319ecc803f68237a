"""Browser tests: Debian's Chromium driven by Playwright against live_server."""

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import Browser, BrowserContext, Page
from pytest_django.live_server_helper import LiveServer

from profiles import services
from profiles.models import Profile, ProfileVersion, User
from tests.drafting import fill, sign_for

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Playwright's sync API runs an event loop in this thread; the ORM calls the
# tests make between browser steps are still ordinary synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)
            if not Path(CHROMIUM).exists() and not os.environ.get("CI"):
                item.add_marker(pytest.mark.skip(reason=f"no Chromium at {CHROMIUM}"))


class _InFlight:
    """The live server's WSGI application, counting the requests it is still
    answering. A page can go on loading panels after a test's last step; those
    requests must finish before the database is emptied for the next test, or
    the flush and the request trip over each other."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.count = 0
        self.changed = threading.Condition()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        with self.changed:
            self.count += 1
        try:
            return self.app(environ, start_response)
        finally:
            with self.changed:
                self.count -= 1
                self.changed.notify_all()

    def wait_until_idle(self, timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: self.count == 0, timeout)


SETTLE_SECONDS = 60


@pytest.fixture(autouse=True)
def settled_server(live_server: LiveServer, transactional_db: None) -> Iterator[None]:
    """After each browser test (its pages closed first), wait for the live
    server to finish what it was answering before the database is flushed."""
    httpd = live_server.thread.httpd
    app = httpd.get_app()
    if not isinstance(app, _InFlight):
        app = _InFlight(app)
        httpd.set_app(app)
    yield
    if not app.wait_until_idle(SETTLE_SECONDS):
        pytest.fail(f"the live server was still answering {app.count} request(s) after the test")


def _is_csp_violation(text: str) -> bool:
    return "Content Security Policy" in text or text.startswith("Refused to")


@pytest.fixture(autouse=True)
def csp_violations() -> Iterator[list[str]]:
    """Every page a browser test opens runs under the site's
    Content-Security-Policy; anything it refuses (an inline script, style or
    handler) fails the test, with the browser's own words."""
    seen: list[str] = []
    yield seen
    if seen:
        pytest.fail("Content-Security-Policy violations:\n" + "\n".join(seen))


def watch_csp(page: Page, seen: list[str]) -> Page:
    page.on(
        "console",
        lambda message: (
            seen.append(f"{page.url}: {message.text}") if _is_csp_violation(message.text) else None
        ),
    )
    return page


@pytest.fixture
def page(page: Page, csp_violations: list[str]) -> Page:
    return watch_csp(page, csp_violations)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


# --- The cast on a live server ------------------------------------------------
#
# Browser tests reuse the fixed cast of tests/conftest.py (rep and manager in
# Sales, marketer in Marketing, ops_manager managing RevOps, outsider in no
# team) and give each person a real name, so pages can be read as people see
# them.

NAMES = {
    "rep": ("Riya", "Shah"),
    "manager": ("Sam", "Okafor"),
    "marketer": ("Mia", "Lund"),
    "ops": ("Omar", "Haddad"),
    "outsider": ("Otto", "Berg"),
}


def _name(user: User) -> User:
    first, last = NAMES.get(user.username, (user.first_name, user.last_name))
    user.first_name, user.last_name = first, last
    user.save(update_fields=["first_name", "last_name"])
    return user


@pytest.fixture
def cast(
    rep: User, manager: User, marketer: User, ops_manager: User, outsider: User
) -> dict[str, User]:
    return {
        "rep": _name(rep),
        "manager": _name(manager),
        "marketer": _name(marketer),
        "ops": _name(ops_manager),
        "outsider": _name(outsider),
    }


@pytest.fixture
def v1(icp: Profile, cast: dict[str, User]) -> ProfileVersion:
    """The live first version of the profile, signed by every required team."""
    draft = fill(
        services.version_start_draft(actor=cast["marketer"], profile=icp), cast["marketer"]
    )
    services.version_submit(actor=cast["marketer"], version=draft)
    sign_for(draft, {"sales": cast["rep"], "marketing": cast["marketer"], "revops": cast["ops"]})
    return services.version_approve(actor=cast["ops"], version=draft)


@pytest.fixture
def v2(v1: ProfileVersion, cast: dict[str, User]) -> ProfileVersion:
    """An open draft copied from the live v1."""
    return services.version_start_draft(actor=cast["marketer"], profile=v1.profile)


@pytest.fixture
def sign_in(
    live_server: LiveServer, browser: Browser, csp_violations: list[str]
) -> Iterator[Callable[[User], Page]]:
    """Open a browser context already signed in as a user (one context per person)."""
    contexts: list[BrowserContext] = []

    def open_as(user: User) -> Page:
        client = Client()
        client.force_login(user)
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": 1400, "height": 900}
        )
        context.add_cookies(
            [
                {
                    "name": settings.SESSION_COOKIE_NAME,
                    "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                    "url": live_server.url,
                }
            ]
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = watch_csp(context.new_page(), csp_violations)
        page.on("dialog", lambda dialog: dialog.accept())
        return page

    yield open_as
    for context in contexts:
        context.close()
