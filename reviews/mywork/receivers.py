"""Reviews listens to what happens to versions (profiles.signals) and tells
the people it concerns; profiles does not know it is heard. Each receiver
runs in the transaction of the write that sent the signal and calls one
service."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from profiles.models import ProfileVersion, SignOff, User
from reviews.mywork import services


def on_version_submitted(*, version: ProfileVersion, actor: User | None, **_: Any) -> None:
    """Receiver of profiles.signals.version_submitted."""
    services.notify_version_submitted(version=version, actor=actor)


def on_signoffs_stale(
    *, version: ProfileVersion, signoffs: Sequence[SignOff], actor: User | None, **_: Any
) -> None:
    """Receiver of profiles.signals.signoffs_stale."""
    services.notify_signoffs_stale(version=version, signoffs=signoffs, actor=actor)


def on_version_approved(*, version: ProfileVersion, actor: User | None, **_: Any) -> None:
    """Receiver of profiles.signals.version_approved."""
    services.notify_version_approved(version=version, actor=actor)
