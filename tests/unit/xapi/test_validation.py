"""xapi.validation: every xAPI 1.0.3 rule it enforces, each with valid and invalid cases.

Most cases start from a full, valid statement of the kind Socle emits and change one thing in it
(`changed(path, value)`); an invalid case names the exact path the error must point at.
"""

from __future__ import annotations

import copy
import json
import re
import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from xapi.validation import (
    VOIDED,
    StatementError,
    agent_ifi,
    may_hold_unstorable,
    parse_timestamp,
    same_statement,
    validate_agent_param,
    validate_statement,
)

STATEMENT_ID = "9e13cefd-53d3-4eac-b5ed-2cf6693903bb"
OTHER_ID = "4c5b4f6a-0b7e-4f7e-9d1a-8f3b2c1d0e9f"
REGISTRATION = "1e13cefd-53d3-4eac-b5ed-2cf6693903bb"
HOME = "https://lms.example.org"
SHA1 = "cd9b00a5611f94eaa7b1661edab976068e364975"
SHA256 = "495395e777cd98da653df9615d09c0fd6bb2f8d4788394cd53c56a3bfdcd848a"
EXT = "https://socle.example/xapi/ext/"
DELETE = object()


def statement() -> dict[str, Any]:
    """A full valid statement, as Socle emits one for an answered question."""
    return {
        "id": STATEMENT_ID,
        "actor": {"objectType": "Agent", "account": {"homePage": HOME, "name": "sub-123"}},
        "verb": {
            "id": "http://adlnet.gov/expapi/verbs/answered",
            "display": {"fr": "a répondu", "en": "answered"},
        },
        "object": {
            "objectType": "Activity",
            "id": "https://socle.example/activities/question/42",
            "definition": {
                "name": {"fr": "Question 42"},
                "description": {"fr": "Quelle est la bonne réponse ?"},
                "type": "http://adlnet.gov/expapi/activities/cmi.interaction",
                "moreInfo": "https://socle.example/modules/m1/q42",
                "interactionType": "choice",
                "correctResponsesPattern": ["a"],
                "choices": [{"id": "a", "description": {"fr": "A"}}, {"id": "b", "description": {"fr": "B"}}],
                "extensions": {EXT + "bloc": "B1"},
            },
        },
        "result": {
            "score": {"scaled": 0.5, "raw": 5, "min": 0, "max": 10},
            "success": True,
            "completion": True,
            "response": "a",
            "duration": "PT12.5S",
            "extensions": {EXT + "progress": 40},
        },
        "context": {
            "registration": REGISTRATION,
            "instructor": {"objectType": "Agent", "mbox": "mailto:formatrice@example.org"},
            "contextActivities": {
                "parent": [{"objectType": "Activity", "id": "https://socle.example/modules/m1"}],
                "grouping": [{"objectType": "Activity", "id": "https://socle.example/contexts/c1"}],
                "category": [
                    {"objectType": "Activity", "id": "https://w3id.org/xapi/cmi5/context/categories/cmi5"}
                ],
            },
            "revision": "3",
            "platform": "Socle",
            "language": "fr",
            "statement": {"objectType": "StatementRef", "id": OTHER_ID},
            "extensions": {EXT + "session": "s-1", EXT + "lti": {"iss": "https://lms.example.org"}},
        },
        "timestamp": "2024-05-18T05:32:34.804Z",
    }


_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _steps(path: str) -> list[str | int]:
    return [name if name else int(index) for name, index in _STEP.findall(path)]


def changed(*pairs: tuple[str, Any], base: dict[str, Any] | None = None) -> dict[str, Any]:
    """A copy of `base` (default: `statement()`) with each (path, value) set, or removed for DELETE."""
    data = copy.deepcopy(base) if base is not None else statement()
    for path, value in pairs:
        *parents, last = _steps(path)
        node: Any = data
        for step in parents:
            if isinstance(step, str) and step not in node:
                node[step] = {}
            node = node[step]
        if value is DELETE:
            del node[last]
        else:
            node[last] = value
    return data


def error_of(data: Any, **kwargs: Any) -> StatementError:
    with pytest.raises(StatementError) as caught:
        validate_statement(data, **kwargs)
    return caught.value


def minimal(**extra: Any) -> dict[str, Any]:
    return {
        "actor": {"mbox": "mailto:learner@example.org"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
        "object": {"id": "https://socle.example/activities/page/1"},
        **extra,
    }


# -- the base cases -----------------------------------------------------------------------------------


def test_the_full_statement_is_valid_and_returned_as_a_deep_copy() -> None:
    given = statement()
    out = validate_statement(given)
    assert out == given
    out["context"]["extensions"][EXT + "lti"]["iss"] = "changed"
    out["object"]["definition"]["choices"][0]["id"] = "changed"
    out["verb"]["display"]["fr"] = "changed"
    assert given == statement()


def test_a_minimal_statement_is_valid() -> None:
    out = validate_statement(minimal())
    assert out["actor"] == {"objectType": "Agent", "mbox": "mailto:learner@example.org"}
    assert out["object"] == {"objectType": "Activity", "id": "https://socle.example/activities/page/1"}


@pytest.mark.parametrize("given", [None, "{}", [], 42, True])
def test_a_statement_must_be_an_object(given: Any) -> None:
    assert error_of(given).path == "statement"


@pytest.mark.parametrize("missing", ["actor", "verb", "object"])
def test_actor_verb_and_object_are_required(missing: str) -> None:
    error = error_of(changed((missing, DELETE)))
    assert error.path == f"statement.{missing}"
    assert "required" in error.message


# -- StatementError -----------------------------------------------------------------------------------


def test_statement_error_carries_path_and_message() -> None:
    error = error_of(changed(("result.score.scaled", 5)))
    assert isinstance(error, ValueError)
    assert error.path == "statement.result.score.scaled"
    assert error.message == "must be between -1 and 1, got 5"
    assert str(error) == "statement.result.score.scaled: must be between -1 and 1, got 5"
    again = StatementError(*error.args)  # what copy and pickle do: args rebuild the same error
    assert (again.path, again.message, str(again)) == (error.path, error.message, str(error))


def test_the_first_problem_is_reported() -> None:
    data = changed(("verb.id", "answered"), ("result.score.scaled", 5))
    assert error_of(data).path == "statement.verb.id"


# -- no properties outside the spec, at every level --------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "foo",
        "Actor",
        "actor.email",
        "actor.account.id",
        "verb.name",
        "object.name",
        "object.definition.title",
        "object.definition.choices[0].extensions",
        "result.grade",
        "result.score.percent",
        "context.session",
        "context.contextActivities.parent[0].name",
        "context.statement.version",
        "context.instructor.role",
    ],
)
def test_unknown_properties_are_rejected_at_every_level(path: str) -> None:
    error = error_of(changed((path, "x")))
    assert error.path == f"statement.{path}"
    assert "is not a property of" in error.message


def test_unknown_property_of_an_attachment() -> None:
    error = error_of(changed(("attachments", [{**ATTACHMENT, "note": "x"}])))
    assert error.path == "statement.attachments[0].note"


