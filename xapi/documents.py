"""The documents of the State, Activity Profile and Agent Profile resources (xAPI 1.0.3, Part Three 2.3-2.6).
Explicit SQLAlchemy session in, no Flask.

A document is bytes with their content type, under a key: its kind, its tenant (whose documents they are:
a platform's, or a client's bound to none), an activity and/or an agent, a registration (State only) and its
id. Writes follow the concurrency rules of xAPI 1.0.3 (Part Three 2.1.4 and 3.1 "Concurrency"): an ETag per
document, ``If-Match`` and ``If-None-Match`` answered with 412 when they fail, and for the profiles a PUT
without either header refused: 409 over an existing document, 400 otherwise (ADL's conformance suite).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from xapi.models import Document, SessionLike, now_us
from xapi.store import iso

STATE = "state"
ACTIVITY_PROFILE = "activity_profile"
AGENT_PROFILE = "agent_profile"
JSON_TYPE = "application/json"


class PreconditionFailed(Exception):
    """An ``If-Match`` or ``If-None-Match`` that the document does not satisfy (412)."""


class Unconditional(Exception):
    """A profile PUT over an existing document without ``If-Match`` or ``If-None-Match`` (409)."""


class PreconditionRequired(ValueError):
    """A profile PUT that creates a document without ``If-None-Match: *`` (400, as ADL's conformance suite
    reads XAPI-00273; over an existing document it is the 409 above)."""


class NotMergeable(ValueError):
    """A POST whose document, or the one stored, is not a JSON object (400)."""


def _digest(*parts: str | None) -> str:
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode("utf-8", "surrogatepass")).hexdigest()


def agent_digest(agent_ifi: str) -> str:
    """The digest that finds a person's documents (the agent's identifier, as ``validation.agent_ifi``)."""
    return _digest(agent_ifi)


@dataclass(frozen=True)
class Scope:
    """The documents of one activity and/or agent of one tenant (State: also of any registration)."""

    kind: str
    tenant: str
    activity_id: str | None = None
    agent_ifi: str | None = None

    @property
    def digest(self) -> str:
        return _digest(self.kind, self.tenant, self.activity_id, self.agent_ifi)

    def key_digest(self, registration: str | None, document_id: str) -> str:
        return _digest(self.kind, self.tenant, self.activity_id, self.agent_ifi, registration, document_id)


@dataclass(frozen=True)
class Preconditions:
    """The request's ``If-Match`` and ``If-None-Match`` (None when absent), as sets of ETags or ``*``."""

    if_match: frozenset[str] | None = None
    if_none_match: frozenset[str] | None = None

    @classmethod
    def parse(cls, if_match: str | None, if_none_match: str | None) -> Preconditions:
        return cls(_etags(if_match), _etags(if_none_match))

    @property
    def given(self) -> bool:
        return self.if_match is not None or self.if_none_match is not None

    def check(self, found: Document | None) -> None:
        if self.if_match is not None and (
            found is None or ("*" not in self.if_match and found.etag not in self.if_match)
        ):
            raise PreconditionFailed(
                "If-Match: the document does not exist" if found is None else "If-Match: the document changed"
            )
        if self.if_none_match is not None and found is not None:
            if "*" in self.if_none_match or found.etag in self.if_none_match:
                raise PreconditionFailed("If-None-Match: the document exists")


def _etags(header: str | None) -> frozenset[str] | None:
    if header is None:
        return None
    tags = set()
    for raw in header.split(","):
        tag = raw.strip()
        tag = tag.removeprefix("W/").strip('"').lower()
        if tag:
            tags.add(tag)
    return frozenset(tags)


def etag_of(content: bytes) -> str:
    return hashlib.sha1(content).hexdigest()  # noqa: S324 - the ETag xAPI names (SHA-1 of the content), not a secret


def get(session: SessionLike, scope: Scope, registration: str | None, document_id: str) -> Document | None:
    """One document, or None."""
    return session.execute(
        select(Document).where(Document.key_digest == scope.key_digest(registration, document_id))
    ).scalar_one_or_none()


def ids(session: SessionLike, scope: Scope, registration: str | None, since_us: int | None) -> list[str]:
    """The ids of a scope's documents (of one registration when given; updated after ``since_us``)."""
    query = select(Document.document_id).where(Document.scope_digest == scope.digest)
    if registration is not None:
        query = query.where(Document.registration == registration)
    if since_us is not None:
        query = query.where(Document.updated_us > since_us)
    return sorted(set(session.execute(query).scalars()))


