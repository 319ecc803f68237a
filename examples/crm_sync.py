"""A small CRM sync client for icpsite's API: push accounts and their deals,
pull scores, follow the CRM's deletions and merges.

    python examples/crm_sync.py --url http://127.0.0.1:8000 --key icp_... \\
        --profile mid-market-saas --accounts accounts.json --deals deals.json \\
        --removed removed.json --merges merges.json --state sync-state.json

A run sends what changed in the CRM in the order that keeps every reference
valid: accounts first, then their deals (a deal names its account's
external_id), then merges and removals (a merge moves the merged accounts'
deals to the survivor; a removed account takes its deals with it).
`removed.json` holds `{"accounts": [...], "deals": [...]}` external ids and
`merges.json` a list of `{"into": ..., "from": [...]}`.

The first run pulls every score (an initial sync) into a local copy kept in
the state file with the feed's cursor; later runs pull only what changed
since that cursor (an incremental sync): accounts whose score, tier,
effective tier or override changed replace their record, and accounts
removed in icpsite (deleted, or merged into another) come as tombstones and
drop theirs. The cursor is an opaque token: it is stored and sent back as it
came. A cursor the server no longer honours (older than the removals it
keeps) starts a full sync again, which replaces the local copy. Pushes go in
batches of 1,000 and stop at the first refused batch, naming its bad rows.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

BATCH = 1000


class SyncError(Exception):
    pass


class CursorRefusedError(SyncError):
    """The server refused the stored cursor; a full sync starts over."""


@dataclass
class SyncResult:
    """What one sync brought: records changed or added, external ids dropped."""

    changed: dict[str, dict[str, Any]] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)


class Client:
    def __init__(self, url: str, key: str, timeout: float = 60) -> None:
        self.url = url.rstrip("/")
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {key}"
        self.timeout = timeout

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """One request, waiting out 429s as the Retry-After header says."""
        while True:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
            if response.status_code != 429:
                return response
            time.sleep(float(response.headers.get("Retry-After", "1")))

    def _upsert(self, kind: str, rows: list[dict[str, Any]]) -> dict[str, int]:
        """Upsert rows of `kind` (accounts, deals) in batches; counts of
        created, updated and unchanged. A refused batch stops the push,
        naming its bad rows; the batches before it are stored."""
        totals = {"created": 0, "updated": 0, "unchanged": 0}
        for start in range(0, len(rows), BATCH):
            batch = rows[start : start + BATCH]
            response = self._send(
                "POST", f"{self.url}/api/v1/{kind}/bulk-upsert/", json={kind: batch}
            )
            body = response.json()
            if response.status_code != 200:
                bad = [r for r in body.get("results", []) if r.get("status") == "invalid"]
                raise SyncError(f"{kind} batch from row {start} refused: {bad or body}")
            for name in totals:
                totals[name] += body[name]
        return totals

    def push(self, accounts: list[dict[str, Any]]) -> dict[str, int]:
        """Upsert accounts; counts of created, updated and unchanged."""
        return self._upsert("accounts", accounts)

    def push_deals(self, deals: list[dict[str, Any]]) -> dict[str, int]:
        """Upsert deals (each naming its account's external_id in `account`);
        counts of created, updated and unchanged."""
        return self._upsert("deals", deals)

    def remove_deals(self, external_ids: list[str]) -> dict[str, int]:
        """Remove the deals the CRM deleted; counts of deleted and not_found
        (already gone, or gone with their account: a repeat is harmless)."""
        totals = {"deleted": 0, "not_found": 0}
        for external_id in external_ids:
            response = self._send(
                "DELETE", f"{self.url}/api/v1/deals/{quote(external_id, safe='')}/"
            )
            if response.status_code == 404:
                totals["not_found"] += 1
            elif response.status_code == 204:
                totals["deleted"] += 1
            else:
                raise SyncError(f"deal removal refused ({response.status_code}): {response.text}")
        return totals

    def deals(self, account: str | None = None) -> list[dict[str, Any]]:
        """Every deal icpsite holds (of one account when given), newest first."""
        url: str | None = f"{self.url}/api/v1/deals/"
        query: dict[str, Any] | None = {"page_size": BATCH}
        if account is not None:
            query = {"page_size": BATCH, "account": account}
        found: list[dict[str, Any]] = []
        while url:
            response = self._send("GET", url, params=query)
            if response.status_code != 200:
                raise SyncError(f"deals refused ({response.status_code}): {response.text}")
            body = response.json()
            found.extend(body["results"])
            url, query = body["next"], None
        return found

    def remove(self, external_ids: list[str]) -> dict[str, int]:
        """Remove the accounts the CRM deleted, in batches; counts of deleted
        and not_found (already gone: a repeat is harmless)."""
        totals = {"deleted": 0, "not_found": 0}
        for start in range(0, len(external_ids), BATCH):
            batch = external_ids[start : start + BATCH]
            response = self._send(
                "POST", f"{self.url}/api/v1/accounts/bulk-delete/", json={"external_ids": batch}
            )
            if response.status_code != 200:
                raise SyncError(f"removal refused ({response.status_code}): {response.text}")
            for name in totals:
                totals[name] += response.json()[name]
        return totals

    def merge(self, into: str, merged: list[str]) -> dict[str, Any]:
        """Merge accounts the CRM merged into the survivor `into`."""
        response = self._send(
            "POST", f"{self.url}/api/v1/accounts/merge/", json={"into": into, "from": merged}
        )
        if response.status_code != 200:
            raise SyncError(f"merge refused ({response.status_code}): {response.text}")
        return dict(response.json())

    def pull(
        self, profile: str, cursor: str | None
    ) -> tuple[Iterator[dict[str, Any]], list[str | None]]:
        """Scores and removals since `cursor` (every score when None), page
        by page. The second value holds the new cursor once the iterator is
        spent. CursorRefusedError: the cursor is refused, sync from scratch."""
        params: dict[str, Any] = {"profile": profile, "page_size": BATCH}
        if cursor is not None:
            params["changed_since"] = cursor
        last: list[str | None] = [cursor]

        def rows() -> Iterator[dict[str, Any]]:
            url: str | None = f"{self.url}/api/v1/scores/"
            query: dict[str, Any] | None = params
            while url:
                response = self._send("GET", url, params=query)
                if response.status_code == 400 and "changed_since" in response.json():
                    raise CursorRefusedError(response.json()["changed_since"][0])
                if response.status_code != 200:
                    raise SyncError(f"pull refused ({response.status_code}): {response.text}")
                body = response.json()
                yield from body["results"]
                last[0] = body["cursor"]
                url, query = body["next"], None

        return rows(), last


def sync(client: Client, profile: str, state_path: Path) -> SyncResult:
    """Bring the local copy in the state file up to date; store the new cursor."""
    state = json.loads(state_path.read_text()) if state_path.exists() else {}
    records: dict[str, dict[str, Any]] = state.get("records", {})
    cursor = state.get("cursor")
    try:
        rows, last = client.pull(profile, cursor)
        items = list(rows)
    except CursorRefusedError:
        cursor = None
        rows, last = client.pull(profile, None)
        items = list(rows)
    if cursor is None:  # a full sync: the copy becomes what the server holds
        records = {}
    result = SyncResult()
    for item in items:
        external_id = item["external_id"]
        if item.get("deleted"):
            records.pop(external_id, None)
            result.removed.append(external_id)
        else:
            records[external_id] = item
            result.changed[external_id] = item
    state_path.write_text(json.dumps({"cursor": last[0], "records": records}))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--profile", required=True)
    parser.add_argument("--accounts", type=Path, help="a JSON array of accounts to push first")
    parser.add_argument("--deals", type=Path, help="a JSON array of deals to push next")
    parser.add_argument(
        "--merges", type=Path, help='a JSON array of {"into": ..., "from": [...]} merges'
    )
    parser.add_argument(
        "--removed", type=Path, help='JSON {"accounts": [...], "deals": [...]} of deleted ids'
    )
    parser.add_argument("--state", type=Path, default=Path("sync-state.json"))
    args = parser.parse_args()
    client = Client(args.url, args.key)
    if args.accounts:
        print("accounts pushed:", client.push(json.loads(args.accounts.read_text())))
    if args.deals:
        print("deals pushed:", client.push_deals(json.loads(args.deals.read_text())))
    for merge in json.loads(args.merges.read_text()) if args.merges else []:
        print("merged:", client.merge(merge["into"], merge["from"]))
    removed = json.loads(args.removed.read_text()) if args.removed else {}
    if removed.get("deals"):
        print("deals removed:", client.remove_deals(removed["deals"]))
    if removed.get("accounts"):
        print("accounts removed:", client.remove(removed["accounts"]))
    result = sync(client, args.profile, args.state)
    for external_id, row in result.changed.items():
        print(external_id, row["score"], row["effective_tier"], "; ".join(row["top_reasons"]))
    for external_id in result.removed:
        print(external_id, "removed")
    print(
        f"{len(result.changed)} accounts changed, {len(result.removed)} removed; "
        f"local copy and cursor kept in {args.state}"
    )


if __name__ == "__main__":
    main()