def test_unknown_property_of_a_group_member_and_of_a_substatement() -> None:
    group = {"objectType": "Group", "member": [{"mbox": "mailto:a@example.org", "role": "x"}]}
    assert error_of(changed(("actor", group))).path == "statement.actor.member[0].role"
    sub = dict(SUBSTATEMENT, extra=1)
    assert error_of(changed(("object", sub), ("context", DELETE))).path == "statement.object.extra"


@pytest.mark.parametrize(
    "path,where",
    [
        ("actor.name", "actor.name"),
        ("verb.display.fr", 'verb.display["fr"]'),
        ("context.registration", "context.registration"),
        ("object.definition.moreInfo", "object.definition.moreInfo"),
        ("result.success", "result.success"),
        ("attachments", "attachments"),
    ],
)
def test_null_values_are_rejected(path: str, where: str) -> None:
    assert error_of(changed((path, None))).path == f"statement.{where}"


def test_non_string_keys_from_python_callers_are_rejected_not_crashed() -> None:
    assert error_of(changed(("verb.display", {1: "x"}))).path == 'statement.verb.display["1"]'
    assert error_of(changed(("result.extensions", {1: "x"}))).path == 'statement.result.extensions["1"]'


def test_null_is_fine_inside_extensions() -> None:
    data = changed(("result.extensions", {EXT + "nothing": None}), ("context.extensions", {}))
    assert validate_statement(data)["result"]["extensions"] == {EXT + "nothing": None}


def test_an_extension_nested_too_deeply_is_an_error_not_a_crash() -> None:
    deep: Any = None
    for _ in range(5_000):
        deep = [deep]
    error = error_of(changed(("result.extensions", {EXT + "deep": deep})))
    assert error.path == "statement" and "nested too deeply" in error.message


@pytest.mark.parametrize("path", ["result", "result.score", "context"])
def test_empty_objects_are_rejected(path: str) -> None:
    assert error_of(changed((path, {}))).path == f"statement.{path}"


def test_an_empty_activity_definition_is_valid() -> None:
    # Every property of a definition is optional (xAPI 2.4.4.1); ADL's suite sends {}.
    assert validate_statement(changed(("object.definition", {})))["object"]["definition"] == {}


# -- id and other UUIDs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        STATEMENT_ID,
        STATEMENT_ID.upper(),
        "00000000-0000-0000-0000-000000000000",
        "a1b2c3d4-e5f6-1789-0abc-def012345678",  # version 1, any variant
        "a1b2c3d4-e5f6-7789-cabc-def012345678",
    ],
)
def test_uuids_of_any_version_and_case_are_accepted(value: str) -> None:
    assert validate_statement(changed(("id", value), ("context.registration", value)))["id"] == value


@pytest.mark.parametrize(
    "value",
    [
        "AA97B177-9383-4934-8543-0F91A7A028368",  # too many digits
        "MA97B177-9383-4934-8543-0F91A7A02836",  # not hexadecimal
        "9e13cefd53d34eacb5ed2cf6693903bb",  # no hyphens
        "{9e13cefd-53d3-4eac-b5ed-2cf6693903bb}",
        "",
        12345,
        {"key": "x"},
    ],
)
@pytest.mark.parametrize("path", ["id", "context.registration", "context.statement.id"])
def test_invalid_uuids_are_rejected(path: str, value: Any) -> None:
    assert error_of(changed((path, value))).path == f"statement.{path}"


# -- agents -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "agent",
    [
        {"mbox": "mailto:learner@example.org"},
        {"objectType": "Agent", "name": "Apprenant·e Test", "mbox": "mailto:apprenant@example.org"},
        {"mbox_sha1sum": SHA1},
        {"mbox_sha1sum": SHA1.upper()},
        {"openid": "http://openid.example.org/12345"},
        {"account": {"homePage": HOME, "name": "sub-123"}},
    ],
)
def test_an_agent_with_exactly_one_identifier_is_valid(agent: dict[str, Any]) -> None:
    assert validate_statement(changed(("actor", agent)))["actor"] == {"objectType": "Agent", **agent}


@pytest.mark.parametrize(
    "agent,path",
    [
        ({"name": "nobody"}, "actor"),
        ({"mbox": "mailto:a@example.org", "account": {"homePage": HOME, "name": "a"}}, "actor"),
        ({"mbox": "mailto:a@example.org", "mbox_sha1sum": SHA1}, "actor"),
        ({"mbox": "mailto:a@example.org", "openid": "http://openid.example.org/1"}, "actor"),
        ({"objectType": "agent", "mbox": "mailto:a@example.org"}, "actor.objectType"),
        ({"objectType": "Person", "mbox": "mailto:a@example.org"}, "actor.objectType"),
        ({"mbox": "a@example.org"}, "actor.mbox"),
        ({"mbox": "mailto:"}, "actor.mbox"),
        ({"mbox": "mailto:no-at-sign"}, "actor.mbox"),
        ({"mbox": "http://example.org"}, "actor.mbox"),
        ({"mbox_sha1sum": "abc"}, "actor.mbox_sha1sum"),
        ({"mbox_sha1sum": SHA1 + "0"}, "actor.mbox_sha1sum"),
        ({"mbox_sha1sum": "z" * 40}, "actor.mbox_sha1sum"),
        ({"openid": "not a uri"}, "actor.openid"),
        ({"name": 42, "mbox": "mailto:a@example.org"}, "actor.name"),
        ({"account": {"homePage": HOME}}, "actor.account.name"),
        ({"account": {"name": "a"}}, "actor.account.homePage"),
        ({"account": {"homePage": HOME, "name": ""}}, "actor.account.name"),
        ({"account": {"homePage": HOME, "name": {"key": "x"}}}, "actor.account.name"),
        ({"account": {"homePage": "lms.example.org", "name": "a"}}, "actor.account.homePage"),
        ({"account": {"homePage": "https://lms example.org", "name": "a"}}, "actor.account.homePage"),
        ({"account": {"homePage": HOME, "name": "a", "id": "1"}}, "actor.account.id"),
        ({"account": "sub-123"}, "actor.account"),
    ],
)
def test_invalid_agents_are_rejected(agent: dict[str, Any], path: str) -> None:
    assert error_of(changed(("actor", agent))).path == f"statement.{path}"


@pytest.mark.parametrize("path", ["actor", "context.instructor", "authority", "object"])
def test_two_identifiers_on_one_agent_are_rejected_everywhere(path: str) -> None:
    agent = {"objectType": "Agent", "mbox": "mailto:a@example.org", "mbox_sha1sum": SHA1}
    data = changed((path, agent), ("context.revision", DELETE), ("context.platform", DELETE))
    error = error_of(data)
    assert error.path == f"statement.{path}"
    assert "exactly one identifier" in error.message


# -- groups -------------------------------------------------------------------------------------------

MEMBERS: list[dict[str, Any]] = [
    {"mbox": "mailto:a@example.org"},
    {"objectType": "Agent", "account": {"homePage": HOME, "name": "b"}},
]