def put(
    session: SessionLike,
    scope: Scope,
    registration: str | None,
    document_id: str,
    content: bytes,
    content_type: str,
    *,
    preconditions: Preconditions,
    agent: dict[str, Any] | None,
    client_id: int | None,
    merge: bool = False,
    retried: bool = False,
) -> None:
    """Store a document (PUT), or merge a JSON object into it (POST with ``merge``)."""
    found = get(session, scope, registration, document_id)
    preconditions.check(found)
    if merge:
        content, content_type = _merged(found, content, content_type)
    elif scope.kind != STATE and not preconditions.given:
        if found is not None:
            raise Unconditional(
                "this document exists: send If-Match with its ETag (or If-None-Match: * to create it only)"
            )
        raise PreconditionRequired(
            "a profile PUT needs If-Match (its ETag) or If-None-Match: * (to create it): send one of them"
        )
    now = max(now_us(), found.updated_us + 1) if found is not None else now_us()
    if found is not None:
        found.content, found.content_type, found.etag = content, content_type, etag_of(content)
        found.updated_us, found.source_client_id = now, client_id
        session.flush()
        return
    row = Document(
        key_digest=scope.key_digest(registration, document_id),
        scope_digest=scope.digest,
        agent_digest=agent_digest(scope.agent_ifi) if scope.agent_ifi else None,
        kind=scope.kind,
        tenant=scope.tenant,
        activity_id=scope.activity_id,
        agent_ifi=scope.agent_ifi,
        agent=json.dumps(agent, ensure_ascii=False) if agent is not None else None,
        registration=registration,
        document_id=document_id,
        content=content,
        content_type=content_type,
        etag=etag_of(content),
        updated_us=now,
        source_client_id=client_id,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        if retried:
            raise
        # Another request created it meanwhile: judge this one again against that document (its
        # preconditions, the profiles' 409, the merge), as if it had come after.
        put(
            session,
            scope,
            registration,
            document_id,
            content,
            content_type,
            preconditions=preconditions,
            agent=agent,
            client_id=client_id,
            merge=merge,
            retried=True,
        )


def _merged(found: Document | None, content: bytes, content_type: str) -> tuple[bytes, str]:
    posted = _json_object(content, content_type, "the document sent")
    if found is None:
        return content, content_type
    stored = _json_object(found.content, found.content_type, "the document stored")
    return json.dumps({**stored, **posted}, ensure_ascii=False).encode(), found.content_type


def _json_object(content: bytes, content_type: str, what: str) -> dict[str, Any]:
    if content_type.split(";", 1)[0].strip().lower() != JSON_TYPE:
        raise NotMergeable(f"{what} is not application/json: POST merges JSON objects only (use PUT)")
    try:
        value = json.loads(content)
    except (ValueError, RecursionError) as error:
        raise NotMergeable(f"{what} is not valid JSON: POST merges JSON objects only") from error
    if not isinstance(value, dict):
        raise NotMergeable(f"{what} is not a JSON object: POST merges JSON objects only")
    return value


def remove(
    session: SessionLike,
    scope: Scope,
    registration: str | None,
    document_id: str,
    *,
    preconditions: Preconditions,
) -> None:
    """Delete one document (nothing to do when there is none, unless a precondition says otherwise)."""
    found = get(session, scope, registration, document_id)
    preconditions.check(found)
    if found is not None:
        session.delete(found)
        session.flush()


def remove_all(session: SessionLike, scope: Scope, registration: str | None) -> None:
    """Delete a scope's documents (the State resource's DELETE without stateId)."""
    query = delete(Document).where(Document.scope_digest == scope.digest)
    if registration is not None:
        query = query.where(Document.registration == registration)
    session.execute(query)


# -- privacy -------------------------------------------------------------------------------------------


def documents_of_actor(session: SessionLike, agent_ifi: str) -> list[dict[str, Any]]:
    """A person's State and Agent Profile documents (by their agent identifier, ``validation.agent_ifi``),
    for an export: each with its key, content type, update time (ISO 8601) and content (text when it is UTF-8,
    hexadecimal otherwise, as ``encoding`` says)."""
    rows = session.execute(
        select(Document)
        .where(Document.agent_digest == agent_digest(agent_ifi), Document.agent_ifi == agent_ifi)
        .order_by(Document.id)
    ).scalars()
    found = []
    for row in rows:
        try:
            content: str = row.content.decode()
            encoding = "utf-8"
        except UnicodeDecodeError:
            content, encoding = row.content.hex(), "hex"
        found.append(
            {
                "resource": row.kind,
                "activityId": row.activity_id,
                "agent": json.loads(row.agent) if row.agent else None,
                "registration": row.registration,
                "id": row.document_id,
                "contentType": row.content_type,
                "updated": iso(row.updated_us),
                "content": content,
                "encoding": encoding,
            }
        )
    return found


def erase_actor_documents(session: SessionLike, agent_ifi: str) -> int:
    """Delete a person's State and Agent Profile documents; return how many there were."""
    result = session.execute(
        delete(Document).where(
            Document.agent_digest == agent_digest(agent_ifi), Document.agent_ifi == agent_ifi
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
