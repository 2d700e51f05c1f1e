"""Socle's event vocabulary: every event type has its statements, an unknown one raises, and the statement
parts it builds on (``xapi.builder``) need nothing of Socle or Flask."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lti_tool import events
from lti_tool.records.statements import STATEMENTS, Event, ModuleRef, UnknownEventType, statements_of
from xapi import vocabulary as v
from xapi.builder import Builder, Person, Where, statement_id
from xapi.validation import validate_statement

ROOT = Path(__file__).resolve().parents[3]
PERSON = Person("https://lms.example.org", "learner-1")
WHERE = Where("https://lms.example.org", "deployment-1", "course-1", "Cours", "link-1", "launch-1")


def event(type_: str, **payload: object) -> Event:
    return Event(
        id="7f0c1a52-58b4-4b9e-9d0c-2b1d1c7e6a10",
        type=type_,
        occurred_at=datetime(2026, 12, 7, 16, 0, tzinfo=UTC),
        content_version=3,
        module=ModuleRef("M1", "Fondamentaux"),
        payload=payload,
    )


def test_every_event_type_socle_records_has_its_statements() -> None:
    types = {
        value
        for name, value in vars(events).items()
        if name.isupper() and not name.startswith("_") and isinstance(value, str)
    }
    assert types and types <= set(STATEMENTS)


def test_an_unknown_event_type_raises_rather_than_recording_nothing() -> None:
    with pytest.raises(UnknownEventType, match="made_up"):
        statements_of(Builder(v.Vocabulary("https://socle.example.org")), PERSON, WHERE, event("made_up"))


def test_a_quiz_passed_makes_one_valid_passed_statement_with_its_derived_id() -> None:
    given = event(
        events.QUIZ_PASSED,
        score=0.8,
        correct=4,
        questions=5,
        mastery_score=0.7,
        attempt=1,
        duration_seconds=90,
    )
    (statement,) = statements_of(Builder(v.Vocabulary("https://socle.example.org")), PERSON, WHERE, given)
    validate_statement(statement)
    assert statement["id"] == statement_id(given.id, 0)
    assert statement["verb"]["id"] == v.PASSED
    assert statement["object"]["id"] == "https://socle.example.org/xapi/activities/modules/M1"
    assert statement["result"]["score"]["scaled"] == 0.8


def test_the_statement_builder_imports_nothing_of_socle_or_flask() -> None:
    code = (
        "import sys, xapi.builder\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('lti_tool', 'flask', 'werkzeug'))\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)  # noqa: S603 (fixed argv)
