"""Erasing a person (GDPR erasure): every row about them and their xAPI statements; their credentials are
revoked and kept without their document; anonymised counts per course and month are kept.

No Flask here: callers pass the session and the loaded content, and commit once. Logs carry ids only.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from lti_tool.certificates import issuing
from lti_tool.certificates.models import Credential
from lti_tool.content.loader import Content
from lti_tool.db import DbSession
from lti_tool.diagnostic.models import DiagnosticRun
from lti_tool.learners.models import Enrolment, Learner
from lti_tool.privacy import models
from lti_tool.privacy.models import AnonymisedCount
from lti_tool.privacy.persons import STAND_IN_PREFIX, find_learner, ifi, learner_references, statement_ids
from lti_tool.training.models import ModuleProgress
from xapi import documents, store

log = logging.getLogger(__name__)


# The revocation reason of the credentials of a person erased at their request (shown to verifiers).
ERASURE_REASON = "effacement à la demande de la personne"


@dataclass
class Erasure:
    """What an erasure removed and kept."""

    learner_id: int
    deleted: dict[str, int] = field(default_factory=dict)  # table -> rows deleted
    cleared: dict[str, int] = field(default_factory=dict)  # table.column -> references set to NULL
    statements: int = 0
    credentials_revoked: list[str] = field(default_factory=list)
    # Kept revoked, without document, so that their status-list bits stay set.
    credentials_kept: list[str] = field(default_factory=list)
    # External LRSs that already received some of the person's statements: erase them there too.
    forwarded_to: list[str] = field(default_factory=list)
    counts_kept: int = 0

    @property
    def rows(self) -> int:
        return sum(self.deleted.values())


def credentials_of(session: DbSession, learner: Learner) -> list[Credential]:
    return list(
        session.scalars(
            select(Credential).where(Credential.learner_id == learner.id).order_by(Credential.issued_at)
        )
    )


def erasure_preview(session: DbSession, learner: Learner) -> dict[str, int]:
    """How many rows of each table an erasure would delete (and the person's xAPI statements)."""
    counts = {
        table.name: int(
            session.scalar(select(func.count()).select_from(table).where(column == learner.id)) or 0
        )
        for table, column, goes_with_person in learner_references()
        # Credentials are not deleted: they are kept revoked, without their document.
        if goes_with_person and table is not Credential.__table__
    }
    counts = {name: n for name, n in counts.items() if n}
    counts["xapi_statements"] = len(statement_ids(session, learner))
    return counts


def erase_learner(
    session: DbSession, learner_id: int, by: str, *, content: Content, reason: str = ERASURE_REASON
) -> Erasure:
    """Delete a person and every row about them, their xAPI statements (with their index and outbox
    rows) included. Their credentials are revoked first, then kept without their document; anonymised
    counts per course and month are kept. ``by`` is recorded as who revoked the credentials."""
    learner = find_learner(session, learner_id)
    report = Erasure(learner.id)
    _keep_counts(session, learner, report)
    _retire_credentials(session, learner, by, content, reason, report)
    erased = store.erase_actor(session, ifi(learner))
    report.statements, report.forwarded_to = erased.statements, erased.forwarded_to
    # Their State and Agent Profile documents (written by xAPI clients about them) go with them too.
    documents_erased = documents.erase_actor_documents(session, ifi(learner))
    if documents_erased:
        report.deleted["xapi_documents"] = documents_erased
    for table, column, goes_with_person in learner_references():
        if goes_with_person:
            result = session.execute(delete(table).where(column == learner.id))
            if result.rowcount:  # type: ignore[attr-defined]
                report.deleted[table.name] = report.deleted.get(table.name, 0) + result.rowcount  # type: ignore[attr-defined]
        else:
            result = session.execute(update(table).where(column == learner.id).values({column.name: None}))
            if result.rowcount:  # type: ignore[attr-defined]
                report.cleared[f"{table.name}.{column.name}"] = result.rowcount  # type: ignore[attr-defined]
    session.delete(learner)
    session.flush()
    report.deleted["learners"] = 1
    log.info(
        "erased learner %d: %d rows, %d statements, %d credentials revoked",
        report.learner_id,
        report.rows,
        report.statements,
        len(report.credentials_revoked),
    )
    return report


def _month(moment: datetime | None) -> str | None:
    return f"{moment:%Y-%m}" if moment is not None else None


def _keep_counts(session: DbSession, learner: Learner, report: Erasure) -> None:
    """Add the person to the anonymised counts of each course: as a learner, their completed modules,
    their submitted autodiagnostics."""
    counts: Counter[tuple[int, int, str, str, str]] = Counter()
    for e in session.scalars(
        select(Enrolment).where(Enrolment.learner_id == learner.id, Enrolment.is_staff.is_(False))
    ):
        month = _month(e.first_launch_at or e.roster_seen_at)
        if month:
            counts[(e.platform_id, e.context_pk, month, models.LEARNER, "")] += 1
    for p in session.scalars(
        select(ModuleProgress).where(
            ModuleProgress.learner_id == learner.id, ModuleProgress.completed_at.is_not(None)
        )
    ):
        month = _month(p.completed_at)
        assert month is not None
        counts[(p.platform_id, p.context_pk, month, models.MODULE_COMPLETED, p.module_id)] += 1
    for r in session.scalars(
        select(DiagnosticRun).where(
            DiagnosticRun.learner_id == learner.id, DiagnosticRun.status == "submitted"
        )
    ):
        month = _month(r.submitted_at or r.updated_at)
        assert month is not None
        counts[(r.platform_id, r.context_pk, month, models.DIAGNOSTIC_SUBMITTED, r.level or "")] += 1
    if not counts:
        return
    insert: Any = {"postgresql": postgresql_insert, "sqlite": sqlite_insert}[session.get_bind().dialect.name]
    for (platform_id, context_pk, month, kind, code), total in sorted(counts.items()):
        statement = insert(AnonymisedCount).values(
            platform_id=platform_id, context_pk=context_pk, month=month, kind=kind, code=code, total=total
        )
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["context_pk", "month", "kind", "code"],
                set_={"total": AnonymisedCount.total + statement.excluded.total},
            )
        )
    report.counts_kept = sum(counts.values())


