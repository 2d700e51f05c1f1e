"""Storing and querying statements (the LRS side). Explicit SQLAlchemy session in, no Flask.

Statements are validated, stored with their query indexes (agents and activities they name), voiding is
applied, and an outbox row is written for each external LRS that should receive them: all in the caller's
transaction, so a statement exists exactly when the change it records does.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, delete, insert, or_, select, text, true, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from xapi import validation
from xapi.models import (
    Endpoint,
    OutboxRow,
    SessionLike,
    Statement,
    StatementActivity,
    StatementAgent,
    StatementAttachment,
    now_us,
)
from xapi.vocabulary import VOIDED

_STATEMENTS = cast(Table, Statement.__table__)
_AGENTS = cast(Table, StatementAgent.__table__)
_ACTIVITIES = cast(Table, StatementActivity.__table__)
_OUTBOX = cast(Table, OutboxRow.__table__)


def _insert_with_index_pg(
    session: SessionLike,
    rows: list[dict[str, Any]],
    agents: list[tuple[str, str, bool]],
    activities: list[tuple[str, str, bool]],
    *,
    skip_stored: bool,
) -> set[str]:
    """PostgreSQL: statements and their agent and activity index rows in one statement (one round trip,
    data-modifying WITH clauses); return the ids inserted.

    ``skip_stored``: ids already stored are left alone (``ON CONFLICT DO NOTHING``) and get no index rows; the
    caller judges them. Without it (brand-new ids) a duplicate is an error, as for any insert."""
    connection = session.connection()
    columns = tuple(rows[0])
    sql = _combined_sql(columns, skip_stored, connection.dialect)
    params = (
        *([row[column] for row in rows] for column in columns),
        *_transposed(agents, 3),
        *_transposed(activities, 3),
    )
    return {row[0] for row in connection.exec_driver_sql(sql, params)}


def _transposed(rows: list[tuple[Any, ...]], width: int) -> list[list[Any]]:
    """Rows as column arrays (what ``unnest`` takes)."""
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[] for _ in range(width)]


_INDEX_COLUMNS = {
    _AGENTS.name: ("statement_id", "ifi", "is_direct"),
    _ACTIVITIES.name: ("statement_id", "activity_id", "is_direct"),
}
_combined_cache: dict[tuple[tuple[str, ...], bool], str] = {}


def _combined_sql(columns: tuple[str, ...], skip_stored: bool, dialect: Any) -> str:
    key = (columns, skip_stored)
    sql = _combined_cache.get(key)
    if sql is None:
        conflict = " ON CONFLICT (id) DO NOTHING" if skip_stored else ""
        parts = [f"new AS ({_unnest_sql(_STATEMENTS, columns, dialect)}{conflict} RETURNING id)"]
        for table in (_AGENTS, _ACTIVITIES):
            index_columns = _INDEX_COLUMNS[table.name]
            only_new = " WHERE u.statement_id IN (SELECT id FROM new)" if skip_stored else ""
            parts.append(
                f"{table.name} AS ({_unnest_sql(table, index_columns, dialect)}"
                f" AS u({', '.join(index_columns)}){only_new})"
            )
        sql = _combined_cache[key] = "WITH " + ", ".join(parts) + " SELECT id FROM new"  # noqa: S608 - our own table and column names
    return sql


def _judge_earlier_copies(session: SessionLike, statements: list[dict[str, Any]]) -> None:
    """Statements whose id was already stored: an equal resend is fine, anything else is a conflict."""
    ids = [statement["id"] for statement in statements]
    earlier = dict(session.execute(select(Statement.id, Statement.body).where(Statement.id.in_(ids))).all())
    for statement in statements:
        body = earlier.get(statement["id"])
        if body is None or not validation.same_statement(json.loads(body), statement):
            raise Conflict(statement["id"])


def bulk_insert(session: SessionLike, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows (all with the same keys) in one round trip, without the ORM's per-row bookkeeping.

    On PostgreSQL, one ``INSERT … SELECT FROM unnest(arrays)``: a single statement whatever the number of
    rows (psycopg's executemany sends and tracks every row on its own, which costs more than the SQL).
    Elsewhere (SQLite), the driver's executemany, which is already a loop in C."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        connection.execute(insert(table), rows)
        return
    columns = tuple(rows[0])
    connection.exec_driver_sql(
        _unnest_sql(table, columns, connection.dialect),
        tuple([row[column] for row in rows] for column in columns),
    )


def _insert_index(
    session: SessionLike, agents: list[tuple[str, str, bool]], activities: list[tuple[str, str, bool]]
) -> None:
    for table, rows in ((_AGENTS, agents), (_ACTIVITIES, activities)):
        columns = _INDEX_COLUMNS[table.name]
        bulk_insert(session, table, [dict(zip(columns, row, strict=True)) for row in rows])


_unnest_cache: dict[tuple[str, tuple[str, ...]], str] = {}


def _unnest_sql(table: Table, columns: tuple[str, ...], dialect: Any) -> str:
    key = (table.name, columns)
    sql = _unnest_cache.get(key)
    if sql is None:
        # %b: psycopg sends the arrays in binary (no per-element quoting of the JSON bodies).
        arrays = ", ".join(f"%b::{table.c[c].type.compile(dialect=dialect)}[]" for c in columns)
        sql = _unnest_cache[key] = (
            f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT * FROM unnest({arrays})"  # noqa: S608 - our own table and column names
        )
    return sql


MAX_LIMIT = 500
# The widths of the indexed identifier columns. A longer identifier is refused (400) rather than cut, which
# would make a filter miss it or match statements of another one sharing the cut prefix.
MAX_VERB_ID = 512
MAX_ACTIVITY_ID = 1024
MAX_AGENT_IFI = 700
DEFAULT_LIMIT = 100


class Conflict(Exception):
    """A statement id already stored with different content (409)."""

    def __init__(self, statement_id: str) -> None:
        super().__init__(f"statement {statement_id} already exists with different content")
        self.statement_id = statement_id


class BadRequest(ValueError):
    """A request the Statement API refuses with 400 and this message."""


class Forbidden(Exception):
    """A write the client's platforms do not allow (403 and this message)."""


