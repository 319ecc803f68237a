"""Who may do what in scoring, in the style of profiles.policies: each rule
returns a Verdict with the reason when it says no, so a service refuses with
that reason and the API answers 403 with it.

- Webhooks are managed by superusers, by people given the
  `scoring.manage_webhooks` permission, and by admins of a RevOps team. Being
  staff is not enough: a subscription receives every profile's events, and
  its address and secret decide where signed company data goes.
- Accounts are imported (page, API, CSV) by the managers and admins of any
  team and by holders of `scoring.add_account` (an integration account).
- Accounts are removed or merged (API, admin) by the managers and admins of
  any team and by holders of `scoring.delete_account` (an integration
  account that follows the CRM's deletions and merges).
- Traits are declared, changed and removed by holders of the model
  permissions the admin asks for (`profiles.add_trait`, `change_trait`,
  `delete_trait`; superusers hold them): a trait changes what every import
  takes and what criteria can test.
"""

from typing import Literal

from profiles.models import Membership, TeamFunction, User
from profiles.policies import YES, Verdict, no

MANAGE_WEBHOOKS = "scoring.manage_webhooks"


def is_revops_admin(user: User) -> bool:
    return Membership.objects.filter(
        user=user, role=Membership.Role.ADMIN, team__function=TeamFunction.REVOPS
    ).exists()


def can_manage_webhooks(user: User) -> Verdict:
    if not user.is_authenticated or not user.is_active:
        return no("Sign in first.")
    if user.is_superuser or user.has_perm(MANAGE_WEBHOOKS) or is_revops_admin(user):
        return YES
    return no(
        "Managing webhooks needs the permission 'Can manage webhooks' or the admin "
        "role in a RevOps team; ask an administrator."
    )


IMPORT_PERMISSION = "scoring.add_account"
IMPORT_REFUSED = (
    "Only team managers and admins, and accounts given the permission to add accounts "
    "(an integration's), import accounts."
)


def can_import_accounts(user: User) -> bool:
    """The managers and admins of any team, and whoever holds the explicit
    permission to add accounts (the CRM's integration account, superusers),
    import accounts: an import rewrites what the whole company's scores are
    computed from. Being staff alone is not enough."""
    if not user.is_authenticated or not user.is_active:
        return False
    managing = (Membership.Role.MANAGER, Membership.Role.ADMIN)
    if Membership.objects.filter(user=user, role__in=managing).exists():
        return True
    return user.has_perm(IMPORT_PERMISSION)


REMOVE_PERMISSION = "scoring.delete_account"
REMOVE_REFUSED = (
    "Only team managers and admins, and accounts given the permission to delete accounts "
    "(an integration's), remove or merge accounts."
)


def can_remove_accounts(user: User) -> Verdict:
    """The managers and admins of any team, and whoever holds the explicit
    permission to delete accounts (the CRM's integration account,
    superusers), remove and merge accounts: a removal takes the account's
    deals, overrides and scores with it. Being staff alone is not enough."""
    if not user.is_authenticated or not user.is_active:
        return no("Sign in first.")
    managing = (Membership.Role.MANAGER, Membership.Role.ADMIN)
    if Membership.objects.filter(user=user, role__in=managing).exists():
        return YES
    if user.has_perm(REMOVE_PERMISSION):
        return YES
    return no(REMOVE_REFUSED)


TraitChange = Literal["add", "change", "delete"]
_TRAIT_CHANGES: dict[str, str] = {
    "add": "declare traits",
    "change": "change traits",
    "delete": "remove traits",
}


def can_change_traits(user: User, change: TraitChange) -> Verdict:
    """Whether `user` may add, change or delete traits: the model permission
    of that name, as in the admin. Being staff is not enough."""
    if not user.is_authenticated or not user.is_active:
        return no("Sign in first.")
    if user.has_perm(f"profiles.{change}_trait"):
        return YES
    return no(
        f"To {_TRAIT_CHANGES[change]} you need the permission 'Can {change} trait' "
        f"(profiles.{change}_trait); ask an administrator."
    )
