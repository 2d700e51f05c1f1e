"""The evidence engine: facts from one event (or one stored statement) folded into a learner's mastery.

Each event touches one module, so it re-evaluates only the competences whose rule names that module and
the blocs they belong to: one row of facts read, a few rows written, whatever the learner's history. The
same ``apply`` replays stored statements in ``rebuild``, so the two paths cannot drift apart.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, insert, select, update

from lti_tool.competences.models import CompetenceState, EvidenceLink, LearnerFacts
from lti_tool.competences.rules import Rules, empty_facts
from lti_tool.db import DbSession
from xapi import vocabulary as v
from xapi.vocabulary import Vocabulary

# The event types that carry evidence.
EVIDENCE_EVENTS = {
    "quiz_passed",
    "quiz_failed",
    "module_completed",
    "attendance_recorded",
    "deliverable_reviewed",
    "prior_learning_recognised",
}


@dataclass(frozen=True)
class Fact:
    kind: str  # quiz | completed | attended | absent | accepted | returned | assessed | below | waived
    module_id: str
    at: datetime  # UTC, to the millisecond (what a statement's timestamp keeps)
    statement_id: str | None = None
    value: float | None = None  # the quiz score, or an assessed production's score on its grid
    ref: str | None = None  # the live session (attendance) or the reason (waiver)


@dataclass(frozen=True)
class Met:
    """A competence or bloc that became met with this change."""

    code: str
    kind: str  # competence | bloc
    score: float | None
    at: datetime


@dataclass(frozen=True)
class Owner:
    platform_id: int
    context_pk: int
    learner_id: int


def to_ms(at: datetime) -> datetime:
    at = at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


def facts_of_event(
    type_: str, module_id: str | None, payload: dict[str, Any], statement_ids: Sequence[str], at: datetime
) -> list[Fact]:
    if type_ not in EVIDENCE_EVENTS or module_id is None:
        return []
    at = to_ms(at)
    first = statement_ids[0] if statement_ids else None
    if type_ in ("quiz_passed", "quiz_failed"):
        return [Fact("quiz", module_id, at, first, float(payload["score"]))]
    if type_ == "module_completed":
        return [Fact("completed", module_id, at, first)]
    if type_ == "attendance_recorded":
        kind = "attended" if payload.get("present") else "absent"
        return [Fact(kind, module_id, at, first if kind == "attended" else None, ref=str(payload["session"]))]
    if type_ == "deliverable_reviewed":
        if "rubric" in payload:  # a production marked on its grid: met, or below a required level
            score = float(payload["rubric"]["score"])
            return [Fact("assessed" if payload["accepted"] else "below", module_id, at, first, score)]
        return [Fact("accepted" if payload["accepted"] else "returned", module_id, at, first)]
    return [Fact("waived", module_id, at, first, ref=str(payload["reason"]))]


def facts_of_statement(statement: dict[str, Any], vocabulary: Vocabulary) -> list[Fact]:
    """The same facts, read back from a stored statement (for ``rebuild``)."""
    verb = statement["verb"]["id"]
    target = statement.get("object", {}).get("id", "")
    prefix = vocabulary.activity("modules", "")
    timestamp = statement.get("timestamp") or statement["stored"]
    at = to_ms(datetime.fromisoformat(timestamp.replace("Z", "+00:00")))
    result = statement.get("result") or {}
    if target.startswith(prefix):
        parts = target[len(prefix) :].split("/")
        module_id = parts[0]
        if len(parts) == 1:
            if verb in (v.PASSED, v.FAILED) and "score" in result:
                return [Fact("quiz", module_id, at, statement["id"], float(result["score"]["scaled"]))]
            if verb == v.COMPLETED:
                return [Fact("completed", module_id, at, statement["id"])]
            if verb == v.WAIVED:
                reason = (result.get("extensions") or {}).get(vocabulary.extension("reason"), "")
                return [Fact("waived", module_id, at, statement["id"], ref=str(reason))]
        if parts[1:] == ["deliverable"] and verb == v.SCORED and "score" in result:
            kind = "assessed" if result.get("success") else "below"
            return [Fact(kind, module_id, at, statement["id"], float(result["score"]["scaled"]))]
        if parts[1:] == ["deliverable"] and verb in (v.PASSED, v.FAILED):
            return [Fact("accepted" if verb == v.PASSED else "returned", module_id, at, statement["id"])]
    if verb == v.ATTENDED and target.startswith(vocabulary.activity("sessions", "")):
        parents = statement.get("context", {}).get("contextActivities", {}).get("parent", [])
        module = next((p["id"][len(prefix) :] for p in parents if p["id"].startswith(prefix)), None)
        if module:
            session = target.rsplit("/", 1)[1]
            return [Fact("attended", module, at, statement["id"], ref=session)]
    return []


def _fold(rules: Rules, facts: dict[str, Any], fact: Fact) -> None:
    m = fact.module_id
    if fact.kind == "quiz" and fact.value is not None:
        facts["best"][m] = max(facts["best"].get(m, 0.0), fact.value)
    elif fact.kind == "completed":
        facts["completed"].setdefault(m, fact.at.isoformat())
    elif fact.kind == "attended":
        facts["attended"][m] = sorted({*facts["attended"].get(m, []), str(fact.ref)})
    elif fact.kind == "absent":
        left = [s for s in facts["attended"].get(m, []) if s != fact.ref]
        if left:
            facts["attended"][m] = left
        else:
            facts["attended"].pop(m, None)
    elif fact.kind == "accepted":
        facts["accepted"][m] = True
    elif fact.kind == "returned":
        facts["accepted"].pop(m, None)
    elif fact.kind == "assessed":
        facts["assessed"][m] = fact.value
    elif fact.kind == "below":
        facts["assessed"].pop(m, None)
    elif fact.kind == "waived":
        facts["waived"][m] = fact.ref or ""


def _trail(
    session: DbSession,
    rules: Rules,
    owner: Owner,
    fact: Fact,
    codes: Iterable[str],
    links: list[dict[str, Any]],
) -> None:
    """Add to ``links`` which statement counts toward which competence (or withdraw what no longer counts)."""
    if fact.kind in ("absent", "returned", "below"):
        kind = {"absent": "attended", "returned": "accepted", "below": "assessed"}[fact.kind]
        _insert_links(session, links)  # what this batch added before goes first
        links.clear()
        query = delete(EvidenceLink).where(
            EvidenceLink.learner_id == owner.learner_id,
            EvidenceLink.context_pk == owner.context_pk,
            EvidenceLink.module_id == fact.module_id,
            EvidenceLink.kind == kind,
        )
        if fact.kind == "absent":
            query = query.where(EvidenceLink.ref == fact.ref)
        session.execute(query)
        return
    for code in sorted(codes):
        rule = rules.rules[code]
        if fact.kind == "quiz":
            if fact.module_id not in rule.quiz_modules:
                continue
            weight = rules.quiz_share(fact.module_id, code)
        elif fact.kind == "waived" or fact.module_id in getattr(rule, fact.kind, ()):
            weight = 0.0
        else:
            continue
        links.append(
            {
                "context_pk": owner.context_pk,
                "learner_id": owner.learner_id,
                "code": code,
                "kind": fact.kind,
                "module_id": fact.module_id,
                "statement_id": fact.statement_id,
                "ref": fact.ref if fact.kind == "attended" else None,
                "weight": weight,
                "value": fact.value,
                "occurred_at": fact.at,
            }
        )


def _one_round_trip(session: DbSession) -> AbstractContextManager[Any]:
    """On PostgreSQL, send the writes that follow together (psycopg's pipeline mode): one network round
    trip instead of one per statement. Elsewhere, nothing special."""
    connection = session.connection()
    if connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg":
        raw = connection.connection.dbapi_connection
        if raw is not None and hasattr(raw, "pipeline"):
            return raw.pipeline()
    return nullcontext()


def _insert_links(session: DbSession, links: list[dict[str, Any]]) -> None:
    if links:
        session.connection().execute(_INSERT_LINK, links)


# Built once: the engine runs inside every evidence-carrying request, where building SQLAlchemy statements
# and going through the ORM cost more than the SQL itself.
_FACTS = LearnerFacts.__table__
_STATES = CompetenceState.__table__
_LOAD = (
    select(
        _FACTS.c.id,
        _FACTS.c.facts,
        _STATES.c.id,
        _STATES.c.code,
        _STATES.c.score,
        _STATES.c.is_met,
        _STATES.c.met_at,
        _STATES.c.rules_version,
    )
    .select_from(
        _FACTS.outerjoin(
            _STATES,
            and_(_STATES.c.learner_id == _FACTS.c.learner_id, _STATES.c.context_pk == _FACTS.c.context_pk),
        )
    )
    .where(_FACTS.c.learner_id == bindparam("learner_id"), _FACTS.c.context_pk == bindparam("context_pk"))
)
_INSERT_LINK = insert(EvidenceLink.__table__).inline()
_INSERT_FACTS = insert(_FACTS).inline()  # no RETURNING: the pipeline cannot give it back
_UPDATE_FACTS = (
    update(_FACTS)
    .where(_FACTS.c.id == bindparam("facts_id"))
    .values(facts=bindparam("facts"), updated_at=bindparam("updated_at"))
)
_INSERT_STATE = insert(_STATES).inline()
_UPDATE_STATE = (
    update(_STATES)
    .where(_STATES.c.id == bindparam("state_id"))
    .values(
        score=bindparam("score"),
        is_met=bindparam("is_met"),
        met_at=bindparam("met_at"),
        rules_version=bindparam("rules_version"),
        updated_at=bindparam("updated_at"),
    )
)


@dataclass
class _State:
    """A competence or bloc state as the engine holds it while folding (written back once, if changed)."""

    id: int | None
    code: str
    score: float | None
    is_met: bool
    met_at: datetime | None
    rules_version: int
    updated_at: datetime | None = None
    changed: bool = False


def _load(session: DbSession, owner: Owner) -> tuple[int | None, dict[str, Any] | None, dict[str, _State]]:
    """The facts row and every state of the learner in the context, in one round trip."""
    rows = (
        session.connection()
        .execute(_LOAD, {"learner_id": owner.learner_id, "context_pk": owner.context_pk})
        .all()
    )
    if not rows:
        return None, None, {}
    states = {
        row[3]: _State(row[2], row[3], row[4], bool(row[5]), row[6], row[7])
        for row in rows
        if row[2] is not None
    }
    return rows[0][0], rows[0][1], states


def apply(session: DbSession, rules: Rules, owner: Owner, facts_in: Sequence[Fact]) -> list[Met]:
    """Fold the facts, one after the other, into the learner's mastery; return what became met.

    One read (the facts and the states), then at most one write per table: this runs inside the request
    that records the event."""
    if not facts_in:
        return []
    facts_id, stored, states = _load(session, owner)
    # Facts stored before a kind of evidence existed lack its key: start from the empty shape.
    facts = {key: dict(value) for key, value in {**empty_facts(), **(stored or {})}.items()}
    before = json.dumps(facts, sort_keys=True)
    met: list[Met] = []
    links: list[dict[str, Any]] = []
    for fact in facts_in:
        codes = set(rules.by_module.get(fact.module_id, set()))
        if fact.kind == "waived":
            codes |= {c for c, rule in rules.rules.items() if fact.module_id in rule.quiz_modules}
        _fold(rules, facts, fact)
        _trail(session, rules, owner, fact, codes, links)
        met += _evaluate(rules, facts, states, codes, fact.at)
    with _one_round_trip(session):
        _insert_links(session, links)
        if facts_id is None:
            session.connection().execute(
                _INSERT_FACTS,
                {
                    "platform_id": owner.platform_id,
                    "context_pk": owner.context_pk,
                    "learner_id": owner.learner_id,
                    "facts": facts,
                    "updated_at": facts_in[-1].at,
                },
            )
        elif json.dumps(facts, sort_keys=True) != before:
            session.connection().execute(
                _UPDATE_FACTS, {"facts_id": facts_id, "facts": facts, "updated_at": facts_in[-1].at}
            )
        _write_states(session, owner, [state for state in states.values() if state.changed])
    return met


def _write_states(session: DbSession, owner: Owner, changed: list[_State]) -> None:
    fresh = [
        {
            "platform_id": owner.platform_id,
            "context_pk": owner.context_pk,
            "learner_id": owner.learner_id,
            "code": s.code,
            "score": s.score,
            "is_met": s.is_met,
            "met_at": s.met_at,
            "rules_version": s.rules_version,
            "updated_at": s.updated_at,
        }
        for s in changed
        if s.id is None
    ]
    if fresh:
        session.connection().execute(_INSERT_STATE, fresh)
    known = [
        {
            "state_id": s.id,
            "score": s.score,
            "is_met": s.is_met,
            "met_at": s.met_at,
            "rules_version": s.rules_version,
            "updated_at": s.updated_at,
        }
        for s in changed
        if s.id is not None
    ]
    if known:
        session.connection().execute(_UPDATE_STATE, known)


def _evaluate(
    rules: Rules,
    facts: dict[str, Any],
    states: dict[str, _State],
    codes: set[str],
    at: datetime,
) -> list[Met]:
    """Re-evaluate these competences and their blocs at ``at``."""
    met: list[Met] = []
    for code in sorted(codes):
        evaluation = rules.evaluate(code, facts)
        state = _state(states, code, rules.version)
        if evaluation.is_met and not state.is_met:
            met.append(Met(code, "competence", evaluation.score, at))
        _set(state, evaluation.score, evaluation.is_met, at, rules.version)
    met_codes = {code for code, s in states.items() if s.is_met}
    for bloc in sorted({bloc for code in codes for bloc in rules.blocs_of(code)}):
        state = _state(states, bloc, rules.version)
        is_met = rules.bloc_met(bloc, met_codes)
        if is_met and not state.is_met:
            met.append(Met(bloc, "bloc", None, at))
        _set(state, None, is_met, at, rules.version)
    return met


def _set(state: _State, score: float | None, is_met: bool, at: datetime, version: int) -> None:
    if state.id is not None and (state.score, state.is_met, state.rules_version) == (score, is_met, version):
        return  # nothing changed: leave the row alone
    state.met_at = (state.met_at or at) if is_met else None
    state.score = score
    state.is_met = is_met
    state.rules_version = version
    state.updated_at = at
    state.changed = True


def _state(states: dict[str, _State], code: str, version: int) -> _State:
    state = states.get(code)
    if state is None:
        state = states[code] = _State(None, code, None, False, None, version)
    return state


def forget(session: DbSession, owner: Owner) -> None:
    """Drop a learner's mastery in a context (before a rebuild)."""
    for model in (EvidenceLink, CompetenceState, LearnerFacts):
        session.execute(
            delete(model).where(model.learner_id == owner.learner_id, model.context_pk == owner.context_pk)
        )