@pytest.mark.parametrize(
    "group",
    [
        {"objectType": "Group", "member": MEMBERS},
        {"objectType": "Group", "name": "Promo 2024", "member": MEMBERS[:1]},
        {"objectType": "Group", "account": {"homePage": HOME, "name": "promo-2024"}},
        {"objectType": "Group", "mbox": "mailto:promo@example.org", "member": MEMBERS},
        {"objectType": "Group", "openid": "http://openid.example.org/g", "member": []},
    ],
)
@pytest.mark.parametrize("path", ["actor", "context.team", "context.instructor"])
def test_anonymous_and_identified_groups_are_valid(path: str, group: dict[str, Any]) -> None:
    out = validate_statement(changed((path, group)))
    node = out
    for step in path.split("."):
        node = node[step]
    assert node["objectType"] == "Group"
    assert all(member["objectType"] == "Agent" for member in node.get("member", []))


@pytest.mark.parametrize(
    "group,path",
    [
        ({"objectType": "Group"}, "actor.member"),
        ({"objectType": "Group", "member": []}, "actor.member"),
        ({"objectType": "Group", "name": "no one"}, "actor.member"),
        ({"objectType": "Group", "member": {"mbox": "mailto:a@example.org"}}, "actor.member"),
        ({"objectType": "Group", "member": ["mailto:a@example.org"]}, "actor.member[0]"),
        ({"objectType": "Group", "member": [{"name": "no id"}]}, "actor.member[0]"),
        (
            {"objectType": "Group", "member": [{"objectType": "Group", "member": MEMBERS}]},
            "actor.member[0].objectType",
        ),
        (
            {"objectType": "Group", "mbox": "mailto:g@example.org", "openid": "http://openid.example.org/g"},
            "actor",
        ),
        ({"objectType": "Group", "member": MEMBERS, "mbox": "g@example.org"}, "actor.mbox"),
    ],
)
def test_invalid_groups_are_rejected(group: dict[str, Any], path: str) -> None:
    assert error_of(changed(("actor", group))).path == f"statement.{path}"


def test_member_is_only_allowed_in_a_group() -> None:
    data = changed(("actor", {"mbox": "mailto:a@example.org", "member": MEMBERS}))
    assert error_of(data).path == "statement.actor.member"


@pytest.mark.parametrize(
    "team,path",
    [
        ({"mbox": "mailto:a@example.org"}, "context.team.objectType"),
        ({"objectType": "Agent", "mbox": "mailto:a@example.org"}, "context.team.objectType"),
        ("team", "context.team"),
    ],
)
def test_a_team_must_be_a_group(team: Any, path: str) -> None:
    assert error_of(changed(("context.team", team))).path == f"statement.{path}"


# -- authority ----------------------------------------------------------------------------------------

OAUTH_PAIR: list[dict[str, Any]] = [
    {"account": {"homePage": "https://socle.example/oauth", "name": "client-analytics"}},
    {"mbox": "mailto:admin@example.org"},
]


@pytest.mark.parametrize(
    "authority",
    [
        {"objectType": "Agent", "account": {"homePage": "https://socle.example", "name": "client-1"}},
        {"mbox": "mailto:admin@example.org"},
        {"objectType": "Group", "member": OAUTH_PAIR},
    ],
)
def test_an_authority_is_an_agent_or_an_anonymous_group_of_two(authority: dict[str, Any]) -> None:
    assert validate_statement(changed(("authority", authority)))["authority"]["objectType"] in (
        "Agent",
        "Group",
    )


@pytest.mark.parametrize(
    "authority,path",
    [
        ({"objectType": "Group", "member": OAUTH_PAIR[:1]}, "authority.member"),
        (
            {"objectType": "Group", "member": [*OAUTH_PAIR, {"mbox": "mailto:x@example.org"}]},
            "authority.member",
        ),
        ({"objectType": "Group"}, "authority.member"),
        ({"objectType": "Group", "member": OAUTH_PAIR, "mbox": "mailto:g@example.org"}, "authority"),
        ({"objectType": "Group", "openid": "http://openid.example.org/g"}, "authority"),
        ({"objectType": "agent", "mbox": "mailto:a@example.org"}, "authority.objectType"),
        ("admin", "authority"),
    ],
)
def test_invalid_authorities_are_rejected(authority: Any, path: str) -> None:
    assert error_of(changed(("authority", authority))).path == f"statement.{path}"


# -- verb ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "verb_id",
    [
        "http://adlnet.gov/expapi/verbs/answered",
        "https://w3id.org/xapi/adl/verbs/satisfied",
        "urn:socle:verb:attended",
        "https://example.org/verbes/a-répondu",
    ],
)
def test_a_verb_id_is_an_absolute_iri(verb_id: str) -> None:
    assert validate_statement(changed(("verb.id", verb_id)))["verb"]["id"] == verb_id


@pytest.mark.parametrize(
    "verb_id",
    [
        "answered",
        "/verbs/answered",
        "http://adlnet.gov/expapi/verbs/has answered",
        "http:",
        ":answered",
        "",
        42,
    ],
)
def test_a_verb_id_that_is_not_an_iri_is_rejected(verb_id: Any) -> None:
    assert error_of(changed(("verb.id", verb_id))).path == "statement.verb.id"


def test_a_verb_needs_an_id_and_display_is_optional() -> None:
    assert error_of(changed(("verb", {"display": {"fr": "a répondu"}}))).path == "statement.verb.id"
    assert "display" not in validate_statement(changed(("verb.display", DELETE)))["verb"]


# -- language maps and tags ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tag",
    [
        "fr",
        "en",
        "fr-FR",
        "en-US",
        "de",
        "ine",
        "zh-Hant",
        "sr-Latn",
        "zh-cmn-Hans-CN",
        "sr-Latn-RS",
        "sl-rozaj-biske",
        "de-CH-1901",
        "hy-Latn-IT-arevela",
        "es-419",
        "az-Arab-x-AZE-derbend",
        "x-whatever",
        "i-enochian",
        "en-GB-oed",
        "art-lojban",
        "zh-min-nan",
        "en-a-bbb-x-a-ccc",
        "FR-fr",
        "french",  # 5-8 letters: a (reserved) primary language subtag, valid syntax
    ],
)
def test_valid_language_tags_are_accepted(tag: str) -> None:
    data = changed(("verb.display", {tag: "x"}), ("context.language", tag))
    assert validate_statement(data)["verb"]["display"] == {tag: "x"}


@pytest.mark.parametrize(
    "tag",
    [
        "fr_FR",
        "",
        "f",
        "a-DE",
        "de-419-DE",
        "ar-a-aaa-b-bbb-a-ccc",
        "de-DE-1901-1901",
        "en-",
        "-en",
        "en--US",
        "en US",
        "x",
        "x-",
        "toolonglanguage",
        "supercalifragilisticexpialidociouswhatabouthhhhhhh",
    ],
)
def test_invalid_language_tags_are_rejected(tag: str) -> None:
    error = error_of(changed(("verb.display", {tag: "x"})))
    assert error.path == f'statement.verb.display["{tag}"]'
    assert "RFC 5646" in error.message
    assert error_of(changed(("context.language", tag))).path == "statement.context.language"


