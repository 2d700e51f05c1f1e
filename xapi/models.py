"""Tables of the xAPI package: statements with their query indexes, API clients, external LRSs, outbox.

They have their own metadata (this package imports nothing from lti_tool); the application's Alembic
migrations include it. Times are integer microseconds since the epoch (UTC): exact, sortable, the same on
SQLite and PostgreSQL.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, scoped_session

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# What the functions of this package take: a Session, or a scoped session such as Flask-SQLAlchemy's.
SessionLike = Session | scoped_session[Any]


def now_us() -> int:
    return time.time_ns() // 1000


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Statement(Base):
    __tablename__ = "xapi_statements"
    __table_args__ = (
        Index("ix_xapi_statements_stored", "stored_us", "id"),
        Index("ix_xapi_statements_verb", "verb_id", "stored_us"),
        Index("ix_xapi_statements_registration", "registration", "stored_us"),
        Index("ix_xapi_statements_platform", "platform_id", "stored_us"),
        # Partial: most statements target none, and those add no index entry on the ingest path.
        Index(
            "ix_xapi_statements_object_ref",
            "object_ref",
            postgresql_where=text("object_ref IS NOT NULL"),
            sqlite_where=text("object_ref IS NOT NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    stored_us: Mapped[int] = mapped_column(BigInteger)
    verb_id: Mapped[str] = mapped_column(String(512))
    registration: Mapped[str | None] = mapped_column(String(36))
    is_voided: Mapped[bool] = mapped_column(Boolean, default=False)
    # The statement this one voids, when its verb is "voided".
    voids: Mapped[str | None] = mapped_column(String(36))  # kept for reading; no query needs an index on it
    # The statement a StatementRef object targets (voiding statements included): a filter also returns the
    # statements that target a statement it matches (xAPI 2.1.3, "filter conditions").
    object_ref: Mapped[str | None] = mapped_column(String(36))
    # Who may see it: the platform registration it belongs to, and the API client that posted it.
    platform_id: Mapped[int | None] = mapped_column(Integer)
    source_client_id: Mapped[int | None] = mapped_column(Integer)
    # Recorded by the application itself (its own recording path sets it), never by a Statement API client.
    # Only these statements are evidence: a client controls every byte of its statements' JSON (actor,
    # context, extensions), not this column. False unless set, so a new writing path counts for nothing.
    is_first_party: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The statement as stored (with stored, authority and version), JSON text.
    body: Mapped[str] = mapped_column(Text)


class StatementAgent(Base):
    """Every agent a statement names: ``is_direct`` for the actor and an agent object (the ``agent`` filter);
    the others (instructor, team, authority, sub-statement) count for ``related_agents``.

    One row per statement and agent. The primary key (ifi, statement_id) is the index of the agent filter;
    there is no surrogate id and no foreign key: these rows are written by the thousand per second, and
    deleted only together with their statement (explicitly, e.g. by the privacy erasure)."""

    __tablename__ = "xapi_statement_agents"

    ifi: Mapped[str] = mapped_column(String(700), primary_key=True)
    statement_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    is_direct: Mapped[bool] = mapped_column(Boolean)


class StatementActivity(Base):
    """Every activity a statement names: ``is_direct`` for the object; context activities and sub-statement
    activities count for ``related_activities``. One row per statement and activity; the primary key
    (activity_id, statement_id) is the index of the activity filter (no surrogate id, no foreign key, as
    for agents)."""

    __tablename__ = "xapi_statement_activities"

    activity_id: Mapped[str] = mapped_column(String(1024), primary_key=True)
    statement_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    is_direct: Mapped[bool] = mapped_column(Boolean)


class Client(Base):
    """Credentials of a Statement API client (HTTP Basic), its scopes and the platforms it may see."""

    __tablename__ = "xapi_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    key: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(255))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    platform_ids: Mapped[list[int]] = mapped_column(JSON)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_us: Mapped[int] = mapped_column(BigInteger, default=now_us)


class Endpoint(Base):
    """An external LRS that receives a copy of the statements (optionally only one platform's)."""

    __tablename__ = "xapi_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    url: Mapped[str] = mapped_column(String(1024))  # the LRS base, e.g. https://lrs.example/xAPI
    username: Mapped[str | None] = mapped_column(String(255))
    password: Mapped[str | None] = mapped_column(String(255))
    platform_id: Mapped[int | None] = mapped_column(Integer)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_us: Mapped[int] = mapped_column(BigInteger, default=now_us)


class OutboxRow(Base):
    """One statement to deliver to one external LRS."""

    __tablename__ = "xapi_outbox"
    __table_args__ = (Index("ix_xapi_outbox_due", "status", "next_attempt_us"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    statement_id: Mapped[str] = mapped_column(String(36))
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("xapi_endpoints.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | delivered | dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_us: Mapped[int] = mapped_column(BigInteger, default=now_us)
    # A worker that claimed the row owns it until then (a killed worker's rows come back after it).
    locked_until_us: Mapped[int] = mapped_column(BigInteger, default=0)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(String(1000))
    created_us: Mapped[int] = mapped_column(BigInteger, default=now_us)
    delivered_us: Mapped[int | None] = mapped_column(BigInteger)


class Document(Base):
    """A document of the State, Activity Profile or Agent Profile resource: bytes and their content type.

    Its key (kind, tenant, activity, agent, registration, document id) is looked up by ``key_digest``, a
    SHA-256 of those parts (IRIs and agent identifiers have no useful bound, and a cut prefix would match the
    wrong document); a listing (ids, ``since``, a State DELETE of many) by ``scope_digest`` (kind, tenant,
    activity, agent), the privacy erasure by ``agent_digest``. ``tenant`` is ``p:<platform id>`` for a
    platform's documents, ``c:<client id>`` for those of a client bound to no platform."""

    __tablename__ = "xapi_documents"
    __table_args__ = (
        Index("ix_xapi_documents_scope", "scope_digest", "updated_us"),
        Index("ix_xapi_documents_agent", "agent_digest"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    key_digest: Mapped[str] = mapped_column(String(64), unique=True)
    scope_digest: Mapped[str] = mapped_column(String(64))
    agent_digest: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # state | activity_profile | agent_profile
    tenant: Mapped[str] = mapped_column(String(24))
    activity_id: Mapped[str | None] = mapped_column(Text)
    agent_ifi: Mapped[str | None] = mapped_column(Text)
    # The agent as sent (JSON text), for a person's export.
    agent: Mapped[str | None] = mapped_column(Text)
    registration: Mapped[str | None] = mapped_column(String(36))
    document_id: Mapped[str] = mapped_column(Text)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    content_type: Mapped[str] = mapped_column(String(255))
    etag: Mapped[str] = mapped_column(String(40))  # SHA-1 of the content, hex (xAPI 1.0.3, "Concurrency")
    updated_us: Mapped[int] = mapped_column(BigInteger, default=now_us)
    source_client_id: Mapped[int | None] = mapped_column(Integer)


class StatementAttachment(Base):
    """The content of an attachment sent with a statement (multipart/mixed), kept per statement so that the
    statement's erasure takes its attachments with it (``xapi.store.erase_actor``)."""

    __tablename__ = "xapi_statement_attachments"

    statement_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    sha2: Mapped[str] = mapped_column(String(128), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary)


def as_dict(row: Any) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in row.__table__.columns}
