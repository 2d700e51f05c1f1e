"""The database handle, the migration engine and the column types every feature shares."""

from __future__ import annotations

import functools
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias

from flask import Flask
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, MetaData, Table, TypeDecorator, event, exc, insert
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session

# Named constraints, so that Alembic migrations can drop and alter them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    if TYPE_CHECKING:
        # Every model maps one table of its own (none maps a join or a select), so Core statements take it.
        __table__: ClassVar[Table]


db = SQLAlchemy(model_class=Base)

# The base of every model. At run time it is Flask-SQLAlchemy's ``db.Model`` (built from ``Base``); mypy
# cannot take a base class from an attribute (python/mypy#8603), so type checking sees the typed ``Base``.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model

# What services take: a plain Session, or Flask-SQLAlchemy's request-scoped ``db.session``.
DbSession: TypeAlias = Session | scoped_session[Any]
migrate = Migrate()


# A pooled connection that sat unused longer than this is tested before it is handed out again.
PING_AFTER_IDLE_SECONDS = 1.0


def ping_when_idle(engine: Engine, idle_seconds: float = PING_AFTER_IDLE_SECONDS) -> None:
    """Test a pooled connection (``SELECT 1``) before reuse only when it sat idle for ``idle_seconds``.

    A server restart or an idle timeout must not turn the next request into a 500. SQLAlchemy's
    ``pool_pre_ping`` tests every checkout, a round trip on every request (two on a launch) even when the
    connection was used a millisecond earlier. Under load connections never sit idle, so the test is skipped;
    after a pause (when a restart or a timeout can have happened) it runs. A connection that fails it is
    replaced (SQLAlchemy's documented ``DisconnectionError`` on checkout). A connection the server dropped
    while in use is detected by SQLAlchemy, which then discards the whole pool."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < idle_seconds:
            return
        try:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("SELECT 1")
            finally:
                cursor.close()
            dbapi_connection.rollback()  # leave no transaction open behind the ping
        except Exception as error:
            raise exc.DisconnectionError("stale pooled connection") from error


def end_requests_with_commit(app: Flask) -> None:
    """The one commit point of a request: services and views only ``flush()``; a successful request's
    transaction is committed here, before the response leaves, so that a failing COMMIT is an error
    response (the app's 500 page) and never a silent loss behind a page that said "saved".

    A failed request (4xx, 5xx, an exception) rolls back, so a refusal records nothing. A transaction that
    only read is committed too: ending it with ROLLBACK (Flask-SQLAlchemy's default) makes psycopg forget
    every statement it had prepared on the connection, so PostgreSQL would parse and plan each query again
    on every request. A streamed body still reads the session after this point: it is left to
    Flask-SQLAlchemy's teardown (streamed responses are read-only exports)."""

    # Registered before every other ``after_request`` (create_app binds the database first), so it runs
    # last (they run in reverse order) and commits what they read too (the frame-ancestors lookup).
    @app.after_request
    def _commit_or_roll_back(response: Any) -> Any:
        if response.is_streamed or not db.session.registry.has():
            return response
        session = db.session()
        if not session.in_transaction():
            return response
        if response.status_code >= 400:
            session.rollback()
            return response
        try:
            session.commit()
        except Exception:
            # Raised again: Flask turns it into the error page (and logs it); nothing of the request is kept.
            session.rollback()
            raise
        return response


def insert_row(session: DbSession, model: Any, row: dict[str, Any]) -> Any:
    """Insert one row with a Core statement (no unit-of-work flush) and return it as a transient object, for
    rows written once on a hot path (login states, launches, learning events) that nothing changes later."""
    session.connection().execute(insert(model), row)
    return model(**row)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every database (SQLite keeps no zone, so store naive UTC)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column; use datetime.now(UTC)")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def insert_once(
    session: DbSession, model: Any, values: dict[str, Any], unique: tuple[str, ...], where: Any = None
) -> Any | None:
    """INSERT … ON CONFLICT (unique) DO NOTHING: the new row's id, or None when it already exists.

    A double click sends the same form twice at once: both requests see no row and both insert, and the
    unique constraint made the second a 500. Here the database decides, without a savepoint (pysqlite's
    would commit the outer transaction early), and the caller treats None as "already recorded". ``where``
    names a partial unique index's condition (the index the conflict is checked against): a module-level
    constant, since the statement is built once per (table, conflict target, condition)."""
    session.flush()  # what the session holds is in the database before the database decides
    statement = _insert_once_statement(model, unique, where, session.get_bind().dialect.name)
    return session.connection().execute(statement, values).scalar_one_or_none()


@functools.lru_cache(maxsize=64)
def _insert_once_statement(model: Any, unique: tuple[str, ...], where: Any, dialect: str) -> Any:
    """Built once; the values travel as parameters (building it at each launch cost half a millisecond)."""
    builder: Any = {"postgresql": postgresql_insert, "sqlite": sqlite_insert}[dialect]
    return (
        builder(model)
        .on_conflict_do_nothing(index_elements=list(unique), index_where=where)
        .returning(model.id)
    )
