"""The hostile-input corpus: the small bodies are files beside this one, the
big ones are made here, and the mutations turn each endpoint's valid body
into a hostile one (every text with a lone surrogate, with NUL, every
number huge, every value of the wrong type)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from icpsite.api.parsers import MAX_BODY_BYTES

HERE = Path(__file__).parent


def stored_bodies() -> dict[str, bytes]:
    return {
        path.name: path.read_bytes()
        for path in sorted(HERE.iterdir())
        if path.suffix in (".json", ".txt")
    }


def generated_bodies() -> dict[str, bytes]:
    return {
        "deep.json": b'{"accounts":' + b"[" * 1000 + b"]" * 1000 + b"}",
        # The repeat comes last, so finding it means reading every key.
        "many_keys.json": (
            "{" + "".join(f'"k{i}": 1, ' for i in range(80_000)) + '"k0": 2}'
        ).encode(),
        "too_big.json": b'{"note": "' + b"x" * MAX_BODY_BYTES + b'"}',
    }


def csv_files() -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(HERE.glob("*.csv"))}


def _map(value: Any, change: Callable[[Any], Any]) -> Any:
    if isinstance(value, dict):
        return {k: _map(v, change) for k, v in value.items()}
    if isinstance(value, list):
        return [_map(v, change) for v in value]
    return change(value)


def _texts(suffix: str) -> Callable[[Any], Any]:
    def change(data: Any) -> Any:
        return _map(data, lambda v: v + suffix if isinstance(v, str) else v)

    return change


def _huge(data: Any) -> Any:
    def change(v: Any) -> Any:
        if isinstance(v, int) and not isinstance(v, bool):
            return 10**30
        return v

    return _map(data, change)


def _wrong_types(data: Any) -> Any:
    return {key: {"wrong": [1]} for key in data} if isinstance(data, dict) else data


MUTATIONS: dict[str, Callable[[Any], Any]] = {
    "surrogate": _texts("\ud83d"),
    "nul": _texts("\x00"),
    "huge_numbers": _huge,
    "wrong_types": _wrong_types,
}