@pytest.mark.parametrize(
    "path",
    [
        "verb.display",
        "object.definition.name",
        "object.definition.description",
        "object.definition.choices[0].description",
    ],
)
@pytest.mark.parametrize(
    "value,where",
    [
        ({"fr_FR": "x"}, '["fr_FR"]'),
        ({"fr": 42}, '["fr"]'),
        ({"fr": None}, '["fr"]'),
        ({"fr": ["x"]}, '["fr"]'),
        ({}, ""),
        ("a répondu", ""),
        (["fr", "x"], ""),
    ],
)
def test_invalid_language_maps_are_rejected(path: str, value: Any, where: str) -> None:
    assert error_of(changed((path, value))).path == f"statement.{path}{where}"


@pytest.mark.parametrize("language", [42, None, {"fr": "x"}])
def test_context_language_must_be_a_string_tag(language: Any) -> None:
    assert error_of(changed(("context.language", language))).path == "statement.context.language"


# -- objects ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "obj,object_type",
    [
        ({"id": "https://socle.example/a"}, "Activity"),
        ({"objectType": "Activity", "id": "https://socle.example/a"}, "Activity"),
        ({"objectType": "Agent", "mbox": "mailto:a@example.org"}, "Agent"),
        ({"objectType": "Group", "member": MEMBERS}, "Group"),
        ({"objectType": "StatementRef", "id": OTHER_ID}, "StatementRef"),
    ],
)
def test_the_object_kinds(obj: dict[str, Any], object_type: str) -> None:
    data = changed(("object", obj), ("context.revision", DELETE), ("context.platform", DELETE))
    assert validate_statement(data)["object"]["objectType"] == object_type


@pytest.mark.parametrize(
    "obj,path",
    [
        ({"mbox": "mailto:a@example.org"}, "object.objectType"),  # an Agent object must say so
        ({"objectType": "Group", "member": MEMBERS, "id": "x"}, "object.id"),
        ({"member": MEMBERS}, "object.objectType"),
        ({"objectType": "activity", "id": "https://socle.example/a"}, "object.objectType"),
        ({"objectType": "Statement", "id": OTHER_ID}, "object.objectType"),
        ({"objectType": "Activity"}, "object.id"),
        ({"id": "not an iri"}, "object.id"),
        ({"id": OTHER_ID}, "object.id"),  # a StatementRef without objectType is an Activity: not an IRI
        ({"objectType": "StatementRef"}, "object.id"),
        ({"objectType": "StatementRef", "id": "https://socle.example/a"}, "object.id"),
        ({"objectType": "StatementRef", "id": OTHER_ID, "definition": {}}, "object.definition"),
        ("https://socle.example/a", "object"),
    ],
)
def test_invalid_objects_are_rejected(obj: Any, path: str) -> None:
    data = changed(("object", obj), ("context.revision", DELETE), ("context.platform", DELETE))
    assert error_of(data).path == f"statement.{path}"


# -- activity definitions and interaction components -------------------------------------------------


def test_definition_fields() -> None:
    definition = validate_statement(statement())["object"]["definition"]
    assert definition["interactionType"] == "choice"
    assert definition["correctResponsesPattern"] == ["a"]


@pytest.mark.parametrize(
    "path,value",
    [
        ("object.definition.type", "cmi.interaction"),
        ("object.definition.type", 42),
        ("object.definition.moreInfo", "socle.example/modules"),
        ("object.definition.moreInfo", "https://socle.example/a page"),
        ("object.definition.interactionType", "Choice"),
        ("object.definition.interactionType", "multiple-choice"),
        ("object.definition.interactionType", 1),
        ("object.definition.interactionType", {"key": "choice"}),
        ("object.definition.interactionType", ["choice"]),
        ("object.definition.interactionType", None),
        ("object.definition.correctResponsesPattern", "a"),
        ("object.definition.correctResponsesPattern[0]", 1),
        ("object.definition.choices", {"id": "a"}),
        ("object.definition.choices[0]", "a"),
        ("object.definition.choices[0].id", ""),
        ("object.definition.choices[0].id", 1),
        ("object.definition.choices[1].id", "a"),  # duplicate within the list
        ("object.definition.choices[0].id", DELETE),  # required
    ],
)
def test_invalid_definitions_are_rejected(path: str, value: Any) -> None:
    assert error_of(changed((path, value))).path == f"statement.{path}"


@pytest.mark.parametrize(
    "interaction,lists",
    [
        ("choice", ["choices"]),
        ("sequencing", ["choices"]),
        ("likert", ["scale"]),
        ("matching", ["source", "target"]),
        ("performance", ["steps"]),
        ("true-false", []),
        ("fill-in", []),
        ("long-fill-in", []),
        ("numeric", []),
        ("other", []),
    ],
)
def test_each_interaction_type_takes_its_own_component_lists(interaction: str, lists: list[str]) -> None:
    components = [{"id": "1", "description": {"fr": "un"}}, {"id": "2"}]
    definition: dict[str, Any] = {"interactionType": interaction, "correctResponsesPattern": ["1"]}
    definition.update({key: components for key in lists})
    assert (
        validate_statement(changed(("object.definition", definition)))["object"]["definition"] == definition
    )
    for other in {"choices", "scale", "source", "target", "steps"} - set(lists):
        error = error_of(changed(("object.definition", {**definition, other: components})))
        assert error.path == f"statement.object.definition.{other}"
        assert "only allowed when interactionType is" in error.message


def test_component_lists_and_responses_need_an_interaction_type() -> None:
    data = changed(("object.definition", {"choices": [{"id": "a"}]}))
    assert error_of(data).path == "statement.object.definition.choices"
    data = changed(("object.definition", {"correctResponsesPattern": ["a"]}))
    assert error_of(data).path == "statement.object.definition.correctResponsesPattern"


def test_the_same_component_id_may_appear_in_two_lists() -> None:
    definition = {"interactionType": "matching", "source": [{"id": "1"}], "target": [{"id": "1"}]}
    validate_statement(changed(("object.definition", definition)))


# -- extensions ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["object.definition.extensions", "result.extensions", "context.extensions"])
def test_extension_keys_must_be_iris_and_values_may_be_anything(path: str) -> None:
    good = {EXT + "a": {"nested": [1, None, "x"]}, "urn:socle:b": 1.5, EXT + "c": True}
    assert validate_statement(changed((path, good)))
    for key in ["progress", "socle progress", "/ext/progress", ""]:
        error = error_of(changed((path, {key: 1})))
        assert error.path == f'statement.{path}["{key}"]'
        assert "IRI" in error.message
    assert error_of(changed((path, ["x"]))).path == f"statement.{path}"


# -- result -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "score",
    [
        {"scaled": 1},
        {"scaled": -1},
        {"scaled": 0.0},
        {"raw": 1000},  # no bounds, any number
        {"raw": -3.5, "min": -5},
        {"raw": 10, "min": 0, "max": 10},
        {"raw": 0, "min": 0, "max": 10},
        {"min": 0, "max": 0.5},
    ],
)
def test_valid_scores(score: dict[str, Any]) -> None:
    assert validate_statement(changed(("result.score", score)))["result"]["score"] == score


