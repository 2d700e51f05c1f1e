"""Every boundary parses, once: the numbers, ids, dates and text a request carries.

Each parser answers the value or raises a 400 that names the field and says what to send instead, so
malformed input never reaches the database (where it would be a 500: ``int("²")``, an id past the
column, a year-1 date that cannot move to UTC, a lone surrogate that UTF-8 cannot encode, a NUL that
PostgreSQL text refuses).
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any

from flask import Flask, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import IntegerConverter

from lti_tool.errors import InvalidInput, Message

# Every id column is an SQL INTEGER (32-bit signed on PostgreSQL): nothing above names a row.
MAX_ID = 2**31 - 1
# Deeper JSON than this is no LTI claim or xAPI document anyone sends; json.dumps would recurse into it.
MAX_JSON_DEPTH = 64
# Dates people plan for: a year outside this cannot be meant, and year 1 cannot even move to UTC.
MIN_YEAR, MAX_YEAR = 1970, 2999
FORM_MIMETYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

_AGAIN = Message(
    "Corrigez la valeur et renvoyez le formulaire depuis la page affichée.",
    "Correct the value and send the form again from the page shown.",
)


def refuse(field: str, fr: str, en: str, *, code: str | None = None) -> InvalidInput:
    """The 400 for one field: what is wrong with it, in both languages."""
    return InvalidInput(
        Message(f"« {field} » : {fr}", f"“{field}”: {en}"), _AGAIN, code=code or f"bad_{field}"
    )


def integer(raw: str | None, field: str, *, low: int = 0, high: int = MAX_ID, code: str | None = None) -> int:
    """A whole number written in ASCII digits, from ``low`` to ``high``."""
    value = (raw or "").strip()
    # str.isdigit() also says yes to "²" and "٣", which int() refuses or reads; only 0-9 are numbers here.
    if not value or not value.isascii() or not value.isdigit() or len(value) > len(str(high)):
        raise refuse(
            field,
            f"donnez un nombre entier de {low} à {high}.",
            f"give a whole number from {low} to {high}.",
            code=code,
        )
    number = int(value)
    if not low <= number <= high:
        raise refuse(
            field,
            f"donnez un nombre entier de {low} à {high}.",
            f"give a whole number from {low} to {high}.",
            code=code,
        )
    return number


def identifier(raw: str | None, field: str, *, code: str | None = None) -> int:
    """A row id: ASCII digits, within the id column."""
    return integer(raw, field, low=0, high=MAX_ID, code=code)


def row_id(raw: str | None) -> int | None:
    """An id that may name a row, or None (for callers where anything else simply names nothing)."""
    value = raw or ""
    if not value.isascii() or not value.isdigit() or len(value) > len(str(MAX_ID)) or int(value) > MAX_ID:
        return None
    return int(value)


def local_datetime(raw: str | None, field: str, zone: tzinfo, *, code: str | None = None) -> datetime:
    """A date and time (ISO, as a datetime-local field sends it), in ``zone`` when it names none, as UTC."""
    value = (raw or "").strip()
    try:
        parsed = datetime.fromisoformat(value) if value.isascii() and len(value) <= 40 else None
    except ValueError:
        parsed = None
    if parsed is None or not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise refuse(
            field,
            f"donnez une date et une heure valides (AAAA-MM-JJTHH:MM, entre {MIN_YEAR} et {MAX_YEAR}).",
            f"give a valid date and time (YYYY-MM-DDTHH:MM, between {MIN_YEAR} and {MAX_YEAR}).",
            code=code,
        )
    local = parsed.replace(tzinfo=zone) if parsed.tzinfo is None else parsed
    return local.astimezone(UTC)


def bad_text(value: str) -> str | None:
    """Why a text cannot be stored (a NUL, a lone surrogate), or None when it can."""
    if "\x00" in value:
        return "NUL"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "surrogate"
    return None


def json_depth_exceeds(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether a decoded JSON value nests deeper than ``limit`` (walked without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def json_strings_bad(value: Any) -> bool:
    """Whether any key or string in a decoded JSON value holds a NUL or a lone surrogate."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if bad_text(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


class IdConverter(IntegerConverter):
    """``<int:…>`` in a route: ASCII digits within the id column, else the URL names nothing (404).

    Werkzeug's own converter takes any length, so ``/runs/99999999999999999999/…`` reached the database
    and failed there with a 500.
    """

    regex = r"[0-9]{1,10}"

    def __init__(
        self,
        map: Any,
        fixed_digits: int = 0,
        min: int | None = None,
        max: int | None = None,
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits, min, MAX_ID if max is None else max, signed=False)


def refuse_unstorable_text() -> None:
    """Before every request: no NUL and no lone surrogate in the path, the query string or the form.

    PostgreSQL text cannot hold a NUL and UTF-8 cannot encode a surrogate, so either one reaching a query
    was a 500 wherever a view forgot to check; here it is one 400 naming the field, for every route."""
    fields: list[tuple[str, str]] = [("url", request.path)]
    fields += [(key, value) for key, value in request.args.items(multi=True)]
    if request.method in ("POST", "PUT", "PATCH") and request.mimetype in FORM_MIMETYPES:
        try:
            fields += [(key, value) for key, value in request.form.items(multi=True)]
        except RequestEntityTooLarge:
            # Over the app's limit: a view may allow more (the pasted credential of /verify) and parses
            # the form itself, with its own checks; otherwise the same 413 follows there.
            pass
    for key, value in fields:
        if bad_text(key) or bad_text(value):
            raise refuse(
                key if not bad_text(key) else "?",
                "la valeur contient un caractère invalide (NUL ou demi-caractère).",
                "the value holds an invalid character (NUL or half a character).",
                code="bad_text",
            )


def init_app(app: Flask) -> None:
    # Before any rule is added: every <int:…> in a route is then bounded to the id column.
    app.url_map.converters["int"] = IdConverter
    app.before_request(refuse_unstorable_text)
