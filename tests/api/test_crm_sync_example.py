"""examples/crm_sync.py against a live server: an initial sync, then an incremental one."""

from pathlib import Path

import pytest

from examples.crm_sync import Client, sync
from profiles.models import Profile, User
from scoring import services
from scoring.api_keys import api_key_create
from scoring.models import Account
from scoring.policies import IMPORT_PERMISSION
from tests.drafting import approved_version
from tests.factories import UserFactory
from tests.runs import run_all


@pytest.mark.django_db(transaction=True)
def test_the_example_client_syncs_initially_then_incrementally(
    live_server: object, icp: Profile, ops_manager: User, tmp_path: Path
) -> None:
    staff = UserFactory.create(username="staff", is_staff=True, permissions=[IMPORT_PERMISSION])
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
    assert sorted(first) == [f"crm-{i}" for i in range(5)]
    assert {row["tier"] for row in first.values()} == {"A"}
    assert sync(client, icp.slug, state) == {}
    assert client.push([{**accounts[2], "employees": 5000}, accounts[3]]) == {
        "created": 0,
        "updated": 1,
        "unchanged": 1,
    }
    services.tier_override_set(
        profile=icp, account=Account.objects.get(external_id="crm-4"), tier="C", actor=staff
    )
    second = sync(client, icp.slug, state)
    assert sorted(second) == ["crm-2", "crm-4"]
    assert (second["crm-2"]["score"], second["crm-2"]["tier"]) == (40, "B")
    assert (second["crm-4"]["effective_tier"], second["crm-4"]["overridden"]) == ("C", True)