@pytest.mark.parametrize(
    "score,field",
    [
        ({"scaled": 5}, "scaled"),
        ({"scaled": 1.01}, "scaled"),
        ({"scaled": -1.5}, "scaled"),
        ({"raw": 12, "min": 0, "max": 10}, "raw"),
        ({"raw": 12, "max": 10}, "raw"),
        ({"raw": -1, "min": 0, "max": 10}, "raw"),
        ({"raw": -1, "min": 0}, "raw"),
        ({"min": 10, "max": 10}, "min"),
        ({"min": 10, "max": 0}, "min"),
        ({"max": "100"}, "max"),
        ({"max": "one hundred"}, "max"),
        ({"raw": True}, "raw"),
        ({"scaled": None}, "scaled"),
        ({"scaled": float("nan")}, "scaled"),
        ({"raw": float("inf")}, "raw"),
    ],
)
def test_invalid_scores(score: dict[str, Any], field: str) -> None:
    assert error_of(changed(("result.score", score))).path == f"statement.result.score.{field}"


@pytest.mark.parametrize(
    "field,value",
    [
        ("success", "true"),
        ("success", 1),
        ("completion", "false"),
        ("completion", 0),
        ("response", 42),
        ("response", ["a"]),
        ("score", 0.5),
        ("duration", 12),
    ],
)
def test_invalid_result_fields(field: str, value: Any) -> None:
    assert error_of(changed((f"result.{field}", value))).path == f"statement.result.{field}"


def test_an_empty_response_is_a_valid_answer() -> None:
    assert validate_statement(changed(("result.response", "")))["result"]["response"] == ""


@pytest.mark.parametrize(
    "duration",
    [
        "PT12.5S",
        "PT0.01S",
        "PT1H0M0.1S",
        "PT4H35M59.14S",
        "PT16559.14S",
        "P3Y1M29DT4H35M59.14S",
        "P3Y",
        "P1M",
        "P2D",
        "PT5M",
        "P1DT2H",
        "P4W",
        "PT0S",
    ],
)
def test_valid_durations(duration: str) -> None:
    assert validate_statement(changed(("result.duration", duration)))["result"]["duration"] == duration


@pytest.mark.parametrize(
    "duration",
    [
        "P",
        "PT",
        "P1DT",
        "P1W2D",
        "P1Y1W",
        "P4WT1H",
        "PA1H0M0S",
        "PT1.5H",
        "1H30M",
        "pt1h",
        "PT1H30M ",
        "P1S",  # seconds belong after T
        "PT-5S",
        "PT1,5S",
        "should fail",
        "",
    ],
)
def test_invalid_durations(duration: str) -> None:
    assert error_of(changed(("result.duration", duration))).path == "statement.result.duration"


# -- context ------------------------------------------------------------------------------------------


def test_context_activities_single_objects_become_arrays() -> None:
    data = changed(
        ("context.contextActivities", {"parent": {"id": "https://socle.example/modules/m1"}, "other": []})
    )
    out = validate_statement(data)
    assert out["context"]["contextActivities"] == {
        "parent": [{"objectType": "Activity", "id": "https://socle.example/modules/m1"}],
        "other": [],
    }
    assert data["context"]["contextActivities"]["parent"] == {"id": "https://socle.example/modules/m1"}


@pytest.mark.parametrize("key", ["parent", "grouping", "category", "other"])
def test_each_context_activities_key_takes_an_activity_or_a_list(key: str) -> None:
    activity = {"objectType": "Activity", "id": "https://socle.example/x"}
    for value in (activity, [activity], [activity, {"id": "https://socle.example/y"}]):
        out = validate_statement(changed(("context.contextActivities", {key: value})))
        assert isinstance(out["context"]["contextActivities"][key], list)


@pytest.mark.parametrize(
    "value,path",
    [
        ("should fail", "context.contextActivities"),
        (["https://socle.example/x"], "context.contextActivities"),
        ({}, "context.contextActivities"),
        ({"parent": "should fail"}, "context.contextActivities.parent"),
        ({"parent": "https://socle.example/m1"}, "context.contextActivities.parent"),
        ({"parent": 42}, "context.contextActivities.parent"),
        ({"parents": [{"id": "https://socle.example/m1"}]}, "context.contextActivities.parents"),
        ({"parent": {"id": "m1"}}, "context.contextActivities.parent.id"),
        (
            {"parent": [{"id": "https://socle.example/m1"}, {"key": "x"}]},
            "context.contextActivities.parent[1].key",
        ),
        ({"parent": [{"id": "https://socle.example/m1"}, {}]}, "context.contextActivities.parent[1].id"),
        (
            {"grouping": [{"objectType": "Agent", "mbox": "mailto:a@example.org"}]},
            "context.contextActivities.grouping[0].objectType",
        ),
        ({"parent": [{"id": "https://socle.example/m1"}, "x"]}, "context.contextActivities.parent[1]"),
    ],
)
def test_invalid_context_activities_are_rejected(value: Any, path: str) -> None:
    assert error_of(changed(("context.contextActivities", value))).path == f"statement.{path}"


@pytest.mark.parametrize(
    "path,value,where",
    [
        ("context.revision", 3, "context.revision"),
        ("context.platform", ["Socle"], "context.platform"),
        ("context.instructor", {"name": "no id"}, "context.instructor"),
        ("context.instructor", "formatrice", "context.instructor"),
        (
            "context.instructor",
            {"objectType": "Activity", "id": "https://x.example"},
            "context.instructor.objectType",
        ),
        ("context.statement", {"id": OTHER_ID}, "context.statement.objectType"),
        ("context.statement", {"objectType": "SubStatement", "id": OTHER_ID}, "context.statement.objectType"),
        ("context.statement", OTHER_ID, "context.statement"),
        ("context", "should fail", "context"),
    ],
)
def test_invalid_context_fields(path: str, value: Any, where: str) -> None:
    assert error_of(changed((path, value))).path == f"statement.{where}"


@pytest.mark.parametrize("field", ["revision", "platform"])
@pytest.mark.parametrize(
    "obj",
    [
        {"objectType": "Agent", "mbox": "mailto:a@example.org"},
        {"objectType": "Group", "member": MEMBERS},
        {"objectType": "StatementRef", "id": OTHER_ID},
    ],
)
def test_revision_and_platform_only_with_an_activity_object(field: str, obj: dict[str, Any]) -> None:
    other = "platform" if field == "revision" else "revision"
    error = error_of(changed(("object", obj), (f"context.{other}", DELETE)))
    assert error.path == f"statement.context.{field}"
    assert "only allowed when the statement's object is an Activity" in error.message


def test_revision_and_platform_with_an_activity_without_object_type() -> None:
    data = changed(("object", {"id": "https://socle.example/a"}))
    assert validate_statement(data)["context"]["platform"] == "Socle"


