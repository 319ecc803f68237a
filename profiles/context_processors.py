from django.http import HttpRequest

from profiles.models import Membership
from profiles.selectors import membership_list


def my_teams(request: HttpRequest) -> dict[str, list[Membership]]:
    """The signed-in person's teams, shown in the navigation of every page."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"my_memberships": []}
    return {"my_memberships": list(membership_list(user=user))}
