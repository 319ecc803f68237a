"""The one hook profiles offers other apps.

`version_approved` is sent inside the approval's transaction, after the new
version is marked approved and the previous one superseded, with
`version`, `previous` (or None) and `actor`. Receivers run in that
transaction: what they write commits with the approval, and an exception
aborts it. Side effects outside the database belong in
`transaction.on_commit`. The scoring app listens to create the scoring run.
"""

from django.dispatch import Signal

version_approved = Signal()
