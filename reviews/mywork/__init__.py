"""What is mine to do: the My work panel, the count in the navigation,
notifications (listed in the app, emailed at once or in the Monday digest)
and each person's choice of delivery.

"Mine" means exactly who may act, by the policies: the sign-offs a team I
am in owes (profiles.policies.can_sign_off), the threads my team is in, the
overrides I may decide and the check-ins I may close (reviews.policies,
through the review queue's own selectors), and news about my own overrides
and the versions I signed. A notification goes to the same people the
item shows for.

profiles knows nothing of this: `receivers` listens to its signals.
"""
