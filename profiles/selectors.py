from django.db.models import Case, Count, IntegerField, Prefetch, Q, QuerySet, Value, When

from profiles.models import Membership, Team, User


def membership_list(*, user: User) -> QuerySet[Membership]:
    """The teams a user belongs to, with their role in each."""
    return Membership.objects.filter(user=user).select_related("team").order_by("team__name")


def team_list(*, viewer: User) -> QuerySet[Team]:
    """Every team with its members (managers first) and head counts.

    Any signed-in person may see who is in which team: sign-off and comments
    are attributed to teams, so the roster is part of the audit trail.
    """
    role_rank = Case(
        When(role=Membership.Role.ADMIN, then=Value(0)),
        When(role=Membership.Role.MANAGER, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    members = Membership.objects.select_related("user").order_by(
        role_rank, "user__first_name", "user__username"
    )
    return (
        Team.objects.annotate(
            member_count=Count("memberships"),
            manager_count=Count(
                "memberships",
                filter=Q(memberships__role__in=[Membership.Role.MANAGER, Membership.Role.ADMIN]),
            ),
        )
        .prefetch_related(Prefetch("memberships", queryset=members))
        .order_by("name")
    )
