"""Input fields that take a JSON value only as its own type: DRF's fields
turn 0 into "0" and "yes" into true, so a client's wrong type would be
stored instead of named. Text follows icpsite.text's rule (no NUL, no lone
surrogate), with the same words as the forms and the account rows."""

from typing import Any

from rest_framework import serializers

from icpsite.text import text_problem


def stored_text(value: str) -> str:
    """`value`, or a field error saying why the database could not store it."""
    problem = text_problem(value)
    if problem is not None:
        raise serializers.ValidationError(f"This text {problem}.", code="invalid_text")
    return value


class StrictBooleanField(serializers.BooleanField):
    """true or false only, not "yes", 1 or "true"."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class StrictCharField(serializers.CharField):
    """A JSON string only: a number is refused, not turned into text."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(stored_text(data))


class StrictSlugRelatedField(serializers.SlugRelatedField[Any]):
    """A row named by text: a JSON string only, and refused before the lookup
    when it breaks the text rule, which the database answers with an error,
    not a miss."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(stored_text(data))
