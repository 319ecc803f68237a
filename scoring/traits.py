"""Declaring, changing and removing traits, for the admin and the API alike.

A trait (profiles.models.Trait) lives in profiles, where criteria read it;
its writes live here because the rules that guard them read the accounts:

- The key follows profiles.models.validate_trait_key and never changes.
- The type changes only while no account holds a value for the trait and
  no criterion of a live or open version tests it: stored values of the
  old type do not read as the new one (a run that casts text to a number
  fails), and a criterion's operator belongs to its attribute's type.
- A trait is removed on the same terms: values left behind would come back
  under a new declaration of the key, of any type.
- A type change or a removal takes the trait's row FOR UPDATE NOWAIT. An
  import holds the rows of the traits it writes in key-share mode while it
  writes (scoring.ingest.importer.traits_hold), so neither waits for the
  other: the change is refused while an import writes the trait, and an
  import whose trait changed after its rows were checked stores nothing.

Label, help text and category change at any time.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, OperationalError, transaction

from icpsite.numbers import count
from icpsite.text import text_problem
from profiles.models import Trait, User
from profiles.selectors import trait_criterion_list
from scoring.policies import TraitChange, can_change_traits
from scoring.selectors import trait_values_held


class TraitConflictError(Exception):
    """A change refused for the state of things rather than the request: the
    trait is in use, or an import is writing it. Nothing was stored."""


BUSY = (
    "An import is writing accounts with the trait {key} right now; try again once it has finished."
)


def _allow(actor: User, change: TraitChange) -> None:
    verdict = can_change_traits(actor, change)
    if not verdict:
        raise PermissionDenied(verdict.reason)


def _text_errors(**texts: str | None) -> dict[str, list[str]]:
    """icpsite.text's rule for each text given, by field."""
    errors: dict[str, list[str]] = {}
    for name, value in texts.items():
        problem = text_problem(value) if value is not None else None
        if problem is not None:
            errors[name] = [f"This text {problem}."]
    return errors


def _holding(n: int, key: str) -> str:
    return f"{count(n)} account{' holds' if n == 1 else 's hold'} a value for {key}"


def _versions_testing(trait: Trait) -> list[str]:
    """The live and open versions whose criteria test the trait, each once,
    as "Mid-market SaaS v3 (draft)"."""
    return list(
        dict.fromkeys(
            f"{c.version.profile.name} v{c.version.number} ({c.version.status.replace('_', ' ')})"
            for c in trait_criterion_list(key=trait.key)
        )
    )


def trait_type_problem(*, trait: Trait, type: str) -> str | None:
    """Why the trait's type may not become `type`, or None when it may (or
    does not change). The admin's form asks before it saves; trait_update
    asks again under the row's lock."""
    if type == trait.type:
        return None
    versions = _versions_testing(trait)
    if versions:
        return (
            f"Criteria of {', '.join(versions)} test {trait.key}, so its type stays "
            f"{trait.type} while a live or open version does."
        )
    accounts = trait_values_held(key=trait.key)
    if accounts:
        return (
            f"{_holding(accounts, trait.key)}, so its type stays "
            f"{trait.type}: clear the values (send null for {trait.key}) or declare a new trait."
        )
    return None


def trait_delete_problem(*, trait: Trait) -> str | None:
    """Why the trait may not be removed, or None when it may."""
    versions = _versions_testing(trait)
    if versions:
        return (
            f"Criteria of {', '.join(versions)} test {trait.key}; remove them from the open "
            "versions and approve a version without them first."
        )
    accounts = trait_values_held(key=trait.key)
    if accounts:
        return (
            f"{_holding(accounts, trait.key)}; clear the values (send null for {trait.key}) first."
        )
    return None


def _lock(trait: Trait) -> Trait:
    """The trait's row, locked until the caller's transaction ends; a
    TraitConflictError at once if an import holds it (see the module)."""
    try:
        # A savepoint: a refused lock leaves the caller's transaction usable.
        with transaction.atomic():
            return Trait.objects.select_for_update(nowait=True).get(pk=trait.pk)
    except OperationalError:
        raise TraitConflictError(BUSY.format(key=trait.key)) from None


def trait_declare(
    *,
    actor: User,
    key: str,
    label: str,
    type: str,
    category: str,
    help: str = "",
) -> Trait:
    """Declare a trait; ValidationError names each bad field (the key rule,
    a key already declared, a label missing)."""
    _allow(actor, "add")
    errors = _text_errors(label=label, help=help)
    trait = Trait(key=key, label=label.strip(), type=type, category=category, help=help.strip())
    try:
        trait.full_clean(exclude=list(errors))
    except ValidationError as exc:
        errors = {**exc.message_dict, **errors}
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            trait.save()
    except IntegrityError:  # declared by another request since full_clean looked
        raise ValidationError(
            {"key": [Trait._meta.get_field("key").error_messages["unique"]]}
        ) from None
    return trait


@transaction.atomic
def trait_update(
    *,
    actor: User,
    trait: Trait,
    label: str | None = None,
    help: str | None = None,
    category: str | None = None,
    type: str | None = None,
) -> Trait:
    """Change what is given of the trait's label, help text, category and
    type (the key never changes); a type change only on the module's terms,
    else a ValidationError naming `type`."""
    _allow(actor, "change")
    errors = _text_errors(label=label, help=help)
    if errors:
        raise ValidationError(errors)
    # The stored row decides, not the object given (a form may have set its type).
    trait = Trait.objects.get(pk=trait.pk)
    if type is not None and type != trait.type:
        trait = _lock(trait)
        problem = trait_type_problem(trait=trait, type=type)
        if problem is not None:
            raise ValidationError({"type": [problem]})
    changes = {"label": label, "help": help, "category": category, "type": type}
    for name, value in changes.items():
        if value is not None:
            setattr(trait, name, value.strip() if name in ("label", "help") else value)
    trait.full_clean(exclude=["key"])
    trait.save(update_fields=[name for name, value in changes.items() if value is not None])
    return trait


@transaction.atomic
def trait_delete(*, actor: User, trait: Trait) -> None:
    """Remove the trait on the module's terms; TraitConflictError says why not."""
    _allow(actor, "delete")
    trait = _lock(trait)
    problem = trait_delete_problem(trait=trait)
    if problem is not None:
        raise TraitConflictError(problem)
    trait.delete()
