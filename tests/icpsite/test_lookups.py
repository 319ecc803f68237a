"""`field__any=values` matches what `field__in=values` matches, on either database."""

import pytest

from scoring.models import Account
from tests.factories import AccountFactory


@pytest.mark.django_db
@pytest.mark.parametrize(
    "wanted",
    [["a-1", "a-3"], ["a-2", "a-2", "missing"], ["missing"], [], ["a-1", "o'neil", "x,y"]],
)
def test_any_matches_what_in_matches(wanted: list[str]) -> None:
    for external_id in ["a-1", "a-2", "a-3", "o'neil", "x,y"]:
        AccountFactory.create(external_id=external_id)
    by_any = Account.objects.filter(external_id__any=wanted)
    by_in = Account.objects.filter(external_id__in=wanted)
    assert sorted(by_any.values_list("external_id", flat=True)) == sorted(
        by_in.values_list("external_id", flat=True)
    )
    ids = list(by_in.values_list("pk", flat=True))
    assert sorted(Account.objects.filter(pk__any=ids).values_list("pk", flat=True)) == sorted(ids)
