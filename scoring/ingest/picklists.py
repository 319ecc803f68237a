"""Category values no criterion names, reported back by the imports as
warnings.

An account whose industry is "Saas Co" where every criterion says "SaaS"
matches none of them, and nothing else would say so: its score is simply
lower. So when a row's value of a category attribute (a built-in such as
industry, or a text trait) is not among the values the criteria of live and
draft versions name, the row is stored as sent and the import reports a
warning naming the field. A warning is not an error: the CRM may be right,
and the profile may not know the value yet.

- Values compare in canonical form (profiles.attributes.canonical): "saas"
  is no warning where a criterion says "SaaS".
- Only attributes that some live or draft criterion tests are looked at; a
  value of an attribute no criterion tests cannot move a score.
- The values in use are read once per import (PicklistCheck.load), whatever
  its number of rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from profiles.attributes import BUILTIN_ATTRIBUTES, Attribute, canonical
from profiles.selectors import ValuesInUse, category_values_in_use
from scoring.ingest.rows import TRAIT_PREFIX

# Values of the criteria a warning names, at most.
NAMED_VALUES = 5


@dataclass(frozen=True)
class UnknownValue:
    """A row's value that no criterion names: `field` as the row names it
    ("industry", "traits.region"), `value` as sent."""

    field: str
    value: str
    key: str  # the attribute's key


class PicklistCheck:
    """The values the criteria of live and draft versions name, by attribute,
    and the check of clean rows against them."""

    def __init__(self, in_use: Mapping[str, ValuesInUse]) -> None:
        self.in_use = in_use
        self._messages: dict[tuple[str, str], str] = {}

    @classmethod
    def load(cls, traits: Mapping[str, Attribute]) -> PicklistCheck:
        """The values in use now, for the built-in attributes and the declared
        `traits` (one query)."""
        return cls(category_values_in_use(registry={**BUILTIN_ATTRIBUTES, **traits}))

    def unknown(self, clean: Mapping[str, Any]) -> list[UnknownValue]:
        """The values of a clean row (scoring.ingest.rows.account_clean) that
        no criterion names, by field name."""
        found = []
        for key, named in self.in_use.items():
            if named.attribute.is_trait:
                field, value = f"{TRAIT_PREFIX}{key}", (clean.get("traits") or {}).get(key)
            else:
                field, value = key, clean.get(key)
            if not isinstance(value, str):
                continue
            compared = canonical(value)
            if compared and compared not in named.values:
                found.append(UnknownValue(field, value, key))
        return sorted(found, key=lambda unknown: unknown.field)

    def message(self, unknown: UnknownValue) -> str:
        """What a warning says of `unknown` (made once per value: rows repeat them)."""
        found = self._messages.get((unknown.key, unknown.value))
        if found is None:
            found = self._messages[(unknown.key, unknown.value)] = self._message(unknown)
        return found

    def _message(self, unknown: UnknownValue) -> str:
        named = self.in_use[unknown.key]
        spellings = list(named.values.values())
        listed = ", ".join(spellings[:NAMED_VALUES])
        if len(spellings) > NAMED_VALUES:
            listed += f" and {len(spellings) - NAMED_VALUES} more"
        return (
            f"{unknown.value!r} is a value no live or draft criterion names, so it matches "
            f"none of them (the criteria on {named.attribute.label} name {listed}); it is "
            "stored as sent."
        )


@dataclass(frozen=True)
class ValueWarning:
    """One value no criterion names, for a whole file: the rows holding it
    (in any spelling that compares equal) and the first of them."""

    field: str
    value: str
    rows: int
    first_row: int
    message: str


@dataclass
class _Tally:
    unknown: UnknownValue  # the first spelling seen
    rows: int
    first_row: int


class ValueTally:
    """A file's unknown values, counted once per field and value."""

    def __init__(self, check: PicklistCheck) -> None:
        self.check = check
        self.seen: dict[tuple[str, str], _Tally] = {}

    def add(self, number: int, clean: Mapping[str, Any]) -> None:
        """Count the row's unknown values (`number` is its row number)."""
        for unknown in self.check.unknown(clean):
            key = (unknown.field, canonical(unknown.value))
            tally = self.seen.setdefault(key, _Tally(unknown, 0, number))
            tally.rows += 1

    def __len__(self) -> int:
        return len(self.seen)

    def warnings(self, limit: int | None = None) -> list[ValueWarning]:
        """The values in the order they first appear, the first `limit` of them."""
        tallies = sorted(self.seen.values(), key=lambda t: (t.first_row, t.unknown.field))
        return [
            ValueWarning(
                t.unknown.field, t.unknown.value, t.rows, t.first_row, self.check.message(t.unknown)
            )
            for t in tallies[:limit]
        ]
