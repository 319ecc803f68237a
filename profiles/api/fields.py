"""Input fields that take a JSON value only as its own type: DRF's fields
turn 0 into "0" and "yes" into true, so a client's wrong type would be
stored instead of named."""

from typing import Any

from rest_framework import serializers


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
        return super().to_internal_value(data)


class StrictSlugRelatedField(serializers.SlugRelatedField[Any]):
    """A row named by text: a JSON string only, and refused before the lookup
    when it holds NUL, which the database answers with an error, not a miss."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str) or "\x00" in data:
            self.fail("invalid")
        return super().to_internal_value(data)
