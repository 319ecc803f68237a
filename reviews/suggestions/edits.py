"""Edits of a version's criteria (their computation arrives with the engine)."""

from __future__ import annotations

from collections.abc import Sequence

from reviews.suggestions.model import Change, Suggestions


def adoption_changes(suggestions: Suggestions, keys: Sequence[str]) -> list[Change]:
    """The criterion changes adopting the suggestions `keys` together makes."""
    raise NotImplementedError("The suggestion engine is not installed.")
