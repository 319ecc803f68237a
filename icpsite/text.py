"""The rule for text that is stored: valid Unicode without NUL.

JSON may carry a lone UTF-16 surrogate ("\\ud83d" written as an escape),
which is no character at all: no database can encode it, so PostgreSQL's
driver and SQLite both fail on it, and a page or answer that echoes it
cannot be written out as UTF-8 either. PostgreSQL also refuses NUL in text
columns. Every way text comes in (API fields, criterion values, account
rows from a CSV file or a CRM, page and admin forms) checks it here, so a
person learns which field to fix instead of meeting an error page, and the
same value is refused everywhere alike. Pure Python, like
profiles.attributes, which uses it; the form validator is in profiles.forms.
"""

from __future__ import annotations

import re

_BAD = re.compile(r"[\x00\ud800-\udfff]")


class TextError(ValueError):
    """Text that cannot be stored; the message says where and what to do."""


def text_problem(value: str) -> str | None:
    """What makes `value` unstorable, or None when it is fine."""
    found = _BAD.search(value)
    if found is None:
        return None
    char = found.group()
    if char == "\x00":
        return f"contains a NUL character (\\u0000) at position {found.start()}; remove it"
    return (
        f"contains a lone surrogate (\\u{ord(char):04x}) at position {found.start()}; "
        "send valid Unicode text"
    )


def check_text(value: str) -> str:
    """`value` unchanged, or TextError saying what is wrong and where."""
    problem = text_problem(value)
    if problem is not None:
        raise TextError(problem)
    return value
