"""How a service's refusal reads where a person or a client sees it.

Services refuse with Django's ValidationError (keyed by field name, or
about no field) and PermissionDenied (the policy's reason). The pages show
them as text, or on the form that was sent; the API shapes the same
messages as its error body (icpsite.api.errors.validation_error_body).
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError

NOT_ALLOWED = "You are not allowed to do that."


def error_messages(exc: ValidationError) -> dict[str | None, list[str]]:
    """The error's messages by field name, in the order raised; None holds
    those about no field in particular."""
    if not hasattr(exc, "error_dict"):
        return {None: list(exc.messages)}
    found: dict[str | None, list[str]] = {}
    for name, messages in exc.message_dict.items():
        found.setdefault(None if name == NON_FIELD_ERRORS else name, []).extend(messages)
    return found


def refusal_text(exc: ValidationError | PermissionDenied, *, name_fields: bool = False) -> str:
    """The refusal as one line of text; with `name_fields`, each field's
    messages follow its name ("points: Enter a whole number.")."""
    if isinstance(exc, PermissionDenied):
        return str(exc) or NOT_ALLOWED
    return " ".join(
        f"{name}: {' '.join(messages)}" if name_fields and name else " ".join(messages)
        for name, messages in error_messages(exc).items()
    )


def add_refusal_to_form(form: forms.BaseForm, exc: ValidationError | PermissionDenied) -> None:
    """Show the refusal on the form: each message on its field, or on the
    form as a whole when it is about no field the form has."""
    if isinstance(exc, PermissionDenied):
        form.add_error(None, refusal_text(exc))
        return
    for name, messages in error_messages(exc).items():
        form.add_error(name if name in form.fields else None, messages)
