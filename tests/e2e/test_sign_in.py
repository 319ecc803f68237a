from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from demo.seed import seed_people


def test_a_seeded_user_signs_in_and_sees_their_teams(live_server: LiveServer, page: Page) -> None:
    seed_people(password="demo-password-1")
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/")
    page.get_by_label("Username or email").fill("sofia")
    page.get_by_label("Password").fill("demo-password-1")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.get_by_test_id("whoami")).to_contain_text("Sofia Reyes")
    expect(page.get_by_test_id("whoami")).to_contain_text("Sales · manager")
    my_teams = page.get_by_test_id("my-teams")
    expect(my_teams.get_by_role("heading", name="Sales")).to_be_visible()
    expect(my_teams).to_contain_text("Liam Chen")
    expect(page.get_by_role("table")).to_contain_text("Customer Success")


def test_a_wrong_password_shows_an_error_and_stays_signed_out(
    live_server: LiveServer, page: Page
) -> None:
    seed_people(password="demo-password-1")
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username or email").fill("sofia@northwind.example")
    page.get_by_label("Password").fill("wrong-password")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("alert")).to_contain_text("Please enter a correct username")
    expect(page.get_by_label("Username or email")).to_have_value("sofia@northwind.example")
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/")
