"""Validate xAPI 1.0.3 statements (the Data part of the spec) and return them normalised.

Pure Python, no third-party imports: it runs on every statement Socle emits or receives, before the
statement is stored or forwarded. `validate_statement` raises `StatementError` on the first problem it
meets, with a precise path ("statement.context.contextActivities.parent[0].id") and an English message,
and otherwise returns a deep copy in which:

- `contextActivities` values given as a single Activity become one-element arrays;
- `objectType` is filled in where the spec defines a default: "Activity" for an Activity (statement
  object, context activities) and "Agent" for an Agent in actor, instructor, authority or group member
  position.

Nothing else is changed: no key is added, removed, re-cased or re-formatted.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

__all__ = [
    "VOIDED",
    "StatementError",
    "agent_ifi",
    "is_iri",
    "parse_timestamp",
    "same_statement",
    "validate_agent_param",
    "validate_statement",
]

VOIDED = "http://adlnet.gov/expapi/verbs/voided"


class StatementError(ValueError):
    """A statement (or agent parameter) that breaks a rule of xAPI 1.0.3; `path` says where."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(path, message)
        self.path = path
        self.message = message

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


# -- formats (compiled once) --------------------------------------------------------------------------

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# characters an IRI never contains unescaped: whitespace, controls, and <>"{}|\^`
_IRI_CHARS = r"[^\s\x00-\x1f\x7f<>\"{}|\\^`]"
_IRI = re.compile(rf"[A-Za-z][A-Za-z0-9+.\-]*:{_IRI_CHARS}+")
_IRL = re.compile(rf"[A-Za-z][A-Za-z0-9+.\-]*://{_IRI_CHARS}+")
_MBOX = re.compile(r"mailto:[^\s@<>\"(),;:\[\]\\]+@[^\s@<>\"(),;:\[\]\\]+")
_SHA1 = re.compile(r"[0-9a-fA-F]{40}")
_SHA2 = re.compile(r"[0-9a-fA-F]{56}|[0-9a-fA-F]{64}|[0-9a-fA-F]{96}|[0-9a-fA-F]{128}")
_VERSION = re.compile(r"1\.0(?:\.[0-9]+)?")
_TCHARS = r"[A-Za-z0-9!#$%&'*+.^_`|~\-]+"
_MEDIA_TYPE = re.compile(rf"{_TCHARS}/{_TCHARS}(?:[ \t]*;[ \t]*{_TCHARS}=(?:{_TCHARS}|\"[^\"\\]*\"))*[ \t]*")

# RFC 5646 language-tag: language[-script][-region]*(-variant)*(-extension)[-privateuse],
# a private-use tag ("x-..."), or one of the irregular grandfathered tags (the regular ones match the
# main production anyway). Matched case-insensitively.
_LANGTAG = re.compile(
    r"(?:"
    r"(?:[a-z]{2,3}(?:-[a-z]{3}){0,3}|[a-z]{4,8})"  # language, with up to three extlang
    r"(?:-[a-z]{4})?"  # script
    r"(?:-(?:[a-z]{2}|[0-9]{3}))?"  # region
    r"(?:-(?:[a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*"  # variants
    r"(?:-[0-9a-wyz](?:-[a-z0-9]{2,8})+)*"  # extensions
    r"(?:-x(?:-[a-z0-9]{1,8})+)?"  # private use
    r"|x(?:-[a-z0-9]{1,8})+"
    r"|en-gb-oed|i-ami|i-bnn|i-default|i-enochian|i-hak|i-klingon|i-lux|i-mingo|i-navajo|i-pwn"
    r"|i-tao|i-tay|i-tsu|sgn-be-fr|sgn-be-nl|sgn-ch-de"
    r")",
    re.IGNORECASE,
)

# ISO 8601 extended date-time with a mandatory offset (RFC 3339 profile, offsets ±hh:mm, ±hhmm or ±hh).
_TIMESTAMP = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:[.,]([0-9]+))?"
    r"(?:([Zz])|([+-])([0-9]{2})(?::?([0-9]{2}))?)"
)

# ISO 8601 duration as xAPI uses it: PnYnMnDTnHnMnS (decimal seconds), or PnW alone.
_DURATION = re.compile(
    r"P(?:[0-9]+W"
    r"|(?=[0-9]|T[0-9])(?:[0-9]+Y)?(?:[0-9]+M)?(?:[0-9]+D)?"
    r"(?:T(?=[0-9])(?:[0-9]+H)?(?:[0-9]+M)?(?:[0-9]+(?:\.[0-9]+)?S)?)?)"
)

