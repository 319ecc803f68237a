"""examples/crm_sync.py against a live server: an initial sync, incremental
ones, and deletions and merges reaching the local copy once."""

import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from examples.crm_sync import Client, sync
from profiles.models import Profile, User
from scoring import services
from scoring.api_keys import api_key_create
from scoring.models import Account, AccountTombstone
from scoring.policies import IMPORT_PERMISSION, REMOVE_PERMISSION
from tests.drafting import approved_version
from tests.factories import UserFactory
from tests.runs import run_all


def local_copy(state: Path) -> list[str]:
    return sorted(json.loads(state.read_text())["records"])


@pytest.mark.django_db(transaction=True)
def test_the_example_client_syncs_initially_then_incrementally(
    live_server: object, icp: Profile, ops_manager: User, tmp_path: Path
) -> None:
    staff = UserFactory.create(
        username="staff", is_staff=True, permissions=[IMPORT_PERMISSION, REMOVE_PERMISSION]
    )
    key = api_key_create(actor=staff, name="Example", user=staff, scope="write").plaintext
    version = approved_version(icp, 1, [200, 2000])
    run_all(services.run_create(profile=icp, version=version, actor=ops_manager))
    client = Client(live_server.url, key)  # type: ignore[attr-defined]
    accounts = [
        {"external_id": f"crm-{i}", "name": f"Company {i}", "employees": 450, "has_revops": True}
        for i in range(5)
    ]
    assert client.push(accounts) == {"created": 5, "updated": 0, "unchanged": 0}
    state = tmp_path / "state.json"
    first = sync(client, icp.slug, state)
    assert sorted(first.changed) == [f"crm-{i}" for i in range(5)]
    assert {row["tier"] for row in first.changed.values()} == {"A"}
    assert local_copy(state) == [f"crm-{i}" for i in range(5)]
    assert sync(client, icp.slug, state).changed == {}
    assert client.push([{**accounts[2], "employees": 5000}, accounts[3]]) == {
        "created": 0,
        "updated": 1,
        "unchanged": 1,
    }
    services.tier_override_set(
        profile=icp, account=Account.objects.get(external_id="crm-4"), tier="C", actor=staff
    )
    second = sync(client, icp.slug, state)
    assert (sorted(second.changed), second.removed) == (["crm-2", "crm-4"], [])
    assert (second.changed["crm-2"]["score"], second.changed["crm-2"]["tier"]) == (40, "B")
    assert (second.changed["crm-4"]["effective_tier"], second.changed["crm-4"]["overridden"]) == (
        "C",
        True,
    )

    # Between two syncs the CRM deletes crm-0 and merges crm-1 into crm-3.
    assert client.remove(["crm-0"]) == {"deleted": 1, "not_found": 0}
    assert client.remove(["crm-0"]) == {"deleted": 0, "not_found": 1}
    merged = client.merge("crm-3", ["crm-1"])
    assert (merged["into"], merged["merged"]) == ("crm-3", ["crm-1"])
    third = sync(client, icp.slug, state)
    assert (sorted(third.removed), third.changed) == (["crm-0", "crm-1"], {})
    assert local_copy(state) == ["crm-2", "crm-3", "crm-4"]
    fourth = sync(client, icp.slug, state)
    assert (fourth.changed, fourth.removed) == ({}, [])
    assert local_copy(state) == ["crm-2", "crm-3", "crm-4"]


@pytest.mark.django_db(transaction=True)
def test_a_refused_cursor_makes_the_example_sync_everything_again(
    live_server: object, icp: Profile, ops_manager: User, tmp_path: Path
) -> None:
    staff = UserFactory.create(
        username="staff", is_staff=True, permissions=[IMPORT_PERMISSION, REMOVE_PERMISSION]
    )
    key = api_key_create(actor=staff, name="Example", user=staff, scope="write").plaintext
    run_all(
        services.run_create(
            profile=icp, version=approved_version(icp, 1, [200, 2000]), actor=ops_manager
        )
    )
    client = Client(live_server.url, key)  # type: ignore[attr-defined]
    client.push([{"external_id": f"crm-{i}", "name": f"Company {i}"} for i in range(3)])
    state = tmp_path / "state.json"
    sync(client, icp.slug, state)
    client.remove(["crm-0"])
    # The removal's tombstone is pruned before the next sync reads it.
    long_ago = timezone.now() - timedelta(days=settings.FEED_TOMBSTONE_RETENTION_DAYS + 1)
    AccountTombstone.objects.update(removed_at=long_ago)
    assert services.tombstones_prune() == 1
    again = sync(client, icp.slug, state)
    assert sorted(again.changed) == ["crm-1", "crm-2"]
    assert local_copy(state) == ["crm-1", "crm-2"]


@pytest.mark.django_db(transaction=True)
def test_the_example_client_sends_deals_that_follow_merges_and_removals(
    live_server: object, icp: Profile, tmp_path: Path
) -> None:
    staff = UserFactory.create(
        username="staff", is_staff=True, permissions=[IMPORT_PERMISSION, REMOVE_PERMISSION]
    )
    key = api_key_create(actor=staff, name="Example", user=staff, scope="write").plaintext
    client = Client(live_server.url, key)  # type: ignore[attr-defined]
    client.push([{"external_id": f"crm-{i}", "name": f"Company {i}"} for i in range(3)])
    deals = [
        {
            "external_id": "opp-0",
            "account": "crm-0",
            "stage": "Closed Lost",
            "amount": "9000.00",
            "closed_at": "2026-10-01T00:00:00Z",
        },
        {
            "external_id": "opp-1",
            "account": "crm-1",
            "stage": "Closed Won",
            "amount": "48000.00",
            "closed_at": "2026-11-02T00:00:00Z",
        },
        {"external_id": "opp-2", "account": "crm-2", "stage": "Proposal", "amount": "12000.00"},
        {"external_id": "opp/2b", "account": "crm-2", "stage": "Discovery"},
    ]
    assert client.push_deals(deals) == {"created": 4, "updated": 0, "unchanged": 0}
    assert client.push_deals(deals[1:2]) == {"created": 0, "updated": 0, "unchanged": 1}
    held = {deal["external_id"]: deal for deal in client.deals()}
    assert sorted(held) == ["opp-0", "opp-1", "opp-2", "opp/2b"]
    assert (held["opp-1"]["status"], held["opp-1"]["amount"]) == ("won", "48000.00")
    assert (held["opp-2"]["status"], held["opp-0"]["status"]) == ("open", "lost")

    # The CRM merges crm-1 into crm-2, deletes crm-0 (its deal goes with it)
    # and the opportunity opp/2b (a slash in its id).
    client.merge("crm-2", ["crm-1"])
    assert client.remove(["crm-0"]) == {"deleted": 1, "not_found": 0}
    assert client.remove_deals(["opp/2b", "opp-0"]) == {"deleted": 1, "not_found": 1}
    assert sorted(deal["external_id"] for deal in client.deals(account="crm-2")) == [
        "opp-1",
        "opp-2",
    ]
    assert [deal["external_id"] for deal in client.deals()] == ["opp-2", "opp-1"]
