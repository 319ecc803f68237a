from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from profiles.models import Membership, Team, User
from tests.factories import MembershipFactory, TeamFactory


def test_anonymous_visitors_are_sent_to_sign_in(client: Client, db: None) -> None:
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next=/"


def test_it_shows_my_teams_and_everyone_in_them(
    client: Client, rep: User, manager: User, marketer: User
) -> None:
    client.force_login(rep)
    response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    my_teams = [t.name for t in response.context["my_teams"]]
    assert my_teams == ["Sales"]
    assert [t.name for t in response.context["teams"]] == ["Marketing", "Sales"]
    html = response.content.decode()
    assert "Sales · manager" not in html  # a rep's own chip shows no role
    assert response.context["people_count"] == 3


def test_it_lists_managers_first(client: Client, rep: User, manager: User, sales: Team) -> None:
    client.force_login(rep)
    response = client.get(reverse("dashboard"))
    team = next(t for t in response.context["teams"] if t.pk == sales.pk)
    roles = [m.role for m in team.memberships.all()]
    assert roles == [Membership.Role.MANAGER, Membership.Role.MEMBER]
    assert (team.member_count, team.manager_count) == (2, 1)


def test_someone_in_no_team_is_told_how_to_join(client: Client, outsider: User) -> None:
    client.force_login(outsider)
    response = client.get(reverse("dashboard"))
    assert response.context["my_teams"] == []
    assert "You are not in a team yet" in response.content.decode()


def test_its_query_count_does_not_grow_with_teams_or_people(client: Client, rep: User) -> None:
    client.force_login(rep)

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("dashboard")).status_code == 200
        return len(ctx.captured_queries)

    before = queries()
    for i in range(5):
        team = TeamFactory.create(name=f"Extra {i}")
        MembershipFactory.create_batch(4, team=team)
        MembershipFactory.create(team=team, role=Membership.Role.MANAGER)
    assert queries() == before


def test_it_names_each_teams_managers_admins_first(
    client: Client, rep: User, manager: User, sales: Team
) -> None:
    MembershipFactory.create(
        team=sales, user__first_name="Zoe", user__last_name="Ng", role=Membership.Role.ADMIN
    )
    client.force_login(rep)
    html = client.get(reverse("dashboard")).content.decode()
    assert f"<td>Zoe Ng, {manager.get_full_name()}</td>" in html
