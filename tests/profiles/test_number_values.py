"""Number criteria keep the value as entered, within a documented bound,
and refuse larger ones naming the field, on the page, in the API and in the
services the admin uses."""

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from profiles import services
from profiles.attributes import BUILTIN_ATTRIBUTES, NUMBER_LIMIT, Operator, describe
from profiles.models import Criterion, ProfileVersion, User
from tests.api.test_profiles_api import api, vurl
from tests.snapshots import snapshot

HUGE = "99999999999999999999999999999999"


def _page_add(client: Client, draft: ProfileVersion, value: str) -> Any:
    return client.post(
        f"/profiles/{draft.profile.slug}/v{draft.number}/criteria/",
        {
            "revision": draft.revision,
            "attribute": "annual_revenue",
            "operator": "gte",
            "value": value,
            "points": 10,
            "kind": "fit",
            "category": "firmographic",
        },
    )


@pytest.mark.parametrize("value", [HUGE, str(NUMBER_LIMIT + 1), f"-{NUMBER_LIMIT + 1}"])
def test_the_page_refuses_a_number_beyond_the_bound_naming_it(
    client: Client, draft: ProfileVersion, marketer: User, value: str
) -> None:
    client.force_login(marketer)
    before = snapshot()
    response = _page_add(client, draft, value)
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert f"{NUMBER_LIMIT:,}" in str(errors)
    assert "Annual revenue" in str(errors)
    assert snapshot() == before


def test_the_page_keeps_a_large_whole_number_exactly(
    client: Client, draft: ProfileVersion, marketer: User
) -> None:
    client.force_login(marketer)
    response = _page_add(client, draft, "999999999999999")
    assert response.status_code == 302
    criterion = Criterion.objects.get(version=draft, attribute="annual_revenue")
    assert criterion.value == 999_999_999_999_999
    page = client.get(f"/profiles/{draft.profile.slug}/v{draft.number}/")
    assert "Annual revenue is at least 999,999,999,999,999" in page.content.decode()


def test_the_api_refuses_a_number_beyond_the_bound_naming_the_value(
    draft: ProfileVersion, marketer: User
) -> None:
    before = snapshot()
    response = api(marketer).post(
        vurl(draft.profile, draft.number, "criteria/"),
        {
            "revision": draft.revision,
            "attribute": "employees",
            "operator": "between",
            "value": [10, 10**32],
            "points": 10,
        },
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()) == ["value"]
    assert f"{NUMBER_LIMIT:,}" in response.json()["value"][0]
    assert snapshot() == before


def test_the_services_refuse_it_too(draft: ProfileVersion, marketer: User) -> None:
    with pytest.raises(ValidationError) as refused:
        services.criterion_add(
            actor=marketer,
            version=draft,
            revision=draft.revision,
            attribute="annual_revenue",
            operator="gte",
            value=10**20,
            points=5,
        )
    assert "value" in refused.value.message_dict


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (0.125, "Annual revenue is at least 0.125"),
        (1234.5, "Annual revenue is at least 1,234.5"),
        (NUMBER_LIMIT, f"Annual revenue is at least {NUMBER_LIMIT:,}"),
    ],
)
def test_a_number_is_described_exactly(value: float, words: str) -> None:
    attribute = BUILTIN_ATTRIBUTES["annual_revenue"]
    assert describe(attribute, Operator.GTE, value) == words
