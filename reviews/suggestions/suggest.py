"""The suggestion engine's entry point (its computation arrives with the engine)."""

from __future__ import annotations

from profiles.models import ProfileVersion
from reviews.suggestions.model import Suggestions
from reviews.suggestions.window import Window


def suggestions_for(*, version: ProfileVersion, window: Window | None = None) -> Suggestions:
    """The ranked suggestions for `version` over `window` (its profile's default)."""
    raise NotImplementedError("The suggestion engine is not installed.")
