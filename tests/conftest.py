"""Shared fixtures: a real database (SQLite, or PostgreSQL with LTI_TOOL_TEST_DATABASE_URL), Socle served
over real HTTP on loopback with its demo platform as the fake LMS, and browser-like HTTP clients.

Every test that uses the live server starts from a known database: what a test writes is undone after it,
and each test module starts from the state ``setup`` left (see ``DatabaseState``)."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import (
    MetaData,
    Table,
    and_,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.types import NullType
from werkzeug.serving import make_server

from lti_tool import create_app
from lti_tool.config import normalise_database_url
from lti_tool.db import db
from lti_tool.learners.models import Context, Enrolment, Learner
from lti_tool.lti.models import Launch, LoginState
from tests.helpers import LtiBrowser, Platform

TEST_SECRET = "test-secret-" + "x" * 40
SECOND_CLIENT_ID = "socle-demo-second"
SECOND_DEPLOYMENT_ID = "socle-demo-second-1"
EXTRA_DEPLOYMENT_ID = "socle-demo-2"


@contextlib.contextmanager
def new_database(prefix: str, sqlite_file: Path) -> Iterator[str]:
    """An empty database of its own: a SQLite file, or a new PostgreSQL database on the server named by
    LTI_TOOL_TEST_DATABASE_URL, dropped afterwards."""
    server_url = os.environ.get("LTI_TOOL_TEST_DATABASE_URL")
    if not server_url or server_url.startswith("sqlite"):
        yield "sqlite:///" + str(sqlite_file)
        return
    admin_url = make_url(normalise_database_url(server_url))
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            )
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh database for the session: a SQLite file, or a new PostgreSQL database dropped afterwards."""
    with new_database("socle_test", tmp_path_factory.mktemp("db") / "socle-test.sqlite3") as url:
        yield url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_config(database_url: str, instance: Path, port: int, **overrides: Any) -> dict[str, Any]:
    base = f"http://127.0.0.1:{port}"
    config: dict[str, Any] = {
        "ENV": "testing",
        "TESTING": True,
        "SECRET_KEY": TEST_SECRET,
        "INSTANCE_PATH": str(instance),
        "BASE_URL": base,
        "DATABASE_URL": database_url,
        "LTI_CONFIG_PATH": str(instance / "lti_config.json"),
        # Refetch on every unknown kid, so tests see exactly one refetch per launch.
        "JWKS_REFETCH_MIN_SECONDS": 0,
        "DEMO_EXTRA_TOOLS": [
            {
                "client_id": SECOND_CLIENT_ID,
                "deployment_id": SECOND_DEPLOYMENT_ID,
                "login_url": base + "/lti/login",
                "redirect_uris": [base + "/lti/launch"],
                "target_link_uri": base + "/lti/launch",
            }
        ],
    }
    config.update(overrides)
    return config


def production_config(instance: Path, **overrides: Any) -> dict[str, Any]:
    """``standalone_config`` with what production requires to start (https, the issuer's address)."""
    settings = {
        "ENV": "production",
        "BASE_URL": "https://socle.example.org",
        "CERTIFICATE_ISSUER_EMAIL": "certificats@socle.example.org",
        **overrides,
    }
    return standalone_config(instance, **settings)


def standalone_config(instance: Path, **overrides: Any) -> dict[str, Any]:
    """Settings for an app of its own (no live server), with a SQLite file in its instance folder."""
    config: dict[str, Any] = {
        "ENV": "testing",
        "SECRET_KEY": TEST_SECRET,
        "INSTANCE_PATH": str(instance),
        "DATABASE_URL": "sqlite:///" + str(instance / "db.sqlite3"),
        "LTI_CONFIG_PATH": str(instance / "lti_config.json"),
        "DEMO_PLATFORM": False,
    }
    config.update(overrides)
    return config


