from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from demo.seed import PEOPLE
from profiles.models import Membership, Team, User


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_it_makes_five_teams_with_managers_and_members() -> None:
    output = seed()
    assert sorted(Team.objects.values_list("function", flat=True)) == sorted(
        ["sales", "marketing", "customer_success", "product", "revops"]
    )
    assert User.objects.count() == len(PEOPLE) == 13
    for team in Team.objects.all():
        roles = set(team.memberships.values_list("role", flat=True))
        assert Membership.Role.MANAGER in roles or Membership.Role.ADMIN in roles, team
    assert "password for all: icpsite-demo" in output
    assert "13 people in 5 teams" in output


@pytest.mark.django_db
def test_the_printed_login_works() -> None:
    seed("--password", "a-long-demo-password")
    ada = User.objects.get(username="ada")
    assert ada.check_password("a-long-demo-password")
    assert ada.is_superuser
    assert ada.is_staff
    assert not User.objects.get(username="liam").is_staff


@pytest.mark.django_db
def test_running_it_twice_changes_nothing() -> None:
    seed()
    snapshot = sorted(Membership.objects.values_list("user__username", "team__slug", "role"))
    seed()
    assert (
        sorted(Membership.objects.values_list("user__username", "team__slug", "role")) == snapshot
    )
    assert User.objects.count() == 13
    assert Team.objects.count() == 5


@pytest.mark.django_db
def test_reset_removes_the_demo_and_keeps_other_data() -> None:
    seed()
    User.objects.create_user("keeper", "keeper@example.com", "x-long-password")
    Membership.objects.filter(user__username="liam").delete()
    seed("--reset")
    assert Membership.objects.filter(user__username="liam").count() == 1
    assert User.objects.filter(username="keeper").exists()


@pytest.mark.django_db
def test_it_refuses_a_short_password_and_writes_nothing() -> None:
    with pytest.raises(CommandError, match="--password: use at least 8 characters"):
        seed("--password", "short")
    assert User.objects.count() == 0