# -- timestamp and stored -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value,expected",
    [
        ("2024-05-18T05:32:34Z", datetime(2024, 5, 18, 5, 32, 34, tzinfo=UTC)),
        ("2024-05-18T05:32:34.804Z", datetime(2024, 5, 18, 5, 32, 34, 804000, tzinfo=UTC)),
        ("2024-05-18T05:32:34.123456789Z", datetime(2024, 5, 18, 5, 32, 34, 123456, tzinfo=UTC)),
        ("2024-05-18T07:32:34+02:00", datetime(2024, 5, 18, 5, 32, 34, tzinfo=UTC)),
        ("2024-05-18T07:32:34+0200", datetime(2024, 5, 18, 5, 32, 34, tzinfo=UTC)),
        ("2024-05-18T07:32:34+02", datetime(2024, 5, 18, 5, 32, 34, tzinfo=UTC)),
        ("2024-05-18T00:02:34-05:30", datetime(2024, 5, 18, 5, 32, 34, tzinfo=UTC)),
        ("2024-05-18T05:32:34+00:00", datetime(2024, 5, 18, 5, 32, 34, tzinfo=UTC)),
        ("2024-02-29T23:59:59.999Z", datetime(2024, 2, 29, 23, 59, 59, 999000, tzinfo=UTC)),
    ],
)
def test_valid_timestamps(value: str, expected: datetime) -> None:
    assert validate_statement(changed(("timestamp", value), ("stored", value)))["timestamp"] == value
    parsed = parse_timestamp(value)
    assert parsed == expected
    assert parsed.tzinfo is not None


def test_parse_timestamp_keeps_the_offset() -> None:
    assert parse_timestamp("2024-05-18T07:32:34+02:00").utcoffset() == timedelta(hours=2)
    assert parse_timestamp("2024-05-18T07:32:34-05:30").tzinfo == timezone(-timedelta(hours=5, minutes=30))


@pytest.mark.parametrize(
    "value",
    [
        "2024-05-18T05:32:34",  # naive: what tincan emits for a naive datetime
        "2024-05-18T05:32:34.804",
        "2024-05-18 05:32:34Z",
        "2024-05-18",
        "2024-05-18T05:32Z",
        "2008-09-15T15:53:00.601-00",
        "2008-09-15T15:53:00.601-0000",
        "2008-09-15T15:53:00.601-00:00",
        "2024-13-18T05:32:34Z",
        "2024-02-30T05:32:34Z",
        "2023-02-29T05:32:34Z",
        "2024-05-18T24:00:00Z",
        "2024-05-18T05:60:00Z",
        "2024-05-18T05:32:34+24:00",
        "2024-05-18T05:32:34+02:60",
        "01/011/2015",
        "should fail",
        "",
        1716010354,
        None,
    ],
)
@pytest.mark.parametrize("field", ["timestamp", "stored"])
def test_invalid_timestamps(field: str, value: Any) -> None:
    error = error_of(changed((field, value)))
    assert error.path == f"statement.{field}"


def test_parse_timestamp_names_the_path() -> None:
    with pytest.raises(StatementError) as caught:
        parse_timestamp("2024-05-18T05:32:34", "since")
    assert caught.value.path == "since"


# -- version ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.0", "1.0.0", "1.0.3", "1.0.9", "1.0.10"])
def test_versions_1_0_x_are_accepted(version: str) -> None:
    assert validate_statement(changed(("version", version)))["version"] == version


@pytest.mark.parametrize(
    "version", ["2.0.0", "1.1.0", "0.9.9", "1", "1.0.", "1.0.x", "v1.0.3", " 1.0.3", "", 1.0]
)
def test_other_versions_are_rejected(version: Any) -> None:
    assert error_of(changed(("version", version))).path == "statement.version"


# -- attachments --------------------------------------------------------------------------------------

ATTACHMENT: dict[str, Any] = {
    "usageType": "http://adlnet.gov/expapi/attachments/signature",
    "display": {"fr": "Attestation"},
    "description": {"fr": "Attestation de présence"},
    "contentType": "application/pdf",
    "length": 27,
    "sha2": SHA256,
    "fileUrl": "https://socle.example/files/attestation.pdf",
}


@pytest.mark.parametrize(
    "attachment",
    [
        ATTACHMENT,
        {key: value for key, value in ATTACHMENT.items() if key not in ("description", "fileUrl")},
        {**ATTACHMENT, "contentType": "text/plain; charset=ascii", "length": 0},
        {**ATTACHMENT, "contentType": 'multipart/mixed; boundary="abc def"'},
        {**ATTACHMENT, "sha2": SHA256.upper()},
        {**ATTACHMENT, "sha2": "a" * 128},
    ],
)
def test_valid_attachments(attachment: dict[str, Any]) -> None:
    assert validate_statement(changed(("attachments", [attachment])))["attachments"] == [attachment]


@pytest.mark.parametrize(
    "change,path",
    [
        ({"usageType": "should fail"}, "usageType"),
        ({"usageType": DELETE}, "usageType"),
        ({"display": {}}, "display"),
        ({"display": "Attestation"}, "display"),
        ({"display": DELETE}, "display"),
        ({"description": 12345}, "description"),
        ({"description": {"de-419-DE": "x"}}, 'description["de-419-DE"]'),
        ({"contentType": "should fail"}, "contentType"),
        ({"contentType": DELETE}, "contentType"),
        ({"length": "27"}, "length"),
        ({"length": -1}, "length"),
        ({"length": 27.5}, "length"),
        ({"length": True}, "length"),
        ({"length": DELETE}, "length"),
        ({"sha2": 12345}, "sha2"),
        ({"sha2": "not a hash"}, "sha2"),
        ({"sha2": SHA1}, "sha2"),
        ({"sha2": DELETE}, "sha2"),
        ({"fileUrl": "should fail"}, "fileUrl"),
    ],
)
def test_invalid_attachments(change: dict[str, Any], path: str) -> None:
    attachment = {**ATTACHMENT, **change}
    attachment = {key: value for key, value in attachment.items() if value is not DELETE}
    assert error_of(changed(("attachments", [attachment]))).path == f"statement.attachments[0].{path}"


@pytest.mark.parametrize(
    "value,path", [(ATTACHMENT, "attachments"), ([12345], "attachments[0]"), (["x"], "attachments[0]")]
)
def test_attachments_is_an_array_of_objects(value: Any, path: str) -> None:
    assert error_of(changed(("attachments", value))).path == f"statement.{path}"


# -- SubStatements ------------------------------------------------------------------------------------

SUBSTATEMENT: dict[str, Any] = {
    "objectType": "SubStatement",
    "actor": {"account": {"homePage": HOME, "name": "sub-123"}},
    "verb": {"id": "https://w3id.org/xapi/dod-isd/verbs/planned"},
    "object": {"id": "https://socle.example/modules/m1"},
    "result": {"completion": True},
    "context": {"platform": "Socle", "contextActivities": {"parent": {"id": "https://socle.example/c1"}}},
    "timestamp": "2024-06-01T09:00:00+02:00",
    "attachments": [ATTACHMENT],
}


def test_a_substatement_is_validated_and_normalised_like_a_statement() -> None:
    out = validate_statement(changed(("object", SUBSTATEMENT), ("context", DELETE)))
    sub = out["object"]
    assert sub["objectType"] == "SubStatement"
    assert sub["actor"]["objectType"] == "Agent"
    assert sub["object"]["objectType"] == "Activity"
    assert sub["context"]["contextActivities"]["parent"] == [
        {"objectType": "Activity", "id": "https://socle.example/c1"}
    ]


