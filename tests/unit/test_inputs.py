"""The request parsers: ASCII digits within the column, dates that move to UTC, text a database can hold."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from werkzeug.exceptions import NotFound
from werkzeug.routing import Map, Rule

from lti_tool import inputs
from lti_tool.errors import InvalidInput


@pytest.mark.parametrize("raw", ["²", "٣", "1.5", "-1", " ", "", "1e3", str(2**31), str(2**63), "9" * 5000])
def test_an_id_is_ascii_digits_within_the_column(raw: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        inputs.identifier(raw, "learner")
    assert refused.value.status == 400 and "learner" in refused.value.what.fr
    assert "learner" in refused.value.what.en


def test_a_number_is_read_within_its_bounds() -> None:
    assert inputs.identifier(" 42 ", "learner") == 42
    assert inputs.integer("480", "duration_minutes", low=5, high=480) == 480
    with pytest.raises(InvalidInput):
        inputs.integer("481", "duration_minutes", low=5, high=480)
    assert inputs.row_id("²") is None and inputs.row_id(str(2**31)) is None and inputs.row_id("7") == 7


def test_a_date_must_move_to_utc() -> None:
    paris = ZoneInfo("Europe/Paris")
    assert inputs.local_datetime("2026-12-03T14:00", "starts_at", paris) == datetime(
        2026, 12, 3, 13, tzinfo=UTC
    )
    for raw in ("0001-01-01T00:00", "9999-12-31T23:59", "2026-13-01T00:00", "demain", "２０２６-12-03T14:00"):
        with pytest.raises(InvalidInput):
            inputs.local_datetime(raw, "starts_at", paris)


def test_text_with_nul_or_a_lone_surrogate_cannot_be_stored() -> None:
    assert inputs.bad_text("Ada\x00") == "NUL"
    assert inputs.bad_text("Ada \ud800") == "surrogate"
    assert inputs.bad_text("Ada Lovelace 😀") is None
    assert inputs.json_strings_bad({"a": [{"b": "\udfff"}]}) and inputs.json_strings_bad({"\x00": 1})
    assert not inputs.json_strings_bad({"a": ["é", 1, None]})


def test_json_depth_is_walked_without_recursion() -> None:
    nested: object = "fond"
    for _ in range(100_000):
        nested = [nested]
    assert inputs.json_depth_exceeds(nested)
    assert not inputs.json_depth_exceeds({"a": [{"b": [1]}]})


def test_the_int_converter_bounds_ids_to_the_column() -> None:
    urls = Map([Rule("/runs/<int:run_id>", endpoint="run")], converters={"int": inputs.IdConverter}).bind("x")
    assert urls.match("/runs/2147483647") == ("run", {"run_id": 2**31 - 1})
    for path in (f"/runs/{2**31}", f"/runs/{2**63}", "/runs/٣", "/runs/-1"):
        with pytest.raises(NotFound):
            urls.match(path)
