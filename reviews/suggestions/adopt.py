"""Adopting suggestions: the chosen edits applied to a draft, each with its
evidence posted in the thread of the criterion it changes.

The rules:
- The edits are read again here, for the version as it stands
  (suggest.current_suggestions: those of its current revision, the ones the
  person was shown; edits.adoption_changes); what a client sends is only
  the suggestions' keys, never an edit.
- An open version (draft, in review) takes them itself. The live version
  never changes: a draft is started from it, unless another version is
  already open, which the person adopts into from its own page. A
  superseded or withdrawn version takes none.
- Every change goes through the criterion services, each claiming the next
  revision, so sign-offs go stale, events are logged and concurrent edits
  are refused exactly as when a person edits by hand.
- The evidence is a comment as the team the person speaks for (one of
  their own, or the adoption is refused as such a comment would be), on the
  criterion the suggestion is about (posted before a removal, so the thread
  keeps it with the criterion's words); the re-weighting's points table is
  a comment on the version.
All of it in one transaction, queued behind the profile's other writers,
and with an open version's row locked from the moment its suggestions are
worked out, so an edit by hand waits and then finds the revision moved on.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from profiles import policies, services
from profiles.models import OPEN_STATUSES, Criterion, ProfileVersion, Team, User
from reviews.policies import adoption_target_problem
from reviews.suggestions import edits, suggest
from reviews.suggestions.model import Change, EditKind, Suggestion, Suggestions
from reviews.suggestions.model import Criterion as Proposed
from reviews.suggestions.text import adoption_comment

MAX_COMMENT = 5000


def open_version_besides(version: ProfileVersion) -> ProfileVersion | None:
    """The profile's open version other than `version`, if any."""
    return (
        ProfileVersion.objects.filter(profile_id=version.profile_id, status__in=OPEN_STATUSES)
        .exclude(pk=version.pk)
        .first()
    )


def suggestions_adopt(
    *, actor: User, version: ProfileVersion, keys: Sequence[str], team: Team
) -> ProfileVersion:
    """Apply the suggestions `keys` names for `version` to a draft (see the
    module's docstring) and return that draft."""
    chosen = list(dict.fromkeys(keys))
    if not chosen:
        raise ValidationError({"keys": "Choose at least one suggestion to adopt."})
    if not (may_comment := policies.can_comment(actor, team)):
        # Who is asking, not what they sent: refused as a comment as that
        # team would be, with the reason naming the team.
        raise PermissionDenied(may_comment.reason)
    with transaction.atomic():
        services.profile_lock(version.profile_id)
        version = ProfileVersion.objects.select_related("profile").get(pk=version.pk)
        problem = adoption_target_problem(version, open_version_besides(version))
        if problem:
            raise ValidationError({"version": problem})
        if version.is_open:
            # No edit lands between the suggestions worked out here and
            # their changes: the version stays as they saw it.
            version = services.version_lock(version)
        suggestions = suggest.current_suggestions(version=version)
        changes, adopted = edits.adoption_changes(
            suggestions, chosen, refit=suggest.refit(suggestions)
        )
        draft = version
        if not version.is_open:
            draft = services.version_start_draft(
                actor=actor,
                profile=version.profile,
                source=version,
                rationale="Started from the suggestions: "
                + "; ".join(s.change for s in adopted)
                + ".",
            )
        _Adoption(actor, draft, team, suggestions).apply(adopted, changes)
    draft.refresh_from_db()
    return draft


class _Adoption:
    """Changes and comments on one draft, each through the services."""

    def __init__(
        self, actor: User, draft: ProfileVersion, team: Team, suggestions: Suggestions
    ) -> None:
        self.actor, self.draft, self.team, self.suggestions = actor, draft, team, suggestions
        self.added: list[tuple[Proposed, Criterion]] = []

    def apply(self, adopted: list[Suggestion], changes: list[Change]) -> None:
        removed = {c.before.lineage for c in changes if c.before is not None and c.after is None}
        later = []
        for suggestion in adopted:
            if suggestion.lineage is not None and suggestion.lineage in removed:
                self._comment(suggestion, self._criterion(suggestion.lineage, suggestion))
            else:
                later.append(suggestion)
        # Removals first, so additions fit under the most criteria a version holds.
        for change in sorted(changes, key=lambda c: (c.after is not None, c.before is None)):
            self._change(change, adopted)
        for suggestion in later:
            self._comment(suggestion, self._subject(suggestion))

    def _revision(self) -> int:
        self.draft.refresh_from_db(fields=["revision", "status", "updated_at"])
        return self.draft.revision

    def _criterion(self, lineage: UUID | None, suggestion: Suggestion | None = None) -> Criterion:
        found = self.draft.criteria.filter(lineage=lineage).first() if lineage else None
        if found is None:
            about = f"{suggestion.change!r} " if suggestion else ""
            raise ValidationError(
                {
                    "keys": f"The suggestion {about}is about a criterion v{self.draft.number} "
                    "no longer has; reload the suggestions."
                }
            )
        return found

    def _change(self, change: Change, adopted: list[Suggestion]) -> None:
        before, after = change.before, change.after
        if before is None and after is not None:
            origin = next((s for s in adopted if s.added == after), None) or next(
                (s for s in adopted if s.added and s.added.attribute == after.attribute), None
            )
            criterion = services.criterion_add(
                actor=self.actor,
                version=self.draft,
                revision=self._revision(),
                attribute=after.attribute,
                operator=after.operator,
                value=after.value,
                points=after.points,
                kind=after.kind,
                rationale=origin.sentence if origin else "",
            )
            self.added.append((after, criterion))
        elif before is not None and after is None:
            services.criterion_remove(
                actor=self.actor,
                criterion=self._criterion(before.lineage),
                revision=self._revision(),
            )
        elif before is not None and after is not None:
            current = self._criterion(before.lineage)
            same_attribute = current.attribute == after.attribute
            services.criterion_update(
                actor=self.actor,
                criterion=current,
                revision=self._revision(),
                attribute=after.attribute,
                operator=after.operator,
                value=after.value,
                points=after.points,
                kind=after.kind,
                category=current.category if same_attribute else None,
                rationale=current.rationale,
            )

    def _subject(self, suggestion: Suggestion) -> Criterion | None:
        """The criterion of the draft the suggestion is about, after the
        changes: the one it changes, or the one it added (None: the
        re-weighting, about the version as a whole)."""
        if suggestion.kind == EditKind.REWEIGHT:
            return None
        if suggestion.lineage is not None:
            return self.draft.criteria.filter(lineage=suggestion.lineage).first()
        wanted = suggestion.added
        if wanted is None:
            return None
        exact = (c for after, c in self.added if after == wanted)
        alike = (c for after, c in self.added if after.attribute == wanted.attribute)
        return next(exact, None) or next(alike, None)

    def _comment(self, suggestion: Suggestion, criterion: Criterion | None) -> None:
        reweighting = self.suggestions.reweighting
        body = adoption_comment(suggestion, reweighting)
        if len(body) > MAX_COMMENT:
            body = body[: MAX_COMMENT - 1] + "\u2026"
        services.comment_create(
            actor=self.actor, version=self.draft, team=self.team, body=body, criterion=criterion
        )