@pytest.mark.parametrize(
    "key,value",
    [
        ("id", OTHER_ID),
        ("stored", "2024-05-18T05:32:34Z"),
        ("version", "1.0.0"),
        ("authority", {"mbox": "mailto:a@example.org"}),
    ],
)
def test_a_substatement_has_no_id_stored_version_or_authority(key: str, value: Any) -> None:
    error = error_of(changed(("object", {**SUBSTATEMENT, key: value}), ("context", DELETE)))
    assert error.path == f"statement.object.{key}"
    assert error.message == "is not allowed in a SubStatement"


def test_a_substatement_cannot_contain_a_substatement() -> None:
    nested = {**SUBSTATEMENT, "object": {**SUBSTATEMENT, "attachments": []}}
    error = error_of(changed(("object", nested), ("context", DELETE)))
    assert error.path == "statement.object.object.objectType"
    assert "cannot contain another SubStatement" in error.message


@pytest.mark.parametrize(
    "path,value,where",
    [
        ("object.actor", DELETE, "object.actor"),
        ("object.verb", DELETE, "object.verb"),
        ("object.object", DELETE, "object.object"),
        ("object.verb.id", "planned", "object.verb.id"),
        ("object.result.score", {"scaled": 5}, "object.result.score.scaled"),
        ("object.timestamp", "2024-06-01T09:00:00", "object.timestamp"),
        ("object.context.language", "fr_FR", "object.context.language"),
        ("object.context.contextActivities", "should fail", "object.context.contextActivities"),
        ("object.attachments", [{"usageType": "x"}], "object.attachments[0].usageType"),
        # platform needs the SubStatement's own object to be an Activity
        ("object.object", {"objectType": "StatementRef", "id": OTHER_ID}, "object.context.platform"),
    ],
)
def test_the_rules_of_statements_apply_inside_a_substatement(path: str, value: Any, where: str) -> None:
    data = changed(("object", copy.deepcopy(SUBSTATEMENT)), ("context", DELETE))
    data = changed((path, value), base=data)
    assert error_of(data).path == f"statement.{where}"


def test_validating_a_substatement_on_its_own() -> None:
    assert validate_statement(SUBSTATEMENT, is_substatement=True)["objectType"] == "SubStatement"
    error = error_of({**SUBSTATEMENT, "id": OTHER_ID}, is_substatement=True)
    assert error.path == "substatement.id"
    no_type = {key: value for key, value in SUBSTATEMENT.items() if key != "objectType"}
    assert error_of(no_type, is_substatement=True).path == "substatement.objectType"
    assert error_of(changed(("objectType", "Statement"), base=SUBSTATEMENT), is_substatement=True).path == (
        "substatement.objectType"
    )


def test_a_substatement_needs_its_object_type() -> None:
    sub = {key: value for key, value in SUBSTATEMENT.items() if key != "objectType"}
    error = error_of(changed(("object", sub), ("context", DELETE)))
    assert error.path == "statement.object.objectType"
    assert "SubStatement" in error.message


# -- voiding ------------------------------------------------------------------------------------------


def test_a_voiding_statement_takes_a_statement_ref() -> None:
    voiding = {
        "actor": {"account": {"homePage": HOME, "name": "admin"}},
        "verb": {"id": VOIDED, "display": {"en-US": "voided"}},
        "object": {"objectType": "StatementRef", "id": OTHER_ID},
    }
    assert validate_statement(voiding)["object"] == {"objectType": "StatementRef", "id": OTHER_ID}


@pytest.mark.parametrize(
    "obj",
    [
        {"id": "https://socle.example/certificates/1"},
        {"objectType": "Activity", "id": "https://socle.example/certificates/1"},
        {"objectType": "Agent", "mbox": "mailto:a@example.org"},
        SUBSTATEMENT,
    ],
)
def test_a_voiding_statement_with_another_object_is_rejected(obj: dict[str, Any]) -> None:
    data = {"actor": {"mbox": "mailto:admin@example.org"}, "verb": {"id": VOIDED}, "object": obj}
    error = error_of(data)
    assert error.path == "statement.object"
    assert "StatementRef" in error.message


# -- normalisation ------------------------------------------------------------------------------------


