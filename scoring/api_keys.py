"""API keys for integrations: created, shown once, checked, revoked.

A key reads `icp_<prefix>_<secret>`: the prefix (10 characters) finds the
row, and the whole key's SHA-256 digest must match the stored one. The key
itself is never stored, so it is shown once, when it is made.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.utils import timezone

from profiles.models import User
from scoring.models import ApiKey, ApiKeyScope

KEY_PREFIX = "icp_"
PREFIX_LENGTH = 10

# last_used_at is written at most this often per key, so a busy sync does
# not turn every request into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class NewApiKey:
    """A freshly made key and the only copy of its secret text."""

    key: ApiKey
    plaintext: str


def _digest(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def can_manage_api_keys(user: User) -> bool:
    """Staff make keys: a key can push accounts for the whole company."""
    return bool(user.is_authenticated and user.is_active and (user.is_staff or user.is_superuser))


def can_hold_key_for(actor: User, user: User) -> bool:
    """A key acts with its user's rights, so staff make and revoke keys for
    themselves only; a superuser, who already has every right, for anyone."""
    return actor.is_superuser or actor.pk == user.pk


def api_key_create(*, actor: User | None, name: str, user: User, scope: str) -> NewApiKey:
    """Make a key acting as `user` with `scope`; the plaintext is returned once.

    `actor` None is the server's own shell (`manage.py api_key_create`)."""
    if actor is not None:
        if not can_manage_api_keys(actor):
            raise PermissionDenied("Only staff create API keys.")
        if not can_hold_key_for(actor, user):
            raise PermissionDenied(
                f"You make API keys for yourself only; a key for {user.username} is made by "
                f"{user.username} or a superuser."
            )
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Name the key after what will use it."})
    if scope not in ApiKeyScope.values:
        raise ValidationError({"scope": f"Choose one of {', '.join(ApiKeyScope.values)}."})
    prefix = secrets.token_hex(PREFIX_LENGTH // 2)
    plaintext = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(
        name=name,
        user=user,
        scope=scope,
        prefix=prefix,
        digest=_digest(plaintext),
        created_by=actor,
    )
    return NewApiKey(key=key, plaintext=plaintext)


def api_key_revoke(*, actor: User | None, key: ApiKey) -> ApiKey:
    """Stop a key working at once; it stays listed, marked revoked."""
    if actor is not None:
        if not can_manage_api_keys(actor):
            raise PermissionDenied("Only staff revoke API keys.")
        if not can_hold_key_for(actor, key.user):
            raise PermissionDenied(
                f"{key.name} acts as {key.user.username}; only they or a superuser revoke it."
            )
    ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    key.refresh_from_db()
    return key


def api_key_check(plaintext: str) -> ApiKey | None:
    """The live key this text is, with its user; None for anything else.

    Records the use (at most once a minute per key) with a conditional
    UPDATE, so concurrent requests never wait on each other.
    """
    prefix, _, secret = plaintext.removeprefix(KEY_PREFIX).partition("_")
    if not plaintext.startswith(KEY_PREFIX) or len(prefix) != PREFIX_LENGTH or not secret:
        return None
    key = (
        ApiKey.objects.select_related("user").filter(prefix=prefix, revoked_at__isnull=True).first()
    )
    if key is None or not hmac.compare_digest(key.digest, _digest(plaintext)):
        return None
    now = timezone.now()
    if key.last_used_at is None or key.last_used_at < now - LAST_USED_RESOLUTION:
        ApiKey.objects.filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION),
            pk=key.pk,
        ).update(last_used_at=now)
        key.last_used_at = now
    return key