# A statement that writes names its table after one of these (INSERT … INTO, UPDATE, DELETE FROM); a false
# match ("FOR UPDATE SKIP", "DO UPDATE SET") names no table and is ignored.
_WRITES = re.compile(r'\b(INSERT(?:\s+OR\s+\w+)?\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE)
Rows = dict[tuple[Any, ...], dict[str, Any]]


class DatabaseState:
    """Isolation of the tests that share the live server's database, without a new database per test.

    The state ``setup`` leaves is the baseline. Every statement that writes, from any connection to the test
    database (the live server's threads, the CLI runner, a test's own session), marks its table. A test
    starts from a snapshot of the tables (what its module's fixtures wrote included); when it ends, each table
    it wrote is put back row by row (rows added deleted, rows changed or deleted restored, by primary key),
    so the next test finds what the previous one found. When a module ends, every table written since the
    baseline is put back to it: the next module starts from ``setup``'s state. Only the tables written are
    read and touched, so a test pays for what it wrote, not for the size of the schema.

    What is not in the database (the instance folder's keys, the demo platform's in-process switches, the
    app's caches) is not covered."""

    def __init__(self, url: str) -> None:
        # Pinged before use: a test may terminate the server's connections (test_operations does).
        self.engine = create_engine(url, pool_pre_ping=True)
        self._url = self.engine.url
        self._lock = threading.Lock()
        self._written: set[str] = set()  # since the last snapshot or restore
        self._since_baseline: set[str] = set()
        self.seconds = 0.0  # spent snapshotting and restoring (the suite prints it at the end)
        metadata = MetaData()
        metadata.reflect(self.engine)
        raw = self.engine.dialect.name == "sqlite"
        self.tables: dict[str, Table] = {}
        # A DELETE also changes, through ON DELETE CASCADE / SET NULL, tables its statement does not name.
        self._cascades = _cascades(metadata)
        for table in metadata.sorted_tables:  # parents before children
            if table.name == "alembic_version" or not table.primary_key.columns:
                continue
            if raw:  # SQLite: copy the stored values as they are (no date or JSON conversion on the way)
                for column in table.columns:
                    column.type = NullType()
            self.tables[table.name] = table
        with self.engine.connect() as connection:
            self.baseline = {name: self._read(connection, table) for name, table in self.tables.items()}
        self.snapshot = dict(self.baseline)
        event.listen(Engine, "before_cursor_execute", self._watch)

    def close(self) -> None:
        event.remove(Engine, "before_cursor_execute", self._watch)
        self.engine.dispose()

    def _watch(self, connection: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
        if connection.engine is self.engine or statement.lstrip()[:6].upper() == "SELECT":
            return
        url = connection.engine.url
        if url.database != self._url.database or url.get_backend_name() != self._url.get_backend_name():
            return  # another database (a test's own app)
        names: set[str] = set()
        for verb, name in _WRITES.findall(statement):
            names.add(name)
            if verb.upper().startswith("DELETE"):
                names |= self._cascades.get(name, set())
        names &= self.tables.keys()
        if names:
            with self._lock:
                self._written |= names

    def _take_written(self) -> set[str]:
        with self._lock:
            written, self._written = self._written, set()
        self._since_baseline |= written
        return written

    def _read(self, connection: Connection, table: Table) -> Rows:
        key = [column.name for column in table.primary_key.columns]
        rows = (dict(row._mapping) for row in connection.execute(select(table)))
        return {tuple(row[name] for name in key): row for row in rows}

    def begin_test(self) -> None:
        """The state the test starts from: the snapshot, refreshed where fixtures wrote since."""
        started = time.perf_counter()
        written = self._take_written()
        if written:
            with self.engine.connect() as connection:
                for name in written:
                    self.snapshot[name] = self._read(connection, self.tables[name])
        self.seconds += time.perf_counter() - started

    def end_test(self) -> None:
        """Undo what the test wrote."""
        started = time.perf_counter()
        self._restore(self._take_written(), self.snapshot)
        self.seconds += time.perf_counter() - started

    def end_module(self) -> None:
        """Back to the baseline, for the next module."""
        started = time.perf_counter()
        self._take_written()
        self._restore(self._since_baseline, self.baseline)
        self._since_baseline = set()
        self.snapshot = dict(self.baseline)
        self.seconds += time.perf_counter() - started

    def _restore(self, names: Iterable[str], target: dict[str, Rows]) -> None:
        order = [name for name in self.tables if name in set(names)]
        if not order:
            return
        with self.engine.begin() as connection:
            current = {name: self._read(connection, self.tables[name]) for name in order}
            for name in reversed(order):  # children first
                table, wanted = self.tables[name], target[name]
                extra = [pk for pk in current[name] if pk not in wanted]
                if extra:
                    connection.execute(
                        _by_key(delete(table), table), [_key_params(table, pk) for pk in extra]
                    )
            for name in order:  # parents first
                table, wanted, now = self.tables[name], target[name], current[name]
                missing = [row for pk, row in wanted.items() if pk not in now]
                changed = [row for pk, row in wanted.items() if pk in now and now[pk] != row]
                for row in changed:
                    done = connection.execute(
                        _by_key(update(table), table).values(row), _key_params(table, _pk(table, row))
                    )
                    if done.rowcount == 0:  # deleted meanwhile by a cascade
                        missing.append(row)
                if missing:
                    connection.execute(insert(table), missing)


def _cascades(metadata: MetaData) -> dict[str, set[str]]:
    """For each table, the tables a DELETE on it can change through their foreign keys' ON DELETE."""
    direct: dict[str, set[str]] = {}
    for table in metadata.tables.values():
        for key in table.foreign_keys:
            if key.ondelete:
                direct.setdefault(key.column.table.name, set()).add(table.name)
    reached: dict[str, set[str]] = {}
    for name in direct:
        seen: set[str] = set()
        todo = [name]
        while todo:
            for child in direct.get(todo.pop(), set()) - seen:
                seen.add(child)
                todo.append(child)
        reached[name] = seen
    return reached


def _pk(table: Table, row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row[column.name] for column in table.primary_key.columns)


def _by_key(statement: Any, table: Table) -> Any:
    return statement.where(
        and_(*(column == bindparam("key_" + column.name) for column in table.primary_key.columns))
    )


def _key_params(table: Table, pk: tuple[Any, ...]) -> dict[str, Any]:
    return {"key_" + column.name: value for column, value in zip(table.primary_key.columns, pk, strict=True)}


_DATABASE_STATE = pytest.StashKey[DatabaseState]()
_ISOLATION_SECONDS = pytest.StashKey[float]()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    seconds = config.stash.get(_ISOLATION_SECONDS, None)
    if seconds is not None:
        terminalreporter.write_line(f"database isolation: {seconds:.1f} s of snapshots and restores")


@pytest.fixture(autouse=True, scope="module")
def _module_starts_from_setup(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a module (its fixtures' teardowns done), the database goes back to what ``setup`` left."""
    yield
    state = request.config.stash.get(_DATABASE_STATE, None)
    if state is not None:
        state.end_module()


@pytest.fixture(autouse=True)
def _test_leaves_no_trace(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test on the live server starts from its module's state and leaves it as it found it."""
    if "live_server" not in request.fixturenames:
        yield
        return
    state = request.getfixturevalue("live_server").state
    if state is None:
        yield
        return
    state.begin_test()
    yield
    state.end_test()


class LiveServer:
    def __init__(self, app: Flask, port: int) -> None:
        self.app = app
        self.url = f"http://127.0.0.1:{port}"
        self._server = make_server("127.0.0.1", port, app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self.state: DatabaseState | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)


@pytest.fixture(scope="session")
def live_server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> Iterator[LiveServer]:
    """Socle on a loopback port, migrated, with the demo platform registered (plus a second client and
    a second deployment of the same issuer, for the multi-client and deployment cases): the baseline every
    test module starts from."""
    instance = tmp_path_factory.mktemp("instance")
    port = free_port()
    app = create_app(make_config(database_url, instance, port))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["setup"])
    assert result.exit_code == 0, result.output
    demo = app.extensions["socle_demo_platform"]
    for client_id, deployment in (
        (SECOND_CLIENT_ID, SECOND_DEPLOYMENT_ID),
        ("socle-demo", EXTRA_DEPLOYMENT_ID),
    ):
        result = runner.invoke(
            args=[
                "platform",
                "add",
                "--issuer",
                demo.issuer,
                "--client-id",
                client_id,
                "--auth-login-url",
                demo.auth_url,
                "--auth-token-url",
                demo.token_url,
                "--key-set-url",
                demo.jwks_url,
                "--deployment-id",
                deployment,
            ]
        )
        assert result.exit_code == 0, result.output
    server = LiveServer(app, port)
    # SOCLE_TEST_ISOLATION=0: one shared database as before (to measure the isolation's cost, or to find
    # which earlier test a failing one leaned on).
    if os.environ.get("SOCLE_TEST_ISOLATION", "1") != "0":
        server.state = pytestconfig.stash[_DATABASE_STATE] = DatabaseState(database_url)
    server.start()
    yield server
    server.stop()
    if server.state is not None:
        del pytestconfig.stash[_DATABASE_STATE]
        server.state.close()
        pytestconfig.stash[_ISOLATION_SECONDS] = server.state.seconds
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def app(live_server: LiveServer) -> Flask:
    return live_server.app


@pytest.fixture
def platform(live_server: LiveServer) -> Platform:
    """The demo platform, seen from a test: it signs whatever claims a case needs."""
    return Platform(live_server.app.extensions["socle_demo_platform"], live_server.url)


@pytest.fixture
def browser(live_server: LiveServer, platform: Platform) -> LtiBrowser:
    """A cookie-keeping HTTP client, like one person's browser."""
    return LtiBrowser(live_server.url, platform)


@pytest.fixture
def other_browser(live_server: LiveServer, platform: Platform) -> LtiBrowser:
    return LtiBrowser(live_server.url, platform)


def recorded(app: Flask) -> dict[str, int]:
    """How many learners, contexts, enrolments, launches and consumed logins the database holds."""
    with app.app_context():
        counts = {
            model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Learner, Context, Enrolment, Launch)
        }
        # A refused launch consumes no login either (its one-time nonce stays unused).
        counts["consumed_logins"] = db.session.scalar(
            select(func.count()).select_from(LoginState).where(LoginState.used_at.is_not(None))
        )
        db.session.remove()
        return counts  # type: ignore[return-value]


@pytest.fixture
def nothing_recorded(app: Flask) -> Iterator[None]:
    """Assert that the test leaves no learner, context, enrolment or launch behind."""
    before = recorded(app)
    yield
    assert recorded(app) == before


@pytest.fixture
def jwks_fetches(app: Flask):  # type: ignore[no-untyped-def]
    """How many times Socle has fetched the demo platform's key set (for its main client id)."""
    from lti_tool.learners.models import Platform as PlatformRow

    def count() -> int:
        with app.app_context():
            value = db.session.scalar(
                select(PlatformRow.jwks_fetch_count).where(PlatformRow.client_id == "socle-demo")
            )
            db.session.remove()
            return int(value or 0)

    return count


@pytest.fixture
def content(app: Flask):  # type: ignore[no-untyped-def]
    """The programme's content as the running app loaded it."""
    return app.extensions["socle_content"]