def test_normalisation_fills_the_default_object_types_and_nothing_else() -> None:
    given: dict[str, Any] = {
        "actor": {"mbox": "mailto:learner@example.org"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/attended"},
        "object": {"id": "https://socle.example/sessions/webinaire-1"},
        "context": {
            "instructor": {"account": {"homePage": HOME, "name": "facilitator"}},
            "team": {"objectType": "Group", "member": [{"mbox": "mailto:a@example.org"}]},
            "contextActivities": {"grouping": {"id": "https://socle.example/contexts/c1"}},
        },
        "authority": {"objectType": "Group", "member": OAUTH_PAIR},
    }
    out = validate_statement(given)
    assert out == {
        "actor": {"objectType": "Agent", "mbox": "mailto:learner@example.org"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/attended"},
        "object": {"objectType": "Activity", "id": "https://socle.example/sessions/webinaire-1"},
        "context": {
            "instructor": {"objectType": "Agent", "account": {"homePage": HOME, "name": "facilitator"}},
            "team": {
                "objectType": "Group",
                "member": [{"objectType": "Agent", "mbox": "mailto:a@example.org"}],
            },
            "contextActivities": {
                "grouping": [{"objectType": "Activity", "id": "https://socle.example/contexts/c1"}]
            },
        },
        "authority": {
            "objectType": "Group",
            "member": [{"objectType": "Agent", **OAUTH_PAIR[0]}, {"objectType": "Agent", **OAUTH_PAIR[1]}],
        },
    }
    assert "objectType" not in given["actor"]  # the input is untouched


def test_normalising_twice_changes_nothing() -> None:
    once = validate_statement(
        changed(("context.contextActivities.parent", {"id": "https://socle.example/m1"}))
    )
    assert validate_statement(once) == once


def test_ids_and_values_keep_their_case() -> None:
    out = validate_statement(changed(("id", STATEMENT_ID.upper()), ("actor", {"mbox_sha1sum": SHA1.upper()})))
    assert out["id"] == STATEMENT_ID.upper()
    assert out["actor"]["mbox_sha1sum"] == SHA1.upper()


# -- what tincan lets through (the profile's list) ---------------------------------------------------


@pytest.mark.parametrize(
    "change,path",
    [
        (("result.score.scaled", 5), "result.score.scaled"),
        (("result.score", {"raw": 120, "min": 0, "max": 100}), "result.score.raw"),
        (("verb.id", "answered"), "verb.id"),
        (("actor", {"mbox": "mailto:a@example.org", "account": {"homePage": HOME, "name": "a"}}), "actor"),
        (("verb.display", {"fr_FR": "a répondu"}), 'verb.display["fr_FR"]'),
        (("result.extensions", {"progress": 40}), 'result.extensions["progress"]'),
        (("timestamp", "2024-05-18T05:32:34.804000"), "timestamp"),
        (("version", "2.0.0"), "version"),
        (("context.contextActivities", "should fail"), "context.contextActivities"),
    ],
)
def test_what_tincan_lets_through_is_rejected(change: tuple[str, Any], path: str) -> None:
    assert error_of(changed(change)).path == f"statement.{path}"


def test_tincan_version_1_0_3_is_accepted() -> None:
    assert validate_statement(changed(("version", "1.0.3")))["version"] == "1.0.3"


# -- same_statement -----------------------------------------------------------------------------------


def test_same_statement_ignores_authority_stored_timestamp_and_version() -> None:
    sent = statement()
    stored = changed(
        ("timestamp", "2024-05-18T07:32:34.804+02:00"),
        ("stored", "2024-05-18T05:32:35.000Z"),
        ("authority", {"objectType": "Group", "member": OAUTH_PAIR}),
        ("version", "1.0.0"),
    )
    assert same_statement(stored, sent)
    assert same_statement(sent, stored)
    assert same_statement(changed(("timestamp", DELETE)), sent)


@pytest.mark.parametrize(
    "change",
    [
        ("result.score.raw", 6),
        ("result.success", False),
        ("result", DELETE),
        ("verb.display.fr", "a répondu !"),
        ("id", OTHER_ID),
        ("context.registration", OTHER_ID),
        (
            "object.definition.choices",
            [{"id": "b", "description": {"fr": "B"}}, {"id": "a", "description": {"fr": "A"}}],
        ),
        ("attachments", [ATTACHMENT]),
    ],
)
def test_same_statement_sees_any_other_difference(change: tuple[str, Any]) -> None:
    assert not same_statement(statement(), changed(change))


def test_same_statement_after_normalisation() -> None:
    single = changed(
        ("context.contextActivities.parent", {"id": "https://socle.example/modules/m1"}),
        ("object.objectType", DELETE),
        ("actor.objectType", DELETE),
    )
    assert same_statement(statement(), single)
    stored = validate_statement(statement())
    assert same_statement(stored, single)


def test_same_statement_lists_compare_in_order() -> None:
    activities = [{"id": "https://socle.example/a"}, {"id": "https://socle.example/b"}]
    one = changed(("context.contextActivities.grouping", activities))
    other = changed(("context.contextActivities.grouping", activities[::-1]))
    assert not same_statement(one, other)


def test_same_statement_refuses_invalid_statements() -> None:
    with pytest.raises(StatementError):
        same_statement(statement(), changed(("result.score.scaled", 5)))


# -- the agent query parameter ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "agent,ifi",
    [
        ({"mbox": "mailto:x@y"}, "mbox:mailto:x@y"),
        ({"objectType": "Agent", "name": "X", "mbox": "mailto:x@example.org"}, "mbox:mailto:x@example.org"),
        ({"mbox_sha1sum": SHA1.upper()}, f"mbox_sha1sum:{SHA1}"),
        ({"openid": "http://openid.example.org/1"}, "openid:http://openid.example.org/1"),
        ({"account": {"homePage": HOME, "name": "sub-123"}}, f"account:{HOME}|sub-123"),
        ({"objectType": "Group", "account": {"homePage": HOME, "name": "promo"}}, f"account:{HOME}|promo"),
        (
            {"objectType": "Group", "mbox": "mailto:g@example.org", "member": MEMBERS},
            "mbox:mailto:g@example.org",
        ),
    ],
)
def test_agent_param_and_its_ifi(agent: dict[str, Any], ifi: str) -> None:
    valid = validate_agent_param(agent)
    assert valid["objectType"] in ("Agent", "Group")
    assert agent_ifi(valid) == ifi
    assert agent_ifi(agent) == ifi


def test_agent_param_accepts_a_json_string() -> None:
    assert agent_ifi(validate_agent_param('{"mbox": "mailto:x@y"}')) == "mbox:mailto:x@y"


@pytest.mark.parametrize(
    "agent,path",
    [
        ({"objectType": "Group", "member": MEMBERS}, "agent"),  # anonymous group: no identifier
        ({"mbox": "mailto:x@y", "openid": "http://openid.example.org/1"}, "agent"),
        ({"name": "X"}, "agent"),
        ({"mbox": "x@y"}, "agent.mbox"),
        ({"account": {"homePage": HOME}}, "agent.account.name"),
        ({"objectType": "Activity", "id": "https://socle.example/a"}, "agent.objectType"),
        ("not json", "agent"),
        ("[]", "agent"),
        (42, "agent"),
    ],
)
def test_invalid_agent_params(agent: Any, path: str) -> None:
    with pytest.raises(StatementError) as caught:
        validate_agent_param(agent)
    assert caught.value.path == path


@pytest.mark.parametrize(
    "agent",
    [
        {"objectType": "Group", "member": MEMBERS},
        {"name": "nobody"},
        {"mbox": "mailto:x@y", "mbox_sha1sum": SHA1},
    ],
)
def test_agent_ifi_needs_exactly_one_identifier(agent: dict[str, Any]) -> None:
    with pytest.raises(StatementError):
        agent_ifi(agent)


# -- speed ------------------------------------------------------------------------------------------


def test_validation_is_fast_enough_for_every_statement() -> None:
    given = statement()
    validate_statement(given)
    rounds = 500
    started = time.perf_counter()
    for _ in range(rounds):
        validate_statement(given)
    per_statement = (time.perf_counter() - started) / rounds
    assert per_statement < 0.001  # about 0.05 ms on the reference machine; generous against CI noise


# -- what cannot be stored: a NUL or a lone surrogate, wherever it hides, named by its path
LTI_EXTENSION = "statement.context.extensions." + EXT + "lti"


def with_lti_extension(value: Any) -> dict[str, Any]:
    data = statement()
    data["context"]["extensions"][EXT + "lti"] = value
    return data


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ({"notes": ["ok", {"deep": "a\x00b"}]}, LTI_EXTENSION + ".notes[1].deep"),
        ({"k\ud800": "ok"}, LTI_EXTENSION),
        ({"text": "x\udfff"}, LTI_EXTENSION + ".text"),
    ],
)
def test_a_nul_or_surrogate_anywhere_is_refused_with_its_path(value: Any, path: str) -> None:
    with pytest.raises(StatementError) as error:
        validate_statement(with_lti_extension(value))
    assert error.value.path == path
    assert "NUL or an unpaired surrogate" in str(error.value)


def test_text_beyond_ascii_is_stored_as_sent() -> None:
    value = {"nom": "Élodie « d'Artagnan » — 😀", "€": ["ça", "日本"], "n": 3}
    out = validate_statement(with_lti_extension(value))
    assert out["context"]["extensions"][EXT + "lti"] == value


@pytest.mark.parametrize(
    ("text", "may_hold"),
    [
        (b'{"name": "\\u00e9l\\u00e8ve", "id": "plain"}', False),  # escapes of ordinary letters
        ('{"name": "Élève 😀"}'.encode(), False),  # UTF-8 as sent
        (b'{"name": "a\\u0000b"}', True),
        (b'{"name": "\\ud800"}', True),
        (b'{"name": "\\uDFFF"}', True),
        (b'{"name": "\\\\u0000 typed"}', True),  # an escaped backslash: looked at, then accepted
        ('{"name": "x"}'.encode("utf-16"), True),  # another encoding: looked at
    ],
)
def test_the_text_screen_rules_out_only_what_cannot_hide_a_nul_or_surrogate(
    text: bytes, may_hold: bool
) -> None:
    assert may_hold_unstorable(text) is may_hold
    if not may_hold:
        decoded = json.loads(text)
        validate_statement(with_lti_extension(decoded), screened=True)  # nothing for the check to find
