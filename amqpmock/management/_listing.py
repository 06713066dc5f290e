"""What a GET's query asks of its answer, as RabbitMQ 3.10.8's ``rabbit_mgmt_util`` does
it: ``name`` / ``use_regex`` filters and ``page`` / ``page_size`` (only with ``page``),
``sort`` / ``sort_reverse`` (lists), then ``columns`` (lists, one object, a page's items).

Rules (observed):
- ``sort=a.b``: by the dotted path, a missing value counting as 0; values in Erlang's
  term order (numbers < booleans and null < objects and arrays < strings, strings by
  their octets); ties keep the default order. ``sort_reverse=true`` reverses the list,
  with or without ``sort``; a value other than ``true`` / ``false`` is a 500 (no body).
- ``columns=a,b.c``: only those fields; a dotted path looks into an object RabbitMQ keeps
  as an Erlang proplist, and an object left with nothing is ``[]``; objects it keeps as
  maps (``Whole``: a queue's ``arguments``, a connection's ``client_properties``, the
  overview's totals ...) come whole; arrays are filtered item by item. ``columns=``
  (nothing) leaves ``[]`` of each item. The list is sorted before the columns are cut,
  but for the lists RabbitMQ answers with ``reply_list`` (``Response.sort_keys``:
  bindings, permissions), which are cut first and then sorted by their default keys
  (bindings: vhost, source, type, destination, routing_key, properties_key, where no
  binding has a ``type``; permissions: vhost, user) as the cut items hold them.
"""

from __future__ import annotations

import re
from typing import Any

from amqpmock.management._api import Response
from amqpmock.management._errors import bad_request
from amqpmock.management._values import crashed

MAX_PAGE_SIZE = 500


class Whole(dict[str, Any]):
    """A JSON object RabbitMQ holds as an Erlang map: ``columns=`` takes it whole."""


def shape(response: Response, query: dict[str, str]) -> Response:
    """A GET's 200 answer as its query asks (``page``, ``sort``, ``columns``)."""
    body = response.body
    if isinstance(body, list):
        reverse = query.get("sort_reverse", "false")
        if reverse not in ("true", "false"):
            raise crashed()
        if response.sort_keys is not None:
            return _reply_list(body, response.sort_keys, query, reverse == "true", response)
        body = _sorted(body, query.get("sort", ""), reverse == "true")
        if "page" in query:
            page = paginate(body, query)
            if "columns" in query:
                page["items"] = columns(page["items"], query["columns"])
            return Response(200, page, response.headers)
    if "columns" in query and isinstance(body, dict | list):
        body = columns(body, query["columns"])
    return Response(response.status, body, response.headers)


# --- sort --------------------------------------------------------------------------------


def _term_key(value: Any) -> tuple[Any, ...]:
    """A JSON value's place in Erlang's term order."""
    if isinstance(value, bool) or value is None:
        return (1, "null" if value is None else str(value).lower())
    if isinstance(value, int | float):
        return (0, value)
    if isinstance(value, str):
        return (3, value.encode())
    if isinstance(value, dict):
        return (2, tuple((k.encode(), _term_key(v)) for k, v in value.items()))
    return (2, tuple(_term_key(v) for v in value))


def _dotted(item: Any, path: list[str]) -> Any:
    for key in path:
        if not isinstance(item, dict) or key not in item:
            return 0
        item = item[key]
    return item


def _sorted(items: list[Any], sort: str, reverse: bool) -> list[Any]:
    path = [part for part in sort.split(".") if part]
    if path:
        items = sorted(items, key=lambda item: _term_key(_dotted(item, path)))
    return items[::-1] if reverse else items


def _reply_list(
    items: list[Any],
    keys: tuple[str, ...],
    query: dict[str, str],
    reverse: bool,
    response: Response,
) -> Response:
    """A list as ``rabbit_mgmt_util:reply_list`` answers it: cut to its ``columns``
    first, then sorted by ``sort`` and the default keys as the cut items hold them (a
    key cut away counts as 0), ties by the whole item; ``sort=`` (empty) leaves the
    order as it is."""
    if "columns" in query:
        items = columns(items, query["columns"])
    sort = query.get("sort")
    if sort != "":
        paths = [[p for p in key.split(".") if p] for key in ([sort] if sort else []) + list(keys)]
        items = sorted(
            items,
            key=lambda item: (
                tuple(_term_key(_dotted(item, path)) for path in paths),
                _term_key(item),
            ),
        )
    if reverse:
        items = items[::-1]
    if "page" in query:
        return Response(200, paginate(items, query), response.headers)
    return Response(200, items, response.headers)


# --- pages -------------------------------------------------------------------------------


def paginate(items: list[Any], query: dict[str, str]) -> dict[str, Any]:
    """A page of a list: filtered by ``name`` (a case-insensitive substring, or a
    regular expression with ``use_regex=true``), then cut into ``page_size`` items (at
    most 500)."""
    try:
        page = int(query.get("page", "1"))
        size = int(query.get("page_size", "100"))
    except ValueError:
        raise bad_request("invalid_pagination_parameters") from None
    if page < 1 or size < 1 or size > MAX_PAGE_SIZE:
        raise bad_request("invalid_pagination_parameters")
    total = len(items)
    name = query.get("name", "")
    if name:
        if query.get("use_regex", "false").lower() == "true":
            try:
                pattern = re.compile(name, re.IGNORECASE)
            except re.error:
                raise bad_request("invalid_regex") from None
            items = [i for i in items if pattern.search(str(_name(i)))]
        else:
            items = [i for i in items if name.lower() in str(_name(i)).lower()]
    pages = max(1, -(-len(items) // size))
    if page > pages:
        raise bad_request(f"page out of range, page count is {pages}")
    chunk = items[(page - 1) * size : page * size]
    return {
        "filtered_count": len(items),
        "item_count": len(chunk),
        "items": chunk,
        "page": page,
        "page_count": pages,
        "page_size": size,
        "total_count": total,
    }


def _name(item: Any) -> Any:
    return item.get("name", "") if isinstance(item, dict) else ""


# --- columns -----------------------------------------------------------------------------


def columns(body: Any, spec: str) -> Any:
    """``body`` with only the fields of ``spec`` (``a,b.c``)."""
    paths = [[p for p in column.split(".") if p] for column in spec.split(",")]
    return _extract(body, [p for p in paths if p])


def _extract(value: Any, paths: list[list[str]] | None) -> Any:
    """``paths`` None: all of ``value``."""
    if paths is None or isinstance(value, Whole):
        return value
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            wanted, tails = _descend(key, paths)
            if wanted:
                out[key] = _extract(item, tails)
        return out or []  # an empty Erlang proplist is a JSON list
    if isinstance(value, list):
        return [_extract(item, paths) for item in value]
    return value


def _descend(key: str, paths: list[list[str]]) -> tuple[bool, list[list[str]] | None]:
    """Whether ``key`` is wanted, and the paths below it (None: all of it)."""
    tails = []
    for path in paths:
        if path[0] == key:
            if len(path) == 1:
                return True, None
            tails.append(path[1:])
    return bool(tails), tails
