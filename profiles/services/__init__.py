"""Every write in profiles. Each service names the acting user.

Services raise Django's PermissionDenied (the actor may not do this) and
ValidationError (the input is wrong, naming the field); both leave the
database as it was. Callers import this package, not its modules.
"""

from profiles.services.review import (
    comment_create,
    comment_resolve,
    signoff_give,
    version_approve,
    version_submit,
    version_withdraw,
)
from profiles.services.teams import membership_set, team_create
from profiles.services.versions import (
    StaleRevisionError,
    criterion_add,
    criterion_remove,
    criterion_update,
    profile_create,
    profile_lock,
    version_lock,
    version_start_draft,
    version_update,
)

__all__ = [
    "StaleRevisionError",
    "comment_create",
    "comment_resolve",
    "criterion_add",
    "criterion_remove",
    "criterion_update",
    "membership_set",
    "profile_create",
    "profile_lock",
    "signoff_give",
    "team_create",
    "version_approve",
    "version_lock",
    "version_start_draft",
    "version_submit",
    "version_update",
    "version_withdraw",
]
