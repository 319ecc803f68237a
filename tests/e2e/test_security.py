"""Under the Content-Security-Policy (every browser test fails on a refusal,
see conftest): the admin and the API docs still work, an inline script is
refused, and a browser that guesses passwords meets the lockout page."""

from collections.abc import Callable

from playwright.sync_api import Page, Route, expect
from pytest_django.live_server_helper import LiveServer

from profiles import services
from profiles.models import ProfileVersion, User
from tests.factories import PASSWORD, UserFactory


def test_an_inline_script_is_refused_and_the_refusal_is_caught(
    live_server: LiveServer, page: Page, csp_violations: list[str], db: None
) -> None:
    def inject(route: Route) -> None:
        response = route.fetch()
        body = response.text().replace("</body>", "<script>document.title = 'ran'</script></body>")
        route.fulfill(response=response, body=body)

    page.route(f"{live_server.url}/accounts/login/", inject)
    page.goto(f"{live_server.url}/accounts/login/")
    expect(page.get_by_role("heading", name="Sign in to icpsite")).to_be_visible()

    assert page.title() == "Sign in · icpsite"
    page.wait_for_timeout(200)
    assert any("inline script" in v for v in csp_violations), csp_violations
    csp_violations.clear()


def test_the_admin_works_under_the_policy(sign_in: Callable[[User], Page], db: None) -> None:
    staff = UserFactory.create(username="staff", is_staff=True, is_superuser=True)
    page = sign_in(staff)

    page.goto("/admin/")
    expect(page.get_by_role("link", name="Access attempts")).to_be_visible()
    page.goto("/admin/profiles/user/")
    page.locator("#action-toggle").check()
    expect(page.locator(".action-counter")).to_contain_text("1 of 1 selected")
    page.goto(f"/admin/profiles/user/{staff.pk}/change/")
    expect(page.get_by_role("button", name="Save", exact=True)).to_be_visible()


def test_the_api_docs_render_under_the_policy(sign_in: Callable[[User], Page], db: None) -> None:
    page = sign_in(UserFactory.create(username="staff", is_staff=True))
    page.goto("/api/docs/")
    expect(page.get_by_role("heading", name="icpsite API")).to_be_visible()
    expect(page.get_by_text("/api/v1/profiles/").first).to_be_visible()


def test_a_browser_guessing_passwords_meets_the_lockout_page(
    live_server: LiveServer, page: Page, rep: User
) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    for _ in range(5):
        page.get_by_label("Username or email").fill("rep")
        page.get_by_label("Password").fill("not-it")
        page.get_by_role("button", name="Sign in").click()
        if page.get_by_test_id("locked-out").is_visible():
            break
        expect(page.get_by_role("alert")).to_contain_text("Please enter a correct username")

    expect(page.get_by_role("heading", name="Too many failed sign-ins")).to_be_visible()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username or email").fill("rep")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("locked-out")).to_contain_text("Try again in 15 minutes")


def test_withdrawing_asks_first_without_an_inline_handler(
    sign_in: Callable[[User], Page], v2: ProfileVersion, cast: dict[str, User]
) -> None:
    services.version_submit(actor=cast["marketer"], version=v2)
    page = sign_in(cast["marketer"])
    questions: list[str] = []
    page.on("dialog", lambda dialog: questions.append(dialog.message))
    page.goto(f"/profiles/{v2.profile.slug}/v{v2.number}/")

    page.get_by_role("button", name="Withdraw").click()
    expect(page.get_by_test_id("version-status")).to_have_text("Withdrawn")
    assert questions == ["Withdraw v2? It cannot be reopened."]