_INTERACTION_TYPES = frozenset(
    (
        "true-false",
        "choice",
        "fill-in",
        "long-fill-in",
        "matching",
        "performance",
        "sequencing",
        "likert",
        "numeric",
        "other",
    )
)
# interaction component lists and the interaction types that may carry them
_COMPONENT_LISTS: dict[str, tuple[str, ...]] = {
    "choices": ("choice", "sequencing"),
    "scale": ("likert",),
    "source": ("matching",),
    "target": ("matching",),
    "steps": ("performance",),
}
_IFI_KEYS = ("mbox", "mbox_sha1sum", "openid", "account")
_FORBIDDEN_IN_SUBSTATEMENT = ("id", "stored", "version", "authority")
_CONTEXT_ACTIVITY_KEYS = ("parent", "grouping", "category", "other")
_SAME_STATEMENT_IGNORED = ("authority", "stored", "timestamp", "version")


# -- small helpers ------------------------------------------------------------------------------------


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if value is True or value is False:
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {_quote(value)}"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return f"a {type(value).__name__}"


def _quote(text: str) -> str:
    return json.dumps(text if len(text) <= 60 else text[:57] + "...", ensure_ascii=False)


def _key_path(path: str, key: Any) -> str:
    return f"{path}[{json.dumps(str(key), ensure_ascii=False)}]"


