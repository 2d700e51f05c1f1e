"""The event pipeline on the real database: handlers in their order, follow-up events queued behind the
current one in the same transaction, an unknown type refused, a failing handler undoing everything."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select

from lti_tool import events, records
from lti_tool.certificates import issuing
from lti_tool.certificates.issuing import learner_scope
from lti_tool.competences import mastery
from lti_tool.db import DbSession, db
from lti_tool.learners.models import Learner as LearnerRow
from lti_tool.lti import ags
from lti_tool.lti.models import Launch
from lti_tool.records.statements import UnknownEventType
from lti_tool.scope import Scope
from tests.functional.test_player import Learner
from tests.helpers import LtiBrowser
from xapi.builder import statement_id
from xapi.models import Statement


@pytest.fixture
def scope(app: Flask, browser: LtiBrowser) -> Scope:
    """A learner launched in a course of their own (the event rows need a real learner and context)."""
    learner = Learner(browser, context={"id": f"pipeline-{time.time_ns()}", "title": "Cours du pipeline"})
    with app.app_context():
        launch = db.session.scalar(select(Launch).where(Launch.id == learner.launch))
        learner_pk = db.session.scalar(select(LearnerRow.id).where(LearnerRow.sub == learner.sub))
        assert launch is not None and learner_pk is not None
        found = learner_scope(db.session, learner_pk, launch.context_pk)
        db.session.remove()
    return found


@pytest.fixture
def session(app: Flask) -> Iterator[DbSession]:
    """The app's session in an app context, rolled back afterwards (what a failed request does)."""
    with app.app_context():
        try:
            yield db.session
        finally:
            db.session.rollback()
            db.session.remove()


@pytest.fixture
def pipeline(app: Flask, monkeypatch: pytest.MonkeyPatch) -> events.Pipeline:
    """An empty pipeline of the test's own in place of the app's, for this test only."""
    own = events.Pipeline()
    monkeypatch.setitem(app.extensions, "socle_events", own)
    return own


SATISFIED = {"code": "C1", "kind": "competence", "name": "Diagnostiquer", "score": 0.9, "rules_version": 1}


def record(session: DbSession, scope: Scope, type_: str = events.LAUNCHED) -> events.LearningEvent:
    payload = SATISFIED if type_ == events.COMPETENCE_SATISFIED else {}
    return events.record_event(session, scope, type_, content_version=1, payload=payload)


def test_create_app_registers_records_then_gradebook_then_mastery(app: Flask) -> None:
    handlers = app.extensions["socle_events"].handlers
    assert handlers == [records.on_event, ags.on_event, mastery.on_event]


def test_handlers_run_in_the_order_they_were_registered(
    session: DbSession, scope: Scope, pipeline: events.Pipeline
) -> None:
    calls: list[tuple[str, str]] = []
    for name in ("first", "second", "third"):
        pipeline.register(lambda _s, recorded, name=name: calls.append((name, recorded.event.id)))
    event = record(session, scope)
    assert calls == [("first", event.id), ("second", event.id), ("third", event.id)]


def test_a_later_handler_reads_what_an_earlier_one_added(
    session: DbSession, scope: Scope, pipeline: events.Pipeline
) -> None:
    seen: list[list[str]] = []
    pipeline.register(lambda _s, recorded: recorded.statement_ids.append("from-the-first"))
    pipeline.register(lambda _s, recorded: seen.append(list(recorded.statement_ids)))
    record(session, scope)
    assert seen == [["from-the-first"]]


def test_a_follow_up_event_is_handled_after_the_current_events_handlers_in_the_same_transaction(
    session: DbSession, scope: Scope, pipeline: events.Pipeline
) -> None:
    calls: list[tuple[str, str]] = []
    follow_ups: list[events.LearningEvent] = []
    transactions = []

    def satisfies(session: DbSession, recorded: events.Recorded) -> None:
        calls.append(("satisfies", recorded.event.type))
        transactions.append(session.connection().get_transaction())
        if recorded.event.type == events.LAUNCHED:
            follow_up = record(session, scope, events.COMPETENCE_SATISFIED)
            # its row is written at once, but its handlers wait for this event's to finish
            assert session.get(events.LearningEvent, follow_up.id) is not None
            assert calls == [("satisfies", events.LAUNCHED)]
            follow_ups.append(follow_up)

    def after(session: DbSession, recorded: events.Recorded) -> None:
        calls.append(("after", recorded.event.type))
        transactions.append(session.connection().get_transaction())

    pipeline.register(satisfies)
    pipeline.register(after)
    before = session.connection().get_transaction()
    record(session, scope)
    assert calls == [
        ("satisfies", events.LAUNCHED),
        ("after", events.LAUNCHED),
        ("satisfies", events.COMPETENCE_SATISFIED),
        ("after", events.COMPETENCE_SATISFIED),
    ]
    assert before is not None and all(t is before for t in transactions)
    assert session.get(events.LearningEvent, follow_ups[0].id) is not None


def test_an_unknown_event_type_raises(session: DbSession, scope: Scope) -> None:
    with pytest.raises(UnknownEventType, match="no_such_event"):
        record(session, scope, "no_such_event")


def test_a_failing_handler_rolls_the_whole_event_back(
    app: Flask, session: DbSession, scope: Scope, pipeline: events.Pipeline
) -> None:
    """The real handlers store the event's statement, then the follow-up's handler fails: once the caller
    rolls back, neither event nor statement is left, and the next event is handled as usual."""
    recorded_ids: list[str] = []

    def fails_on_the_follow_up(session: DbSession, recorded: events.Recorded) -> None:
        recorded_ids.append(recorded.event.id)
        if recorded.event.type == events.LAUNCHED:
            record(session, scope, events.COMPETENCE_SATISFIED)
        else:
            raise RuntimeError("a handler failed")

    pipeline.register(records.on_event)
    pipeline.register(fails_on_the_follow_up)
    with pytest.raises(RuntimeError, match="a handler failed"):
        record(session, scope)
    launched, satisfied = recorded_ids
    assert session.get(Statement, statement_id(launched)) is not None  # written, not yet committed
    session.rollback()
    assert session.get(events.LearningEvent, launched) is None
    assert session.get(events.LearningEvent, satisfied) is None
    assert session.get(Statement, statement_id(launched)) is None
    # nothing is left queued: the next event is handled at once
    handled: list[str] = []
    pipeline.handlers[:] = [lambda _s, recorded: handled.append(recorded.event.id)]
    assert [record(session, scope).id] == handled


def test_an_app_without_handlers_refuses_to_record(
    session: DbSession, scope: Scope, pipeline: events.Pipeline
) -> None:
    count = len(list(session.scalars(select(events.LearningEvent.id))))
    with pytest.raises(events.NoEventHandlers):
        record(session, scope)
    assert len(list(session.scalars(select(events.LearningEvent.id)))) == count


def test_an_app_that_never_wired_the_pipeline_refuses_to_record(scope: Scope) -> None:
    bare = Flask(__name__)
    with bare.app_context(), pytest.raises(events.NoEventHandlers):
        record(db.session, scope)


def test_certificates_listen_to_mastery_for_their_own_app_only(app: Flask) -> None:
    assert list(mastery.met.receivers_for(app)) == [issuing._award_when_blocs_met]
    assert not mastery.met.has_receivers_for(Flask(__name__))