def _retire_credentials(
    session: DbSession, learner: Learner, by: str, content: Content, reason: str, report: Erasure
) -> None:
    """Revoke the person's credentials (verifiers then see them revoked), then hand them to a stand-in
    with no document: the status-list bit stays set, the name is gone."""
    credentials = list(
        session.scalars(select(Credential).where(Credential.learner_id == learner.id).order_by(Credential.id))
    )
    if not credentials:
        return
    for credential in credentials:
        if credential.revoked_at is None:
            issuing.revoke(session, credential.id, reason, by, content)
            report.credentials_revoked.append(credential.id)
    stand_in = Learner(
        issuer=learner.issuer,
        sub=STAND_IN_PREFIX + uuid.uuid4().hex,
        platform_id=learner.platform_id,
        last_launch_at=None,
    )
    session.add(stand_in)
    session.flush()
    for credential in credentials:
        credential.learner_id = stand_in.id
        credential.document = json.dumps(_without_holder(json.loads(credential.document)), ensure_ascii=False)
        credential.jwt = ""
        credential.evidence = None  # the frozen evidence file names the person and their results
        credential.earned_statement_id = None
        # A reason typed earlier may name the person.
        credential.revoked_reason = reason
        report.credentials_kept.append(credential.id)
    session.flush()


def _without_holder(document: dict[str, Any]) -> dict[str, Any]:
    """What a revoked credential keeps once its holder is erased: what it certified (the achievement's
    name, description and criteria), by whom, when, and its status entry; not the holder (name, subject
    id), their results, the evidence or the proof."""

    def only(source: Any, keys: tuple[str, ...]) -> dict[str, Any]:
        return {key: source[key] for key in keys if key in source} if isinstance(source, dict) else {}

    kept = only(document, ("@context", "id", "type", "name", "issuer", "validFrom", "credentialStatus"))
    subject = document.get("credentialSubject") or {}
    achievement = only(
        subject.get("achievement"), ("id", "type", "achievementType", "name", "description", "criteria")
    )
    kept["credentialSubject"] = {"type": subject.get("type"), "achievement": achievement}
    return kept


def anonymised_counts(session: DbSession, context_pk: int) -> list[AnonymisedCount]:
    """The counts kept for a course from people since erased (for the dashboard's totals)."""
    return list(
        session.scalars(
            select(AnonymisedCount)
            .where(AnonymisedCount.context_pk == context_pk)
            .order_by(AnonymisedCount.month, AnonymisedCount.kind, AnonymisedCount.code)
        )
    )