def _object(value: Any, path: str, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise StatementError(path, f"must be {what} (a JSON object), got {_describe(value)}")
    return value


def _array(value: Any, path: str, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise StatementError(path, f"must be an array of {what}, got {_describe(value)}")
    return value


def _json_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _json_copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_copy(item) for item in value]
    return value


Validator = Callable[[Any, str], Any]


def _fields(data: dict[str, Any], path: str, spec: dict[str, Validator], what: str) -> dict[str, Any]:
    """Validate every property of `data` with its validator; reject properties the spec does not define."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        validator = spec.get(key)
        if validator is None:
            raise StatementError(f"{path}.{key}", f"is not a property of {what} (allowed: {', '.join(spec)})")
        out[key] = validator(value, f"{path}.{key}")
    return out


def _require(data: dict[str, Any], key: str, path: str, what: str) -> None:
    if key not in data:
        raise StatementError(f"{path}.{key}", f"is required in {what}")


def _not_empty(data: dict[str, Any], path: str, what: str) -> None:
    if not data:
        raise StatementError(path, f"must not be an empty object; leave {what} out instead")


# -- scalar formats -----------------------------------------------------------------------------------


def _string(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise StatementError(path, f"must be a string, got {_describe(value)}")
    return value


def _non_empty_string(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value:
        raise StatementError(path, f"must be a non-empty string, got {_describe(value)}")
    return value


def _boolean(value: Any, path: str) -> bool:
    if value is not True and value is not False:
        raise StatementError(path, f"must be true or false, got {_describe(value)}")
    return value


def _number(value: Any, path: str) -> int | float:
    if type(value) is int:
        return value
    if type(value) is float and math.isfinite(value):
        return value
    raise StatementError(path, f"must be a number, got {_describe(value)}")


def _uuid(value: Any, path: str) -> str:
    if not isinstance(value, str) or not _UUID.fullmatch(value):
        raise StatementError(
            path, f"must be a UUID (like 9e13cefd-53d3-4eac-b5ed-2cf6693903bb), got {_describe(value)}"
        )
    return value


# IRIs already seen valid (verbs, extension keys and activity ids repeat in every statement); bounded.
_VALID_IRIS: set[str] = set()
_VALID_IRIS_MAX = 8192


def _is_iri(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    if value in _VALID_IRIS:
        return True
    if not _IRI.fullmatch(value):
        return False
    if len(_VALID_IRIS) >= _VALID_IRIS_MAX:
        _VALID_IRIS.clear()
    _VALID_IRIS.add(value)
    return True


def is_iri(value: Any) -> bool:
    """Whether `value` is an absolute IRI (as an activity or verb id must be)."""
    return bool(_is_iri(value))


def _iri(value: Any, path: str) -> str:
    if not _is_iri(value):
        raise StatementError(
            path, f"must be an absolute IRI (a scheme, ':', no spaces), got {_describe(value)}"
        )
    return value


def _irl(value: Any, path: str) -> str:
    if not isinstance(value, str) or not _IRL.fullmatch(value):
        raise StatementError(
            path, f"must be an IRL (an absolute IRI such as https://..., no spaces), got {_describe(value)}"
        )
    return value


def _language_tag_ok(tag: str) -> bool:
    if not _LANGTAG.fullmatch(tag):
        return False
    if len(tag) < 6 or "-" not in tag:
        return True
    # the regular expression cannot see repeats: no variant twice, no extension singleton twice
    subtags = tag.lower().split("-")
    variants: set[str] = set()
    singletons: set[str] = set()
    in_extensions = False
    for subtag in subtags[1:]:
        if subtag == "x":
            break
        if len(subtag) == 1:
            if subtag in singletons:
                return False
            singletons.add(subtag)
            in_extensions = True
        elif not in_extensions and (len(subtag) >= 5 or (len(subtag) == 4 and subtag[0].isdigit())):
            if subtag in variants:
                return False
            variants.add(subtag)
    return True


def _language_tag(value: Any, path: str) -> str:
    if not isinstance(value, str) or not _language_tag_ok(value):
        raise StatementError(
            path, f'must be an RFC 5646 language tag (like "fr" or "fr-FR"), got {_describe(value)}'
        )
    return value


def _language_map(value: Any, path: str) -> dict[str, str]:
    data = _object(value, path, "a language map")
    if not data:
        raise StatementError(path, "must be a language map with at least one entry")
    for key, text in data.items():
        if not isinstance(key, str) or not _language_tag_ok(key):
            raise StatementError(
                _key_path(path, key), 'is not an RFC 5646 language tag (like "fr" or "fr-FR")'
            )
        if not isinstance(text, str):
            raise StatementError(_key_path(path, key), f"must be a string, got {_describe(text)}")
    return dict(data)


def _extensions(value: Any, path: str) -> dict[str, Any]:
    data = _object(value, path, "an extensions object")
    for key in data:
        if not _is_iri(key):
            raise StatementError(
                _key_path(path, key), "is not an absolute IRI; extension keys must be IRIs (https://...)"
            )
    copied: dict[str, Any] = _json_copy(data)
    return copied


def parse_timestamp(value: Any, path: str = "timestamp") -> datetime:
    """Parse an xAPI timestamp (ISO 8601 with a time zone) into an aware datetime, or raise StatementError.

    Naive timestamps and the "unknown offset" -00:00 (also -00, -0000) are refused. Fractions beyond
    microseconds are truncated.
    """
    match = _TIMESTAMP.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise StatementError(
            path,
            "must be an ISO 8601 date-time with a time zone (like 2024-05-18T05:32:34.804Z or "
            f"2024-05-18T07:32:34+02:00), got {_describe(value)}",
        )
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    if zulu:
        tz = UTC
    else:
        hours, minutes = int(off_h), int(off_m or 0)
        if hours > 23 or minutes > 59:
            raise StatementError(path, f"has an impossible time-zone offset: {_describe(value)}")
        if sign == "-" and hours == 0 and minutes == 0:
            raise StatementError(
                path, "must not use the offset -00:00 (unknown local offset); use Z or +00:00"
            )
        offset = timedelta(hours=hours, minutes=minutes)
        tz = timezone(-offset if sign == "-" else offset)
    try:
        return datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            int((fraction or "0")[:6].ljust(6, "0")),
            tzinfo=tz,
        )
    except ValueError:
        raise StatementError(path, f"is not a real date and time: {_describe(value)}") from None


def _timestamp(value: Any, path: str) -> str:
    parse_timestamp(value, path)
    text: str = value
    return text


def _duration(value: Any, path: str) -> str:
    if not isinstance(value, str) or not _DURATION.fullmatch(value):
        raise StatementError(
            path,
            "must be an ISO 8601 duration PnYnMnDTnHnMnS (like PT1H30M or PT45.5S) or PnW alone, "
            f"got {_describe(value)}",
        )
    return value


def _version(value: Any, path: str) -> str:
    if not isinstance(value, str) or not _VERSION.fullmatch(value):
        raise StatementError(path, f'must be "1.0" or "1.0.x" (xAPI 1.0), got {_describe(value)}')
    return value


def _object_type(expected: str) -> Validator:
    def check(value: Any, path: str) -> str:
        if value != expected:
            raise StatementError(path, f'must be "{expected}", got {_describe(value)}')
        return expected

    return check


# -- agents and groups --------------------------------------------------------------------------------


def _mbox(value: Any, path: str) -> str:
    if not isinstance(value, str) or not _MBOX.fullmatch(value):
        raise StatementError(path, f'must be "mailto:" followed by an e-mail address, got {_describe(value)}')
    return value


def _sha1sum(value: Any, path: str) -> str:
    if not isinstance(value, str) or not _SHA1.fullmatch(value):
        raise StatementError(
            path, f"must be the SHA-1 of a mailto IRI (40 hexadecimal digits), got {_describe(value)}"
        )
    return value


_ACCOUNT_SPEC: dict[str, Validator] = {"homePage": _irl, "name": _non_empty_string}


def _account(value: Any, path: str) -> dict[str, Any]:
    data = _object(value, path, "an account")
    out = _fields(data, path, _ACCOUNT_SPEC, "an account")
    _require(out, "homePage", path, "an account")
    _require(out, "name", path, "an account")
    return out


_AGENT_SPEC: dict[str, Validator] = {
    "objectType": _object_type("Agent"),
    "name": _string,
    "mbox": _mbox,
    "mbox_sha1sum": _sha1sum,
    "openid": _iri,
    "account": _account,
}


def _count_ifis(data: dict[str, Any], path: str, what: str) -> int:
    found = [key for key in _IFI_KEYS if key in data]
    if len(found) > 1:
        raise StatementError(
            path,
            f"{what} must have exactly one identifier among mbox, mbox_sha1sum, openid, account; "
            f"found {len(found)} ({', '.join(found)})",
        )
    return len(found)


def _agent(value: Any, path: str) -> dict[str, Any]:
    data = _object(value, path, "an Agent")
    out = _fields(data, path, _AGENT_SPEC, "an Agent")
    if _count_ifis(out, path, "an Agent") == 0:
        raise StatementError(
            path, "an Agent must have exactly one identifier among mbox, mbox_sha1sum, openid, account"
        )
    return {"objectType": "Agent", **out}


def _member_agent(value: Any, path: str) -> dict[str, Any]:
    if isinstance(value, dict) and value.get("objectType") == "Group":
        raise StatementError(f"{path}.objectType", "the members of a Group must be Agents, not Groups")
    return _agent(value, path)


def _members(value: Any, path: str) -> list[dict[str, Any]]:
    items = _array(value, path, "Agents")
    return [_member_agent(item, f"{path}[{index}]") for index, item in enumerate(items)]


_GROUP_SPEC: dict[str, Validator] = {**_AGENT_SPEC, "objectType": _object_type("Group"), "member": _members}


def _group(value: Any, path: str) -> dict[str, Any]:
    data = _object(value, path, "a Group")
    _require(data, "objectType", path, "a Group")
    out = _fields(data, path, _GROUP_SPEC, "a Group")
    if _count_ifis(out, path, "an identified Group") == 0 and not out.get("member"):
        raise StatementError(
            f"{path}.member",
            "an anonymous Group (one without mbox, mbox_sha1sum, openid or account) must list its "
            "Agents in a non-empty member array",
        )
    return out


def _agent_or_group(value: Any, path: str) -> dict[str, Any]:
    """An Agent (objectType optional, defaults to "Agent") or a Group (objectType "Group")."""
    data = _object(value, path, "an Agent or a Group")
    if "objectType" not in data or data["objectType"] == "Agent":
        return _agent(data, path)
    if data["objectType"] == "Group":
        return _group(data, path)
    raise StatementError(
        f"{path}.objectType", f'must be "Agent" or "Group", got {_describe(data["objectType"])}'
    )


def _team(value: Any, path: str) -> dict[str, Any]:
    data = _object(value, path, "a Group")
    if "objectType" not in data:
        raise StatementError(f"{path}.objectType", 'is required: a team is a Group (objectType "Group")')
    if data["objectType"] != "Group":
        raise StatementError(
            f"{path}.objectType",
            f'must be "Group" (a team is a Group), got {_describe(data.get("objectType"))}',
        )
    return _group(data, path)


def _authority(value: Any, path: str) -> dict[str, Any]:
    data = _object(value, path, "an Agent or a Group")
    if data.get("objectType") != "Group":
        return _agent_or_group(data, path)
    if any(key in data for key in _IFI_KEYS):
        raise StatementError(
            path,
            "an authority Group stands for an OAuth consumer and a user: it must be anonymous "
            "(no mbox, mbox_sha1sum, openid or account)",
        )
    out = _group(data, path)
    if len(out["member"]) != 2:
        raise StatementError(
            f"{path}.member",
            "an authority Group must have exactly two Agents (OAuth consumer and user), "
            f"got {len(out['member'])}",
        )
    return out


# -- activities ---------------------------------------------------------------------------------------

_COMPONENT_SPEC: dict[str, Validator] = {"id": _non_empty_string, "description": _language_map}


def _components(value: Any, path: str) -> list[dict[str, Any]]:
    items = _array(value, path, "interaction components")
    out = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        item_path = f"{path}[{index}]"
        component = _fields(
            _object(item, item_path, "an interaction component"),
            item_path,
            _COMPONENT_SPEC,
            "an interaction component",
        )
        _require(component, "id", item_path, "an interaction component")
        if component["id"] in seen:
            raise StatementError(
                f"{item_path}.id", f"{_quote(component['id'])} appears twice in this list; ids must be unique"
            )
        seen.add(component["id"])
        out.append(component)
    return out


def _string_list(value: Any, path: str) -> list[str]:
    items = _array(value, path, "strings")
    for index, item in enumerate(items):
        if not isinstance(item, str):
            raise StatementError(f"{path}[{index}]", f"must be a string, got {_describe(item)}")
    return list(items)


def _interaction_type(value: Any, path: str) -> str:
    if not isinstance(value, str) or value not in _INTERACTION_TYPES:
        raise StatementError(
            path, f"must be one of {', '.join(sorted(_INTERACTION_TYPES))}, got {_describe(value)}"
        )
    return value


_DEFINITION_SPEC: dict[str, Validator] = {
    "name": _language_map,
    "description": _language_map,
    "type": _iri,
    "moreInfo": _irl,
    "extensions": _extensions,
    "interactionType": _interaction_type,
    "correctResponsesPattern": _string_list,
    "choices": _components,
    "scale": _components,
    "source": _components,
    "target": _components,
    "steps": _components,
}


def _definition(value: Any, path: str) -> dict[str, Any]:
    data = _object(value, path, "an Activity definition")
    # An empty definition ({}) is valid (xAPI 2.4.4.1: every property of a definition is optional).
    out = _fields(data, path, _DEFINITION_SPEC, "an Activity definition")
    interaction = out.get("interactionType")
    if interaction is None and "correctResponsesPattern" in out:
        raise StatementError(
            f"{path}.correctResponsesPattern", "requires an interactionType in the same definition"
        )
    for key, allowed in _COMPONENT_LISTS.items():
        if key in out and interaction not in allowed:
            given = f", not {_quote(interaction)}" if interaction else " (none given)"
            raise StatementError(
                f"{path}.{key}", f"is only allowed when interactionType is {' or '.join(allowed)}{given}"
            )
    return out


_ACTIVITY_SPEC: dict[str, Validator] = {
    "objectType": _object_type("Activity"),
    "id": _iri,
    "definition": _definition,
}


# Activities valid once are valid again: the same course, programme and module come back in every statement
# of a batch. Keyed by id, each entry holds a private copy of an activity that was valid and, when validating
# changed it, the validated form (as JSON text, so each hit decodes a fresh copy). An equal activity (dict
# equality, in C) is then valid without a second check; bounded.
_VALID_ACTIVITIES: dict[str, tuple[dict[str, Any], str | None]] = {}
_VALID_ACTIVITIES_MAX = 4096


def _activity(value: Any, path: str) -> dict[str, Any]:
    data = _object(value, path, "an Activity")
    known = _VALID_ACTIVITIES.get(data["id"]) if isinstance(data.get("id"), str) else None
    if known is not None and known[0] == data:
        if known[1] is None:
            return {"objectType": "Activity", **data}  # a copy of this request's own object
        copy: dict[str, Any] = json.loads(known[1])
        return copy
    out = _fields(data, path, _ACTIVITY_SPEC, "an Activity")
    _require(out, "id", path, "an Activity")
    activity = {"objectType": "Activity", **out}
    try:
        snapshot = json.loads(json.dumps(data, allow_nan=False))
    except (TypeError, ValueError):
        return activity  # not plain JSON data: not kept
    if len(_VALID_ACTIVITIES) >= _VALID_ACTIVITIES_MAX:
        _VALID_ACTIVITIES.clear()
    same = activity == {"objectType": "Activity", **snapshot}
    _VALID_ACTIVITIES[data["id"]] = (snapshot, None if same else json.dumps(activity, ensure_ascii=False))
    return activity


def _context_activities(value: Any, path: str) -> dict[str, list[dict[str, Any]]]:
    data = _object(value, path, "a contextActivities object")
    if not data:
        raise StatementError(
            path, "must not be empty; give at least one of parent, grouping, category, other"
        )
    out = {}
    for key, item in data.items():
        key_path = f"{path}.{key}"
        if key not in _CONTEXT_ACTIVITY_KEYS:
            raise StatementError(
                key_path,
                f"is not a property of contextActivities (allowed: {', '.join(_CONTEXT_ACTIVITY_KEYS)})",
            )
        if isinstance(item, dict):
            out[key] = [_activity(item, key_path)]
        elif isinstance(item, list):
            out[key] = [_activity(activity, f"{key_path}[{index}]") for index, activity in enumerate(item)]
        else:
            raise StatementError(
                key_path, f"must be an Activity or an array of Activities, got {_describe(item)}"
            )
    return out


# -- statement references, result, context, attachments ---------------------------------------------

_STATEMENT_REF_SPEC: dict[str, Validator] = {"objectType": _object_type("StatementRef"), "id": _uuid}


def _statement_ref(value: Any, path: str) -> dict[str, Any]:
    data = _object(value, path, "a StatementRef")
    _require(data, "objectType", path, "a StatementRef")
    out = _fields(data, path, _STATEMENT_REF_SPEC, "a StatementRef")
    _require(out, "id", path, "a StatementRef")
    return out


_SCORE_SPEC: dict[str, Validator] = {"scaled": _number, "raw": _number, "min": _number, "max": _number}


def _score(value: Any, path: str) -> dict[str, Any]:
    data = _object(value, path, "a score")
    out = _fields(data, path, _SCORE_SPEC, "a score")
    _not_empty(out, path, "the score")
    scaled, raw, low, high = out.get("scaled"), out.get("raw"), out.get("min"), out.get("max")
    if scaled is not None and not -1 <= scaled <= 1:
        raise StatementError(f"{path}.scaled", f"must be between -1 and 1, got {scaled!r}")
    if low is not None and high is not None and not low < high:
        raise StatementError(f"{path}.min", f"must be less than max ({high!r}), got {low!r}")
    if raw is not None and low is not None and raw < low:
        raise StatementError(f"{path}.raw", f"must not be below min ({low!r}), got {raw!r}")
    if raw is not None and high is not None and raw > high:
        raise StatementError(f"{path}.raw", f"must not exceed max ({high!r}), got {raw!r}")
    return out


_RESULT_SPEC: dict[str, Validator] = {
    "score": _score,
    "success": _boolean,
    "completion": _boolean,
    "response": _string,
    "duration": _duration,
    "extensions": _extensions,
}


def _result(value: Any, path: str) -> dict[str, Any]:
    out = _fields(_object(value, path, "a result"), path, _RESULT_SPEC, "a result")
    _not_empty(out, path, "the result")
    return out


_CONTEXT_SPEC: dict[str, Validator] = {
    "registration": _uuid,
    "instructor": _agent_or_group,
    "team": _team,
    "contextActivities": _context_activities,
    "revision": _string,
    "platform": _string,
    "language": _language_tag,
    "statement": _statement_ref,
    "extensions": _extensions,
}


def _context(value: Any, path: str) -> dict[str, Any]:
    out = _fields(_object(value, path, "a context"), path, _CONTEXT_SPEC, "a context")
    _not_empty(out, path, "the context")
    return out


def _length(value: Any, path: str) -> int:
    if type(value) is not int or value < 0:
        raise StatementError(path, f"must be a whole number of octets (0 or more), got {_describe(value)}")
    return value


def _sha2(value: Any, path: str) -> str:
    if not isinstance(value, str) or not _SHA2.fullmatch(value):
        raise StatementError(
            path, f"must be a SHA-2 hash in hexadecimal (SHA-256: 64 digits), got {_describe(value)}"
        )
    return value


def _content_type(value: Any, path: str) -> str:
    if not isinstance(value, str) or not _MEDIA_TYPE.fullmatch(value):
        raise StatementError(
            path, f'must be an Internet media type (like "application/pdf"), got {_describe(value)}'
        )
    return value


_ATTACHMENT_SPEC: dict[str, Validator] = {
    "usageType": _iri,
    "display": _language_map,
    "description": _language_map,
    "contentType": _content_type,
    "length": _length,
    "sha2": _sha2,
    "fileUrl": _irl,
}
_ATTACHMENT_REQUIRED = ("usageType", "display", "contentType", "length", "sha2")


def _attachments(value: Any, path: str) -> list[dict[str, Any]]:
    items = _array(value, path, "attachments")
    out = []
    for index, item in enumerate(items):
        item_path = f"{path}[{index}]"
        attachment = _fields(
            _object(item, item_path, "an attachment"), item_path, _ATTACHMENT_SPEC, "an attachment"
        )
        for key in _ATTACHMENT_REQUIRED:
            _require(attachment, key, item_path, "an attachment")
        out.append(attachment)
    return out


_VERB_SPEC: dict[str, Validator] = {"id": _iri, "display": _language_map}


def _verb(value: Any, path: str) -> dict[str, Any]:
    out = _fields(_object(value, path, "a verb"), path, _VERB_SPEC, "a verb")
    _require(out, "id", path, "a verb")
    return out


# -- statements ---------------------------------------------------------------------------------------


def _statement_object(value: Any, path: str, *, in_substatement: bool) -> dict[str, Any]:
    data = _object(value, path, "an Activity, Agent, Group, StatementRef or SubStatement")
    if "objectType" not in data:
        if any(key in data for key in (*_IFI_KEYS, "member")):
            raise StatementError(f"{path}.objectType", "is required when the object is an Agent or a Group")
        if "actor" in data or "verb" in data:
            raise StatementError(
                f"{path}.objectType", 'is required ("SubStatement") when the object is a statement'
            )
        return _activity(data, path)
    object_type = data["objectType"]
    if object_type == "Activity":
        return _activity(data, path)
    if object_type == "Agent":
        return _agent(data, path)
    if object_type == "Group":
        return _group(data, path)
    if object_type == "StatementRef":
        return _statement_ref(data, path)
    if object_type == "SubStatement":
        if in_substatement:
            raise StatementError(f"{path}.objectType", "a SubStatement cannot contain another SubStatement")
        return _statement(data, path, is_substatement=True)
    raise StatementError(
        f"{path}.objectType",
        'must be "Activity", "Agent", "Group", "StatementRef" or "SubStatement", '
        f"got {_describe(object_type)}",
    )


def _top_object(value: Any, path: str) -> dict[str, Any]:
    return _statement_object(value, path, in_substatement=False)


def _sub_object(value: Any, path: str) -> dict[str, Any]:
    return _statement_object(value, path, in_substatement=True)


_STATEMENT_SPEC: dict[str, Validator] = {
    "id": _uuid,
    "actor": _agent_or_group,
    "verb": _verb,
    "object": _top_object,
    "result": _result,
    "context": _context,
    "timestamp": _timestamp,
    "stored": _timestamp,
    "authority": _authority,
    "version": _version,
    "attachments": _attachments,
}
_SUBSTATEMENT_SPEC: dict[str, Validator] = {
    "objectType": _object_type("SubStatement"),
    "actor": _agent_or_group,
    "verb": _verb,
    "object": _sub_object,
    "result": _result,
    "context": _context,
    "timestamp": _timestamp,
    "attachments": _attachments,
}


def _statement(data: dict[str, Any], path: str, *, is_substatement: bool) -> dict[str, Any]:
    if is_substatement:
        for key in _FORBIDDEN_IN_SUBSTATEMENT:
            if key in data:
                raise StatementError(f"{path}.{key}", "is not allowed in a SubStatement")
        _require(data, "objectType", path, "a SubStatement")
        out = _fields(data, path, _SUBSTATEMENT_SPEC, "a SubStatement")
    else:
        out = _fields(data, path, _STATEMENT_SPEC, "a Statement")
    what = "a SubStatement" if is_substatement else "a Statement"
    for key in ("actor", "verb", "object"):
        _require(out, key, path, what)
    object_type = out["object"]["objectType"]
    context = out.get("context")
    if context is not None and object_type != "Activity":
        for key in ("revision", "platform"):
            if key in context:
                raise StatementError(
                    f"{path}.context.{key}",
                    f"is only allowed when the statement's object is an Activity (here: {object_type})",
                )
    if not is_substatement and out["verb"]["id"] == VOIDED and object_type != "StatementRef":
        raise StatementError(
            f"{path}.object",
            f"a voiding statement (verb {VOIDED}) must have a StatementRef as its object, got {object_type}",
        )
    return out


# In UTF-8 JSON text, a NUL or a lone surrogate can only come from an escape: \u0000, \uD800 to \uDFFF.
_UNSTORABLE_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


def may_hold_unstorable(text: bytes) -> bool:
    """Whether JSON text may decode to a NUL or a lone surrogate. False is certain for UTF-8 text (no NUL
    byte, so not UTF-16 or UTF-32) with none of those escapes; True only means "look" (a surrogate pair's
    escapes, an escaped backslash before "u0000", or another encoding also answer True)."""
    return b"\x00" in text or _UNSTORABLE_ESCAPE.search(text) is not None


def _refuse_unstorable(data: Any, root: str) -> None:
    """A NUL or a lone surrogate anywhere (an actor's name, an object's id, a key): UTF-8 cannot encode a
    surrogate and PostgreSQL text cannot hold a NUL, so storing either was a 500; it is a 400 here.

    The usual statement holds neither, and a quick look (no paths, ASCII strings judged by a flag) says so;
    only a statement that may hold one is walked again, to name where."""
    try:
        if _storable(data):
            return
    except RecursionError:
        pass  # nested too deeply for the quick look: the walk below has no recursion
    stack: list[tuple[Any, str]] = [(data, root)]
    while stack:
        item, path = stack.pop()
        if isinstance(item, dict):
            stack.extend((key, path) for key in item)
            stack.extend((value, f"{path}.{key}") for key, value in item.items() if isinstance(key, str))
        elif isinstance(item, list):
            stack.extend((value, f"{path}[{index}]") for index, value in enumerate(item))
        elif isinstance(item, str) and ("\x00" in item or not _encodable(item)):
            shown = path if _encodable(path) and "\x00" not in path else root
            raise StatementError(shown, "holds a NUL or an unpaired surrogate, which cannot be stored")


def _storable(item: Any) -> bool:
    """No NUL and no lone surrogate in this value's strings and keys (one call per object or array: the
    strings, most of them ASCII, are judged in place)."""
    if isinstance(item, str):
        return "\x00" not in item and (item.isascii() or _encodable(item))
    if isinstance(item, dict):
        for key in item:
            if isinstance(key, str) and ("\x00" in key or not (key.isascii() or _encodable(key))):
                return False
        values: Any = item.values()
    elif isinstance(item, list):
        values = item
    else:
        return True
    for value in values:
        if isinstance(value, str):
            if "\x00" in value or not (value.isascii() or _encodable(value)):
                return False
        elif isinstance(value, (dict, list)) and not _storable(value):
            return False
    return True


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def validate_statement(data: Any, *, is_substatement: bool = False, screened: bool = False) -> dict[str, Any]:
    """Check `data` against xAPI 1.0.3; return a normalised deep copy or raise StatementError (first problem).

    With `is_substatement=True`, `data` is validated as a SubStatement (objectType "SubStatement", no id,
    stored, version or authority, no nested SubStatement); paths then start with "substatement".
    `screened`: the caller read the JSON text `data` came from and found no escape that could make a NUL or
    a lone surrogate (``may_hold_unstorable``), so that check is not made again here.
    """
    root = "substatement" if is_substatement else "statement"
    if not isinstance(data, dict):
        raise StatementError(root, f"must be a JSON object, got {_describe(data)}")
    if not screened:
        _refuse_unstorable(data, root)
    try:
        return _statement(data, root, is_substatement=is_substatement)
    except RecursionError as error:
        raise StatementError(root, "is nested too deeply (an extension value, most likely)") from error


def same_statement(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether `b` resends `a`: equal once authority, stored, timestamp and version are set aside.

    Both are normalised first, so an absent objectType "Activity"/"Agent" equals a present one and a
    single context activity equals a one-element array. Arrays compare in order. Raises StatementError
    if either is not a valid statement.
    """
    left = {key: value for key, value in a.items() if key not in _SAME_STATEMENT_IGNORED}
    right = {key: value for key, value in b.items() if key not in _SAME_STATEMENT_IGNORED}
    return validate_statement(left) == validate_statement(right)


