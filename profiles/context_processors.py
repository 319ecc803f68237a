from django.http import HttpRequest

from profiles.models import Membership
from profiles.selectors import membership_list


def my_teams(request: HttpRequest) -> dict[str, list[Membership]]:
    """The signed-in person's teams, shown in the navigation of every page.
    Their roles are kept on the user for policies.roles_of, so what the
    page works out from them afterwards (the navigation's counts) reads them
    once."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"my_memberships": []}
    memberships = list(membership_list(user=user))
    if user.team_roles is None:
        user.team_roles = {m.team_id: m.role for m in memberships}
    return {"my_memberships": memberships}
