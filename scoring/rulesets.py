"""Turn a profile version's criteria into the engine's Ruleset."""

from __future__ import annotations

from profiles.attributes import Attribute, Operator
from profiles.models import CriterionKind, ProfileVersion
from profiles.selectors import attribute_registry, criterion_text
from scoring.engine import Rule, Ruleset, Thresholds


def ruleset_for(version: ProfileVersion, registry: dict[str, Attribute] | None = None) -> Ruleset:
    """The version's criteria in their stored order; bit i of a score's
    `matched` mask is criterion i of this order."""
    registry = registry if registry is not None else attribute_registry()
    rules = []
    for criterion in version.criteria.order_by("position", "id"):
        attribute = registry.get(criterion.attribute)
        if attribute is None:
            raise ValueError(
                f"Criterion {criterion.pk} uses unknown attribute {criterion.attribute!r}."
            )
        disqualifier = criterion.kind == CriterionKind.DISQUALIFIER
        rules.append(
            Rule(
                attribute=attribute.key,
                type=attribute.type,
                operator=Operator(criterion.operator),
                value=criterion.value,
                points=0 if disqualifier else criterion.points,
                disqualifier=disqualifier,
                is_trait=attribute.is_trait,
                label=criterion_text(criterion, registry),
                criterion_id=criterion.pk,
            )
        )
    return Ruleset(tuple(rules), thresholds_for(version))


def thresholds_for(version: ProfileVersion) -> Thresholds:
    return Thresholds(a=version.threshold_a, b=version.threshold_b)