@dataclass(frozen=True)
class Writer:
    """What a Statement API client may write.

    A statement belongs to the platform its actor's account ``homePage`` names (the platform's issuer, as in
    every statement Socle records). A client bound to platforms writes only statements of those platforms,
    stored under them; a client bound to none writes only statements that name no registered platform
    (another LRS's learners, tests), stored under none. It voids only statements it may write, never one
    Socle recorded itself."""

    client_id: int
    platform_ids: frozenset[int]
    homes: Mapping[str, int]  # homePage -> the client's platform its statements are stored under
    registered: frozenset[str]  # the homePages of every registered platform

    def platform_of(self, statement: dict[str, Any], where: str) -> int | None:
        named = _homes(statement["actor"])
        if self.platform_ids:
            if not named or not named <= self.homes.keys():
                others = sorted(named - self.homes.keys())
                raise Forbidden(
                    f"{where}: its actor names no platform of this client"
                    + (f" ({', '.join(others)} is not one of them)" if others else " (no account homePage)")
                    + ": the actor must be an account whose homePage is the issuer of one of the client's"
                    " platforms"
                )
            platforms = {self.homes[home] for home in named}
            if len(platforms) > 1:
                raise Forbidden(
                    f"{where}: its actor names several platforms; send one statement per platform"
                )
            return platforms.pop()
        foreign = sorted(named & self.registered)
        if foreign:
            raise Forbidden(
                f"{where}: its actor names the platform {foreign[0]}, and this client is bound to no"
                " platform: only a client bound to that platform may write its statements"
            )
        return None

    def may_change(self, platform_id: int | None, is_first_party: bool, source_client_id: int | None) -> bool:
        if is_first_party:
            return False
        if source_client_id == self.client_id:
            return True
        return platform_id in self.platform_ids if self.platform_ids else platform_id is None


def _homes(agent: Any) -> set[str]:
    """The account homePages an actor names (a group's and its members')."""
    if not isinstance(agent, dict):
        return set()
    found = set()
    account = agent.get("account")
    if isinstance(account, dict) and isinstance(account.get("homePage"), str):
        found.add(account["homePage"])
    for member in agent.get("member") or []:
        found |= _homes(member)
    return found


