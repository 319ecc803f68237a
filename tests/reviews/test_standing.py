"""An account's standing (score, tier, effective tier, override) reads the
same on the account panel, the account list, the export and the API."""

import re

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from profiles.models import Profile, ProfileVersion, User
from reviews import services
from scoring import services as scoring_services
from scoring.models import Account, RunStatus, ScoringRun
from scoring.selectors import account_standing, current_run
from tests.drafting import approved_version
from tests.runs import run_all

pytestmark = pytest.mark.django_db


def _accept_claim_of_a(rep: User, manager: User, icp: Profile, tiny: Account) -> None:
    override = services.override_create(
        actor=rep, account=tiny, profile=icp, claimed_tier="A", reason="too_strict"
    )
    services.override_accept(actor=manager, override=override, note="Yes")


def _panel(client: Client, account: Account, profile: Profile) -> str:
    page = client.get(reverse("account-overrides", args=[account.pk])).content.decode()
    cell = re.search(rf'data-testid="effective-{profile.slug}">(.*?)</td>', page)
    assert cell is not None
    return re.sub(r"<[^>]+>", "", cell.group(1)).strip()


def _list_row(client: Client, account: Account, profile: Profile) -> str:
    page = client.get(reverse("account-list"), {"profile": profile.slug}).content.decode()
    row = re.search(rf"{account.name}</a>.*?</td>\s*<td>(.*?)</td>", page, re.S)
    assert row is not None
    return re.sub(r"<[^>]+>", "", row.group(1)).strip()


def _api(manager: User, account: Account) -> tuple[str, bool]:
    api = APIClient()
    api.force_authenticate(manager)
    [score] = api.get(f"/api/v1/accounts/{account.external_id}/").json()["scores"]
    return score["effective_tier"], score["overridden"]


def _feed(manager: User, account: Account, profile: Profile) -> tuple[str, bool]:
    api = APIClient()
    api.force_authenticate(manager)
    rows = api.get("/api/v1/scores/", {"profile": profile.slug}).json()["results"]
    [row] = [r for r in rows if r["external_id"] == account.external_id]
    return row["effective_tier"], row["overridden"]


def test_the_panel_list_and_api_agree_while_a_new_version_is_rescoring(
    client: Client,
    rep: User,
    manager: User,
    ops_manager: User,
    icp: Profile,
    v1: ProfileVersion,
    tiny: Account,
    live_run: ScoringRun,
) -> None:
    _accept_claim_of_a(rep, manager, icp, tiny)
    ProfileVersion.objects.filter(pk=v1.pk).update(status="superseded")
    v2 = approved_version(icp, 2, [100, 2000])
    rescoring = scoring_services.run_create(profile=icp, version=v2, actor=ops_manager)
    assert rescoring.status != RunStatus.SUCCEEDED
    assert current_run(profile=icp) == live_run

    client.force_login(manager)
    # v1's run is still the one read, so the override accepted under v1 applies.
    assert _panel(client, tiny, icp) == "A by accepted override"
    assert _list_row(client, tiny, icp) == "A overridden"
    assert _api(manager, tiny) == ("A", True)
    assert _feed(manager, tiny, icp) == ("A", True)
    standing = account_standing(account=tiny, profile=icp)
    assert (standing.score, standing.tier, standing.effective_tier, standing.overridden) == (
        40,
        "B",
        "A",
        True,
    )


def test_the_override_stops_applying_everywhere_once_the_new_version_has_scored(
    client: Client,
    rep: User,
    manager: User,
    ops_manager: User,
    icp: Profile,
    v1: ProfileVersion,
    tiny: Account,
    live_run: ScoringRun,
) -> None:
    _accept_claim_of_a(rep, manager, icp, tiny)
    ProfileVersion.objects.filter(pk=v1.pk).update(status="superseded")
    v2 = approved_version(icp, 2, [100, 2000])
    assert run_all(scoring_services.run_create(profile=icp, version=v2, actor=ops_manager))

    client.force_login(manager)
    # v2 puts 150 employees with RevOps at 100: tier A by score, no override.
    assert _panel(client, tiny, icp) == "A"
    assert _list_row(client, tiny, icp) == "A"
    assert _api(manager, tiny) == ("A", False)
    assert _feed(manager, tiny, icp) == ("A", False)
    standing = account_standing(account=tiny, profile=icp)
    assert (standing.score, standing.tier, standing.effective_tier, standing.overridden) == (
        100,
        "A",
        "A",
        False,
    )
