"""What a request names: ids and slugs in the path, the query, the body's fields.

The routes let any path segment reach the view, which checks it here, so a
malformed id answers the same JSON 404 as a missing one rather than the
site's HTML page. A slug is checked before any query, since the database
answers a NUL character with an error rather than with no row.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from rest_framework import exceptions, serializers
from rest_framework.request import Request

ANY_SEGMENT = r"[^/]+"
# Any text, slashes and line breaks included (a CRM's id is free text).
ANY_TEXT = r"[\s\S]+"

_M = TypeVar("_M", bound=Model)

_ID = re.compile(r"[0-9]{1,18}")
_SLUG = re.compile(r"[-\w]+")


def id_in_path(value: str, what: str) -> int:
    """The id in a path segment, or a 404 naming what was not found."""
    if not _ID.fullmatch(value):
        raise exceptions.NotFound(f"No {what} {value!r}.")
    return int(value)


def row_in_path(rows: QuerySet[_M], value: str) -> _M:
    """The row of `rows` whose id a path segment holds, or a 404."""
    name = rows.model._meta.verbose_name
    found = rows.filter(pk=id_in_path(value, str(name))).first()
    if found is None:
        raise exceptions.NotFound(f"No {name} {value}.")
    return found


def slug_in_path(value: str, what: str) -> str:
    if not _SLUG.fullmatch(value):
        raise exceptions.NotFound(f"No {what} {value!r}.")
    return value


def text_in_path(value: str, what: str) -> str:
    """Free text in a path segment (a CRM's id); NUL cannot be in any row."""
    if "\x00" in value:
        raise exceptions.NotFound(f"No {what} {value!r}.")
    return value


def unknown_names(given: Iterable[str], taken: Iterable[str], kind: str) -> dict[str, list[str]]:
    """The errors for the names in `given` that are not in `taken`, each
    naming what is taken: a misspelt or read-only name (`statuss`,
    `changed_sinse`) would otherwise be dropped without a word."""
    taken = list(taken)
    takes = ", ".join(taken) or "none"
    return {
        name: [f"Unknown {kind}; this endpoint takes {takes}."]
        for name in sorted(set(given) - set(taken))
    }


def valid_query(
    request: Request,
    serializer_class: type[serializers.Serializer[Any]] | None,
    *,
    also: Iterable[str] = (),
) -> Any:
    """The query parameters checked by a serializer (None: the endpoint takes
    none). A parameter it does not take is refused, naming the ones it does,
    since a misspelt filter would otherwise answer everything; `also` names
    parameters read elsewhere (a FilterSet's). A parameter given with no
    value is refused too, since it reads as a filter the client forgot to fill."""
    taken = [*(serializer_class().fields if serializer_class else ()), *also]
    unknown = unknown_names(request.query_params, taken, "parameter")
    if unknown:
        raise exceptions.ValidationError(unknown)
    empty = sorted(k for k, v in request.query_params.lists() if any(not x for x in v))
    if empty:
        raise exceptions.ValidationError(
            {name: ["Give a value or leave the parameter out."] for name in empty}
        )
    if serializer_class is None:
        return {}
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data


def valid_body(
    request: Request, serializer_class: type[serializers.BaseSerializer[Any]], **options: Any
) -> Any:
    """The JSON body checked by a serializer. A field it does not take is
    refused, naming the ones it does, as an unknown query parameter is: a
    misspelt or read-only field (`statuss`, `approved_by`) would otherwise be
    dropped without a word."""
    data = request.data
    fields = getattr(serializer_class(), "fields", None)
    if isinstance(data, dict) and fields is not None:
        unknown = unknown_names(data, fields, "field")
        if unknown:
            raise exceptions.ValidationError(unknown)
    serializer = serializer_class(data=data, **options)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