def iso(us: int) -> str:
    return (
        datetime.fromtimestamp(us / 1_000_000, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    )


def parse_time(value: str, name: str) -> int:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise BadRequest(f"{name}: not an ISO 8601 timestamp") from error
    if moment.tzinfo is None:
        raise BadRequest(f"{name}: the timestamp needs a time zone (Z or +hh:mm)")
    return int(moment.timestamp() * 1_000_000)


@dataclass(frozen=True)
class Visibility:
    """Which statements a reader may see: everything, those of some platforms, or those it posted."""

    everything: bool = False
    platform_ids: frozenset[int] = frozenset()
    client_id: int | None = None
    only_own: bool = False
    # Only what the application recorded itself (never a client's statement) for this platform: what
    # competence evidence is read from.
    evidence_of: int | None = None

    def clause(self, entity: Any = Statement) -> Any:
        """The condition on ``entity`` (the statements table, or an alias of it), or None for everything."""
        if self.evidence_of is not None:
            # "+ 0": the platform is compared, not looked up. Asked for an agent, the agent index gives their
            # few hundred statements; SQLite, seeing the platform's index, would walk all of that instead.
            return and_(entity.is_first_party.is_(True), (entity.platform_id + 0) == self.evidence_of)
        if self.everything:
            return None
        own = entity.source_client_id == self.client_id if self.client_id is not None else None
        if self.only_own:
            return own if own is not None else entity.id.is_(None)
        parts = [
            c
            for c in (entity.platform_id.in_(self.platform_ids) if self.platform_ids else None, own)
            if c is not None
        ]
        return or_(*parts) if parts else entity.id.is_(None)


# -- writing
def store(
    session: SessionLike,
    statements: Sequence[Any],
    *,
    authority: dict[str, Any],
    platform_id: int | None = None,
    source_client_id: int | None = None,
    new_ids: bool = False,
    first_party: bool = False,
    writer: Writer | None = None,
    screened: bool = False,
) -> list[str]:
    """Validate and store statements; return their ids (equal resends are accepted and not stored twice).

    ``new_ids``: the caller made the ids itself from a brand-new event, so none can exist yet; the check for
    an earlier copy (a query and a savepoint) is skipped on that hot path. ``first_party``: the application
    records these itself (they may count as evidence); never for a client's. ``writer``: a Statement API
    client, whose platforms decide which statements it may write and void (each statement is stored under
    the platform its actor names, instead of ``platform_id``). ``screened``: the JSON text they came from
    holds nothing that decodes to a NUL or a lone surrogate (``validation.may_hold_unstorable``)."""
    normalised = []
    platform_of: dict[str, int | None] = {}
    for index, raw in enumerate(statements):
        where = f"statement[{index}]" if len(statements) > 1 else "statement"
        try:
            statement = validation.validate_statement(raw, screened=screened)
        except validation.StatementError as error:
            raise BadRequest(str(error).replace("statement", where, 1)) from error
        statement.setdefault("id", str(uuid.uuid4()))
        statement["id"] = statement["id"].lower()
        platform_of[statement["id"]] = (
            writer.platform_of(statement, where) if writer is not None else platform_id
        )
        normalised.append(statement)
    ids = [s["id"] for s in normalised]
    if len(set(ids)) != len(ids):
        raise BadRequest("two statements of the batch have the same id")
    if writer is not None:
        _check_voids(session, writer, normalised)
    # On PostgreSQL the insert itself skips ids already stored (ON CONFLICT DO NOTHING) and says which it
    # stored; the earlier copies are judged afterwards. Elsewhere, a query first and a savepoint.
    on_postgres = session.get_bind().dialect.name == "postgresql"
    existing = (
        {}
        if new_ids or on_postgres
        else dict(session.execute(select(Statement.id, Statement.body).where(Statement.id.in_(ids))).all())
    )
    fresh = []
    for statement in normalised:
        if statement["id"] in existing:
            if not validation.same_statement(json.loads(existing[statement["id"]]), statement):
                raise Conflict(statement["id"])
            continue
        fresh.append(statement)
    if not fresh:
        return ids
    stored_us = now_us()
    stored = iso(stored_us)
    rows, agents, activities = [], [], []
    for statement in fresh:
        statement["stored"] = stored
        statement["authority"] = authority
        # The version the statement was sent with is kept; one is set only when it is missing (xAPI 2.4.10).
        statement.setdefault("version", "1.0.0")
        statement.setdefault("timestamp", stored)
        context = statement.get("context", {})
        obj = statement["object"]
        rows.append(
            {
                "id": statement["id"],
                "stored_us": stored_us,
                "verb_id": statement["verb"]["id"],
                "registration": context.get("registration", "").lower() or None,
                "is_voided": False,
                "voids": obj["id"].lower() if statement["verb"]["id"] == VOIDED else None,
                "object_ref": obj["id"].lower() if obj.get("objectType") == "StatementRef" else None,
                "platform_id": platform_of[statement["id"]],
                "source_client_id": source_client_id,
                "is_first_party": first_party,
                "body": json.dumps(statement, ensure_ascii=False, separators=(",", ":")),
            }
        )
        statement_agents = [(statement["id"], ifi, direct) for ifi, direct in _agents(statement)]
        statement_activities = [(statement["id"], a, direct) for a, direct in _activities(statement)]
        _check_widths(statement, statement_agents, statement_activities)
        agents += statement_agents
        activities += statement_activities
    if on_postgres:
        stored_now = _insert_with_index_pg(session, rows, agents, activities, skip_stored=not new_ids)
        if len(stored_now) < len(rows):
            _judge_earlier_copies(session, [st for st in fresh if st["id"] not in stored_now])
            rows = [row for row in rows if row["id"] in stored_now]
    elif new_ids:
        bulk_insert(session, _STATEMENTS, rows)
        _insert_index(session, agents, activities)
    else:
        try:
            with session.begin_nested():
                bulk_insert(session, _STATEMENTS, rows)
        except IntegrityError:
            # Another request stored one of these ids between our check and our insert: judge again.
            existing = dict(
                session.execute(select(Statement.id, Statement.body).where(Statement.id.in_(ids))).all()
            )
            for statement in fresh:
                if statement["id"] in existing and not validation.same_statement(
                    json.loads(existing[statement["id"]]), statement
                ):
                    raise Conflict(statement["id"]) from None
            return store(
                session,
                statements,
                authority=authority,
                platform_id=platform_id,
                source_client_id=source_client_id,
                first_party=first_party,
                writer=writer,
                screened=screened,
            )
        _insert_index(session, agents, activities)
    targets = [row["voids"] for row in rows if row["voids"]]
    if targets:
        # A voiding statement cannot itself be voided. Who may void what was checked above; the same rule is
        # repeated here so that no statement stored meanwhile escapes it: the application voids only its own
        # records, a client only the statements it may write.
        session.execute(
            update(Statement)
            .where(Statement.id.in_(targets), Statement.verb_id != VOIDED, _voidable_by(writer))
            .values(is_voided=True)
        )
    by_platform: dict[int | None, list[str]] = {}
    for row in rows:
        by_platform.setdefault(row["platform_id"], []).append(row["id"])
    for platform, stored_ids in by_platform.items():
        _enqueue(session, stored_ids, platform)
    return ids


def _check_widths(
    statement: dict[str, Any], agents: list[tuple[str, str, bool]], activities: list[tuple[str, str, bool]]
) -> None:
    """Refuse identifiers wider than their index column (a cut one would be found by the wrong filters)."""
    if len(statement["verb"]["id"]) > MAX_VERB_ID:
        raise BadRequest(f"statement {statement['id']}: its verb id is longer than {MAX_VERB_ID} characters")
    for _, activity, _ in activities:
        if len(activity) > MAX_ACTIVITY_ID:
            raise BadRequest(
                f"statement {statement['id']}: an activity id is longer than {MAX_ACTIVITY_ID} characters"
            )
    for _, ifi, _ in agents:
        if len(ifi) > MAX_AGENT_IFI:
            raise BadRequest(
                f"statement {statement['id']}: an agent identifier is longer than {MAX_AGENT_IFI} characters"
                " (mbox, openid, or account homePage and name together)"
            )


def _check_voids(session: SessionLike, writer: Writer, statements: list[dict[str, Any]]) -> None:
    """Refuse a client's voiding statement whose target it may not change (one query, only for a batch that
    voids something). A target not stored (yet) is no reason to refuse (xAPI): nothing is voided then."""
    targets = {
        statement["object"]["id"].lower(): index
        for index, statement in enumerate(statements)
        if statement["verb"]["id"] == VOIDED
    }
    if not targets:
        return
    rows = session.execute(
        select(
            Statement.id, Statement.platform_id, Statement.is_first_party, Statement.source_client_id
        ).where(Statement.id.in_(list(targets)))
    ).all()
    for target, platform, is_first_party, source in sorted(rows):
        if not writer.may_change(platform, bool(is_first_party), source):
            index = targets[target]
            where = f"statement[{index}]" if len(statements) > 1 else "statement"
            owner = (
                "Socle recorded it itself" if is_first_party else "it belongs to a platform of another client"
            )
            raise Forbidden(f"{where}: this client may not void statement {target}: {owner}")


def _voidable_by(writer: Writer | None) -> Any:
    if writer is None:
        return Statement.is_first_party.is_(True)
    mine = Statement.source_client_id == writer.client_id
    platform = (
        Statement.platform_id.in_(writer.platform_ids)
        if writer.platform_ids
        else Statement.platform_id.is_(None)
    )
    return and_(Statement.is_first_party.is_(False), or_(mine, platform))


def _active_endpoints(session: SessionLike, platform_id: int | None) -> list[int]:
    """The active external LRSs for a platform's statements, read in the writing transaction itself (one
    small query per batch, not per statement): a cache here let each worker process skip an endpoint for
    seconds after `xapi endpoint add`, and the statements stored meanwhile never reached it."""
    return list(session.execute(_ACTIVE_ENDPOINTS, {"platform_id": platform_id}).scalars())


# Built once (it runs with every recorded event): building the query cost more than running it.
_ACTIVE_ENDPOINTS = select(Endpoint.id).where(
    Endpoint.is_active.is_(True),
    or_(Endpoint.platform_id.is_(None), Endpoint.platform_id == bindparam("platform_id")),
)


def _enqueue(session: SessionLike, statement_ids: list[str], platform_id: int | None) -> None:
    endpoints = _active_endpoints(session, platform_id)
    if endpoints:
        now = now_us()
        bulk_insert(
            session,
            _OUTBOX,
            [
                {
                    "statement_id": sid,
                    "endpoint_id": endpoint,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_us": now,
                    "locked_until_us": 0,
                    "created_us": now,
                }
                for endpoint in endpoints
                for sid in statement_ids
            ],
        )


def _agent_ifis(agent: dict[str, Any]) -> list[str]:
    found = []
    try:
        found.append(validation.agent_ifi(agent))
    except (validation.StatementError, KeyError, ValueError):
        pass  # an anonymous group has no IFI of its own
    for member in agent.get("member", []):
        found += _agent_ifis(member)
    return found


def _agents(statement: dict[str, Any]) -> Iterable[tuple[str, bool]]:
    seen: set[tuple[str, bool]] = set()

    def add(agent: Any, direct: bool) -> None:
        if isinstance(agent, dict):
            for ifi in _agent_ifis(agent):
                seen.add((ifi, direct))

    add(statement["actor"], True)
    obj = statement["object"]
    if obj.get("objectType") in ("Agent", "Group"):
        add(obj, True)
    add(statement.get("authority"), False)
    context = statement.get("context", {})
    add(context.get("instructor"), False)
    add(context.get("team"), False)
    if obj.get("objectType") == "SubStatement":
        add(obj.get("actor"), False)
        if obj["object"].get("objectType") in ("Agent", "Group"):
            add(obj["object"], False)
        add(obj.get("context", {}).get("instructor"), False)
        add(obj.get("context", {}).get("team"), False)
    # One row per agent: direct if it is the actor or the object (a related query matches every row).
    direct = {ifi for ifi, is_direct in seen if is_direct}
    return {(ifi, ifi in direct) for ifi, _ in seen}


def _activities(statement: dict[str, Any]) -> Iterable[tuple[str, bool]]:
    found: set[tuple[str, bool]] = set()
    obj = statement["object"]
    if obj.get("objectType", "Activity") == "Activity":
        found.add((obj["id"], True))
    for part in (statement, obj if obj.get("objectType") == "SubStatement" else {}):
        for activities in part.get("context", {}).get("contextActivities", {}).values():
            found |= {(a["id"], False) for a in activities}
    if obj.get("objectType") == "SubStatement" and obj["object"].get("objectType", "Activity") == "Activity":
        found.add((obj["object"]["id"], False))
    # One row per activity: direct if it is the object (a related query matches every row).
    direct = {activity for activity, is_direct in found if is_direct}
    return {(activity, activity in direct) for activity, _ in found}


# -- reading
@dataclass(frozen=True)
class Query:
    agent: str | None = None  # an IFI
    verb: str | None = None
    activity: str | None = None
    registration: str | None = None
    related_activities: bool = False
    related_agents: bool = False
    since_us: int | None = None
    until_us: int | None = None
    limit: int = DEFAULT_LIMIT
    ascending: bool = False
    after: tuple[int, str] | None = None  # the cursor of a `more` link
    # Also the statements that target a matching one (the Statement API's rule; not for evidence reads).
    include_referring: bool = False


def get(
    session: SessionLike, statement_id: str, visibility: Visibility, *, voided: bool
) -> dict[str, Any] | None:
    """One statement by id: not voided for statementId, voided for voidedStatementId."""
    query = select(Statement.body).where(
        Statement.id == statement_id.lower(), Statement.is_voided.is_(voided)
    )
    clause = visibility.clause()
    if clause is not None:
        query = query.where(clause)
    body = session.execute(query).scalar_one_or_none()
    return json.loads(body) if body else None


def find(
    session: SessionLike, query: Query, visibility: Visibility
) -> tuple[list[dict[str, Any]], tuple[int, str] | None]:
    """Statements matching the filters (voided ones excluded), and the cursor of the next page if any.

    A statement that targets a statement matching the verb, activity, agent and registration filters (a
    voiding statement, a StatementRef) matches too; ``since``, ``until`` and paging apply to the statements
    returned, not to their targets (xAPI 1.0.3, 2.1.3 "Filter Conditions for StatementRefs")."""
    base: list[Any] = [Statement.is_voided.is_(False)]
    clause = visibility.clause()
    if clause is not None:
        base.append(clause)
    if query.since_us is not None:
        base.append(Statement.stored_us > query.since_us)
    if query.until_us is not None:
        base.append(Statement.stored_us <= query.until_us)
    if query.after:
        stored_us, last_id = query.after
        if query.ascending:
            base.append(
                or_(
                    Statement.stored_us > stored_us,
                    and_(Statement.stored_us == stored_us, Statement.id > last_id),
                )
            )
        else:
            base.append(
                or_(
                    Statement.stored_us < stored_us,
                    and_(Statement.stored_us == stored_us, Statement.id < last_id),
                )
            )
    order = (
        (Statement.stored_us.asc(), Statement.id.asc())
        if query.ascending
        else (Statement.stored_us.desc(), Statement.id.desc())
    )
    limit = query.limit if 0 < query.limit <= MAX_LIMIT else MAX_LIMIT
    if session.get_bind().dialect.name == "postgresql":
        # psycopg prepares a query run a few times on a connection, and PostgreSQL may then plan it once for
        # any value. An agent's, a course's or a verb's statements differ by orders of magnitude: plan each
        # run for its own values (for this transaction only; the other queries keep their cached plans).
        session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    columns = (Statement.stored_us, Statement.id, Statement.body)
    filters = _filters(Statement, query)
    matching = select(*columns).where(*base, *filters).order_by(*order).limit(limit + 1)
    if not (filters and query.include_referring):
        rows = list(session.execute(matching).all())
    else:
        # The statements targeting a match, as a second branch of the same query (one round trip; each
        # branch planned on its own, so the first still walks its index in order, which an OR would prevent;
        # StatementRefs are few and have their own partial index).
        target = aliased(Statement)
        target_visible = visibility.clause(target)
        targets = select(target.id).where(
            *_filters(target, query), *([target_visible] if target_visible is not None else [])
        )
        referring = (
            select(*columns)
            .where(*base, Statement.object_ref.is_not(None), Statement.object_ref.in_(targets))
            .order_by(*order)
            .limit(limit + 1)
        )
        both = union_all(select(matching.subquery()), select(referring.subquery()))
        unique = {row.id: row for row in session.execute(both).all()}
        rows = sorted(unique.values(), key=lambda row: (row.stored_us, row.id), reverse=not query.ascending)
        rows = rows[: limit + 1]
    more = (rows[limit - 1].stored_us, rows[limit - 1].id) if len(rows) > limit else None
    return [json.loads(row.body) for row in rows[:limit]], more


def _filters(entity: Any, query: Query) -> list[Any]:
    """The conditions of the verb, registration, agent and activity filters on ``entity`` (the statements
    table or an alias of it)."""
    conditions: list[Any] = []
    if query.verb:
        conditions.append(entity.verb_id == query.verb)
    if query.registration:
        conditions.append(entity.registration == query.registration.lower())
    if query.agent:
        conditions.append(
            entity.id.in_(
                select(StatementAgent.statement_id).where(
                    StatementAgent.ifi == query.agent,
                    true() if query.related_agents else StatementAgent.is_direct.is_(True),
                )
            )
        )
    if query.activity:
        conditions.append(
            entity.id.in_(
                select(StatementActivity.statement_id).where(
                    StatementActivity.activity_id == query.activity,
                    true() if query.related_activities else StatementActivity.is_direct.is_(True),
                )
            )
        )
    return conditions


def activity(
    session: SessionLike, activity_id: str, visibility: Visibility, *, sample: int = 200
) -> dict[str, Any]:
    """The Activity object of the Activities resource: its definitions in the statements the reader may see
    (the latest ``sample`` of them) merged, the newer over the older, language maps language by language.
    An activity no visible statement names is still an Activity, with its id alone (xAPI 2.5)."""
    conditions: list[Any] = [
        Statement.id.in_(
            select(StatementActivity.statement_id).where(StatementActivity.activity_id == activity_id)
        )
    ]
    clause = visibility.clause()
    if clause is not None:
        conditions.append(clause)
    bodies = session.execute(
        select(Statement.body).where(*conditions).order_by(Statement.stored_us.desc()).limit(sample)
    ).scalars()
    definition: dict[str, Any] = {}
    for body in reversed(list(bodies)):
        for found in _activity_objects(json.loads(body), activity_id):
            for key, value in (found.get("definition") or {}).items():
                if isinstance(value, dict) and isinstance(definition.get(key), dict):
                    definition[key] = {**definition[key], **value}
                else:
                    definition[key] = value
    out: dict[str, Any] = {"objectType": "Activity", "id": activity_id}
    if definition:
        out["definition"] = definition
    return out


def _activity_objects(statement: dict[str, Any], activity_id: str) -> Iterable[dict[str, Any]]:
    """The Activity objects with this id in a statement: its object, context activities, sub-statement's."""
    obj = statement.get("object", {})
    for part in (statement, obj if obj.get("objectType") == "SubStatement" else {}):
        target = part.get("object", {})
        if target.get("objectType", "Activity") == "Activity" and target.get("id") == activity_id:
            yield target
        for activities in part.get("context", {}).get("contextActivities", {}).values():
            yield from (a for a in activities if a.get("id") == activity_id)


def encode_cursor(cursor: tuple[int, str]) -> str:
    return base64.urlsafe_b64encode(f"{cursor[0]}:{cursor[1]}".encode()).decode().rstrip("=")


def decode_cursor(token: str) -> tuple[int, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        stored, statement_id = raw.split(":", 1)
        uuid.UUID(statement_id)
        # Past a 64-bit column the database driver fails (a 500) instead of matching nothing.
        if not stored.isascii() or not -(2**63) <= int(stored) < 2**63:
            raise ValueError(stored)
        return int(stored), statement_id
    except (ValueError, UnicodeDecodeError) as error:
        raise BadRequest("more: this paging link is not valid; start the query again") from error


def statement_ids_for(session: SessionLike, verb: str, activity: str, agent_ifi: str) -> list[str]:
    """Ids of the non-voided statements the application recorded itself of an agent with this verb and
    object (e.g. an attendance to void: never a client's look-alike)."""
    return list(
        session.execute(
            select(Statement.id).where(
                Statement.verb_id == verb,
                Statement.is_voided.is_(False),
                Statement.is_first_party.is_(True),
                Statement.id.in_(
                    select(StatementActivity.statement_id).where(
                        StatementActivity.activity_id == activity, StatementActivity.is_direct.is_(True)
                    )
                ),
                Statement.id.in_(
                    select(StatementAgent.statement_id).where(
                        StatementAgent.ifi == agent_ifi, StatementAgent.is_direct.is_(True)
                    )
                ),
            )
        ).scalars()
    )


# -- one agent's statements: what a host application needs to export or erase a person ------------------
# Ids per query when deleting or reading by id: a bounded IN list on every database.
ID_CHUNK = 500


def _chunks(ids: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(ids), ID_CHUNK):
        yield ids[start : start + ID_CHUNK]


def actor_statement_ids(session: SessionLike, agent_ifi: str) -> list[str]:
    """Ids of the statements whose actor (or agent object) is this agent, as the agent index keys it
    (``account:{homePage}|{name}``, ``mbox:…``)."""
    return list(
        session.scalars(
            select(StatementAgent.statement_id)
            .where(StatementAgent.ifi == agent_ifi, StatementAgent.is_direct.is_(True))
            .distinct()
        )
    )


def bodies(session: SessionLike, statement_ids: Sequence[str]) -> list[dict[str, Any]]:
    """These statements as stored, in the order they were stored."""
    rows: list[tuple[int, str, str]] = []
    for chunk in _chunks(statement_ids):
        rows += session.execute(
            select(Statement.stored_us, Statement.id, Statement.body).where(Statement.id.in_(chunk))
        ).all()
    return [json.loads(body) for _, _, body in sorted(rows)]


def forwarding_of(session: SessionLike, statement_ids: Sequence[str]) -> dict[tuple[str, str, str], int]:
    """How many of these statements each external LRS holds in its outbox, per status: (endpoint name,
    URL, status) -> count."""
    counts: dict[tuple[str, str, str], int] = {}
    for chunk in _chunks(statement_ids):
        for name, url, status in session.execute(
            select(Endpoint.name, Endpoint.url, OutboxRow.status)
            .join(Endpoint, Endpoint.id == OutboxRow.endpoint_id)
            .where(OutboxRow.statement_id.in_(chunk))
        ):
            counts[(name, url, status)] = counts.get((name, url, status), 0) + 1
    return counts


@dataclass(frozen=True)
class ErasedActor:
    statements: int
    # External LRSs that already received some of the statements: they must be erased there too.
    forwarded_to: list[str]


def erase_actor(session: SessionLike, agent_ifi: str) -> ErasedActor:
    """Delete every statement whose actor (or agent object) is this agent, with its index, outbox and
    attachment rows;
    say which external LRSs had already received some. Statements naming the agent only as a related
    agent (an instructor, a team member) are other people's records and stay."""
    ids = actor_statement_ids(session, agent_ifi)
    forwarded: set[str] = set()
    for chunk in _chunks(ids):
        forwarded.update(
            session.scalars(
                select(Endpoint.name)
                .join(OutboxRow, OutboxRow.endpoint_id == Endpoint.id)
                .where(OutboxRow.statement_id.in_(chunk), OutboxRow.status == "delivered")
            )
        )
        session.execute(delete(OutboxRow).where(OutboxRow.statement_id.in_(chunk)))
        session.execute(delete(StatementAttachment).where(StatementAttachment.statement_id.in_(chunk)))
        session.execute(delete(StatementAgent).where(StatementAgent.statement_id.in_(chunk)))
        session.execute(delete(StatementActivity).where(StatementActivity.statement_id.in_(chunk)))
        session.execute(delete(Statement).where(Statement.id.in_(chunk)))
    return ErasedActor(statements=len(ids), forwarded_to=sorted(forwarded))
