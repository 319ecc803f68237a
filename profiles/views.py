from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from profiles.models import User
from profiles.selectors import team_list


class AuthenticatedRequest(HttpRequest):
    """A request behind login_required: its user is a real User."""

    user: User


@login_required
def dashboard(request: AuthenticatedRequest) -> HttpResponse:
    teams = list(team_list(viewer=request.user))
    for team in teams:
        team.managers = [m.user for m in team.memberships.all() if m.can_manage]  # type: ignore[attr-defined]
    my_team_ids = {m.team_id for m in request.user.memberships.all()}
    context = {
        "teams": teams,
        "my_teams": [t for t in teams if t.pk in my_team_ids],
        "people_count": len({m.user_id for t in teams for m in t.memberships.all()}),
    }
    return render(request, "profiles/dashboard.html", context)