# -- the agent parameter of GET /statements ----------------------------------------------------------


def validate_agent_param(data: Any) -> dict[str, Any]:
    """Validate the `agent` query parameter (already JSON-decoded): an Agent or an identified Group.

    A JSON string is decoded first. Returns the normalised Agent or Group; its identifier is
    `agent_ifi(result)`.
    """
    path = "agent"
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError:
            raise StatementError(path, "must be a JSON object (an Agent or an identified Group)") from None
    _refuse_unstorable(data, path)
    agent = _agent_or_group(data, path)
    if agent["objectType"] == "Group" and not any(key in agent for key in _IFI_KEYS):
        raise StatementError(
            path, "must be an Agent or an identified Group (with one of mbox, mbox_sha1sum, openid, account)"
        )
    return agent


def agent_ifi(agent: dict[str, Any]) -> str:
    """The identifier of an Agent or identified Group as one canonical string.

    "mbox:mailto:x@example.org", "mbox_sha1sum:<40 lowercase hex>", "openid:<uri>",
    "account:<homePage>|<name>". Raises StatementError if there is not exactly one identifier (an
    anonymous Group has none).
    """
    found = [key for key in _IFI_KEYS if key in agent]
    if len(found) != 1:
        raise StatementError(
            "agent",
            f"has {len(found)} identifiers; exactly one of mbox, mbox_sha1sum, openid, account is needed",
        )
    key = found[0]
    value = agent[key]
    if key == "account":
        if not isinstance(value, dict) or "homePage" not in value or "name" not in value:
            raise StatementError("agent.account", "must have a homePage and a name")
        return f"account:{value['homePage']}|{value['name']}"
    if not isinstance(value, str):
        raise StatementError(f"agent.{key}", f"must be a string, got {_describe(value)}")
    if key == "mbox_sha1sum":
        value = value.lower()
    return f"{key}:{value}"
