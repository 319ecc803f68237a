"""A small CRM sync client for icpsite's API: push accounts, pull scores.

    python examples/crm_sync.py --url http://127.0.0.1:8000 --key icp_... \\
        --profile mid-market-saas --accounts accounts.json --state sync-state.json

The first run pulls every score (an initial sync); later runs pull only the
accounts whose score, tier, effective tier or override changed since the
cursor kept in the state file (an incremental sync). Pushes go in batches of
1,000 and stop at the first refused batch, naming its bad rows.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests

BATCH = 1000


class SyncError(Exception):
    pass


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

    def push(self, accounts: list[dict[str, Any]]) -> dict[str, int]:
        """Upsert accounts in batches; counts of created, updated and unchanged."""
        totals = {"created": 0, "updated": 0, "unchanged": 0}
        for start in range(0, len(accounts), BATCH):
            batch = accounts[start : start + BATCH]
            response = self._send(
                "POST", f"{self.url}/api/v1/accounts/bulk-upsert/", json={"accounts": batch}
            )
            body = response.json()
            if response.status_code != 200:
                bad = [r for r in body.get("results", []) if r.get("status") == "invalid"]
                raise SyncError(f"batch from row {start} refused: {bad or body}")
            for name in totals:
                totals[name] += body[name]
        return totals

    def pull(self, profile: str, cursor: int | None) -> tuple[Iterator[dict[str, Any]], list[int]]:
        """Scores changed since `cursor` (all of them when None), page by page.
        The second value holds the new cursor once the iterator is spent."""
        params: dict[str, Any] = {"profile": profile, "page_size": BATCH}
        if cursor is not None:
            params["changed_since"] = cursor
        last = [cursor or 0]

        def rows() -> Iterator[dict[str, Any]]:
            url: str | None = f"{self.url}/api/v1/scores/"
            query: dict[str, Any] | None = params
            while url:
                response = self._send("GET", url, params=query)
                if response.status_code != 200:
                    raise SyncError(f"pull refused ({response.status_code}): {response.text}")
                body = response.json()
                yield from body["results"]
                last[0] = body["cursor"]
                url, query = body["next"], None

        return rows(), last


def sync(client: Client, profile: str, state_path: Path) -> dict[str, dict[str, Any]]:
    """Pull what changed since the stored cursor; store the new cursor."""
    state = json.loads(state_path.read_text()) if state_path.exists() else {}
    rows, cursor = client.pull(profile, state.get("cursor"))
    changed = {row["external_id"]: row for row in rows}
    state_path.write_text(json.dumps({"cursor": cursor[0]}))
    return changed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--profile", required=True)
    parser.add_argument("--accounts", type=Path, help="a JSON array of accounts to push first")
    parser.add_argument("--state", type=Path, default=Path("sync-state.json"))
    args = parser.parse_args()
    client = Client(args.url, args.key)
    if args.accounts:
        print("pushed:", client.push(json.loads(args.accounts.read_text())))
    changed = sync(client, args.profile, args.state)
    for external_id, row in changed.items():
        print(external_id, row["score"], row["effective_tier"], "; ".join(row["top_reasons"]))
    print(f"{len(changed)} accounts changed; cursor kept in {args.state}")


if __name__ == "__main__":
    main()
