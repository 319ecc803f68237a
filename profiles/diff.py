"""What changed between two versions of a profile.

Criteria are paired by lineage (kept when a draft copies its parent), so a
criterion whose value or points changed shows as changed, not as one removed
and one added.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field

from profiles.models import Criterion, ProfileVersion

COMPARED_FIELDS = ("attribute", "operator", "value", "points", "kind", "category", "rationale")


@dataclass(frozen=True)
class CriterionChange:
    before: Criterion
    after: Criterion
    fields: tuple[str, ...]


@dataclass(frozen=True)
class VersionDiff:
    old: ProfileVersion
    new: ProfileVersion
    added: list[Criterion] = field(default_factory=list)
    removed: list[Criterion] = field(default_factory=list)
    changed: list[CriterionChange] = field(default_factory=list)
    unchanged: int = 0
    thresholds: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.thresholds)


def version_diff(*, old: ProfileVersion, new: ProfileVersion) -> VersionDiff:
    """Criteria added, removed and changed, and thresholds changed, from old to new."""
    if old.profile_id != new.profile_id:
        raise ValueError("Both versions must belong to the same profile.")
    before = {c.lineage: c for c in Criterion.objects.filter(version=old)}
    after = {c.lineage: c for c in Criterion.objects.filter(version=new)}
    added: list[Criterion] = []
    changed: list[CriterionChange] = []
    unchanged = 0
    for lineage, criterion in after.items():
        earlier = before.get(lineage)
        if earlier is None:
            added.append(criterion)
            continue
        fields = tuple(f for f in COMPARED_FIELDS if getattr(earlier, f) != getattr(criterion, f))
        if fields:
            changed.append(CriterionChange(before=earlier, after=criterion, fields=fields))
        else:
            unchanged += 1
    return VersionDiff(
        old=old,
        new=new,
        added=added,
        removed=[c for lineage, c in before.items() if lineage not in after],
        changed=changed,
        unchanged=unchanged,
        thresholds={
            name: (getattr(old, name), getattr(new, name))
            for name in ("threshold_a", "threshold_b")
            if getattr(old, name) != getattr(new, name)
        },
    )


def versions_to_compare(
    versions: Mapping[int, ProfileVersion], *, old: int | None = None, new: int | None = None
) -> tuple[ProfileVersion, ProfileVersion]:
    """The (old, new) pair a diff compares, from a profile's versions by
    number: `new` by default the latest, `old` by default the version `new`
    was copied from, or `new` itself when it was copied from none. A number
    the profile lacks, or a profile without versions, raises KeyError."""
    if not versions:
        raise KeyError(new)
    chosen_new = versions[new if new is not None else max(versions)]
    if old is None:
        old = chosen_new.parent.number if chosen_new.parent else chosen_new.number
    return versions[old], chosen_new
