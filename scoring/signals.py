"""The one hook scoring offers the apps above it.

`accounts_merging` is sent by scoring.services.accounts_merge inside the
merge's transaction, after the survivor took over the merged accounts'
deals and tier overrides and before the merged accounts are removed, with
`into` (the surviving Account), `merged` (the Accounts about to go) and
`actor`. Receivers move what they keep on the merged accounts to `into` in
that transaction: what they write commits with the merge, and an exception
aborts it. Whatever still points at a merged account when the receivers
return is removed with it. The reviews app listens to move reps' claims.
"""

from django.dispatch import Signal

accounts_merging = Signal()
