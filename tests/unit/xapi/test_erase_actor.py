"""xapi.store.erase_actor: a person's statements go with their index and outbox rows; others' stay."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, update
from sqlalchemy.orm import Session

from xapi import store
from xapi.models import (
    Base,
    Endpoint,
    OutboxRow,
    Statement,
    StatementActivity,
    StatementAgent,
    StatementAttachment,
)

HOME = "https://moodle.example"
AUTHORITY = {"objectType": "Agent", "account": {"homePage": "https://socle.example", "name": "socle"}}


@pytest.fixture
def session() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        yield session
    engine.dispose()


def agent(name: str) -> dict[str, Any]:
    return {"objectType": "Agent", "account": {"homePage": HOME, "name": name}}


def statement(actor: str, activity: str, instructor: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "actor": agent(actor),
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
        "object": {"id": f"https://socle.example/{activity}"},
    }
    if instructor:
        body["context"] = {"instructor": agent(instructor)}
    return body


def count(session: Session, model: Any, *where: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_erase_actor_deletes_their_statements_index_and_outbox_and_names_the_lrs(session: Session) -> None:
    session.add(Endpoint(name="university LRS", url="https://lrs.example/xapi", is_active=True))
    session.flush()
    erased_ids = store.store(
        session, [statement("ana", "page-1"), statement("ana", "page-2")], authority=AUTHORITY
    )
    # Another learner's statement names Ana only as the instructor: it is not hers, it stays.
    kept_ids = store.store(session, [statement("ben", "page-1", instructor="ana")], authority=AUTHORITY)
    session.execute(
        update(OutboxRow).where(OutboxRow.statement_id == erased_ids[0]).values(status="delivered")
    )

    ana = f"account:{HOME}|ana"
    assert sorted(store.actor_statement_ids(session, ana)) == sorted(erased_ids)
    erased = store.erase_actor(session, ana)

    assert erased == store.ErasedActor(statements=2, forwarded_to=["university LRS"])
    for model, column in (
        (Statement, Statement.id),
        (StatementAgent, StatementAgent.statement_id),
        (StatementActivity, StatementActivity.statement_id),
        (OutboxRow, OutboxRow.statement_id),
    ):
        assert count(session, model, column.in_(erased_ids)) == 0, model.__tablename__
        assert count(session, model, column.in_(kept_ids)) > 0, model.__tablename__
    assert store.actor_statement_ids(session, ana) == []
    assert store.erase_actor(session, ana) == store.ErasedActor(statements=0, forwarded_to=[])


def test_erase_actor_takes_the_attachments_of_their_statements(session: Session) -> None:
    erased_ids = store.store(session, [statement("ana", "page-1")], authority=AUTHORITY)
    kept_ids = store.store(session, [statement("ben", "page-1")], authority=AUTHORITY)
    for statement_id in (*erased_ids, *kept_ids):
        session.add(
            StatementAttachment(
                statement_id=statement_id, sha2="ab" * 32, content_type="text/plain", content=b"notes"
            )
        )
    session.flush()

    store.erase_actor(session, f"account:{HOME}|ana")

    assert count(session, StatementAttachment, StatementAttachment.statement_id.in_(erased_ids)) == 0
    assert count(session, StatementAttachment, StatementAttachment.statement_id.in_(kept_ids)) == 1
