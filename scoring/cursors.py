"""The scores feed's cursor: an opaque token that names one profile's feed
and a change number of its ChangeClock.

A client keeps the `cursor` of its last page and sends it back as
`changed_since`; a page's `next` carries it as `until`. The token is
signed (django.core.signing, keyed by SECRET_KEY and its fallbacks), so a
cursor edited by hand, or taken from another profile's feed, is refused
instead of silently answering the wrong window. Bare numbers, the cursors
of before, are refused with what to send instead.
"""

from __future__ import annotations

from django.core import signing

_SALT = "scoring.feed-cursor"
# Far longer than any token made here; a longer one is not worth checking.
MAX_LENGTH = 200

TAMPERED = "Not a cursor of this feed; send a page's `cursor` exactly as it came."
OTHER_PROFILE = (
    "This cursor belongs to another profile's feed; send a cursor from this profile's "
    "pages, or leave the parameter out to sync everything again."
)
BARE_NUMBER = (
    "Cursors are tokens now, not numbers: send the `cursor` of a page as it came, or sync "
    "once without changed_since (every account) and keep that page's `cursor`."
)


class CursorError(ValueError):
    """A token that is not a cursor of the feed it was sent to; the
    message says what to send instead."""


def feed_cursor(*, profile_id: int, seq: int) -> str:
    """The token for change number `seq` of the profile's feed."""
    return signing.Signer(salt=_SALT).sign_object({"p": profile_id, "s": seq})


def feed_cursor_seq(token: str, *, profile_id: int) -> int:
    """The change number a token names, or CursorError when it is not a
    cursor of this profile's feed."""
    if token.strip().isdigit():
        raise CursorError(BARE_NUMBER)
    if len(token) > MAX_LENGTH:
        raise CursorError(TAMPERED)
    try:
        value = signing.Signer(salt=_SALT).unsign_object(token)
    except (signing.BadSignature, ValueError, UnicodeError):
        raise CursorError(TAMPERED) from None
    if not isinstance(value, dict) or not _whole(value.get("s")) or not _whole(value.get("p")):
        raise CursorError(TAMPERED)
    if value["p"] != profile_id:
        raise CursorError(OTHER_PROFILE)
    return int(value["s"])


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
