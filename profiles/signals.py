"""The hooks profiles offers other apps, so they can act on what happens to
a version without profiles knowing them.

Each is sent inside the service's transaction: what a receiver writes
commits with the service's own writes, and an exception aborts them all.
Side effects outside the database belong in `transaction.on_commit`.

- `version_submitted`: a draft went to review (`version`, `actor`), from
  `version_submit`. Reviews tells the required teams.
- `signoffs_stale`: an edit took a version past the revision some teams
  signed (`version`, now at its new revision; `signoffs`, the sign-offs
  that were current until this edit; `actor`), from every edit that claims
  a revision. Reviews tells those teams to sign again.
- `version_approved`: a version went live (`version`, `previous` or None,
  `actor`), from `version_approve`, after the new version is marked approved
  and the previous one superseded. Scoring creates the run and the webhook
  deliveries; reviews tells who signed or commented.
"""

from django.dispatch import Signal

version_submitted = Signal()
signoffs_stale = Signal()
version_approved = Signal()
