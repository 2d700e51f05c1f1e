"""The evidence engine: facts from one event (or one stored statement) folded into a learner's mastery.

Each event touches one module, so it re-evaluates only the competences whose rule names that module and
the blocs they belong to: one row of facts read, a few rows written, whatever the learner's history. The
same ``apply`` replays stored statements in ``rebuild``, so the two paths cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select

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
    kind: str  # quiz | completed | attended | absent | accepted | returned | waived
    module_id: str
    at: datetime  # UTC, to the millisecond (what a statement's timestamp keeps)
    statement_id: str | None = None
    value: float | None = None  # the quiz score
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
    elif fact.kind == "waived":
        facts["waived"][m] = fact.ref or ""


def _trail(session: DbSession, rules: Rules, owner: Owner, fact: Fact, codes: Iterable[str]) -> None:
    """Record which statement counts toward which competence (or withdraw what no longer counts)."""
    if fact.kind in ("absent", "returned"):
        kind = "attended" if fact.kind == "absent" else "accepted"
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
        session.add(
            EvidenceLink(
                context_pk=owner.context_pk,
                learner_id=owner.learner_id,
                code=code,
                kind=fact.kind,
                module_id=fact.module_id,
                statement_id=fact.statement_id,
                ref=fact.ref if fact.kind == "attended" else None,
                weight=weight,
                value=fact.value,
                occurred_at=fact.at,
            )
        )


def _facts_row(session: DbSession, owner: Owner) -> LearnerFacts:
    row = session.scalar(
        select(LearnerFacts).where(
            LearnerFacts.learner_id == owner.learner_id, LearnerFacts.context_pk == owner.context_pk
        )
    )
    if row is None:
        row = LearnerFacts(
            platform_id=owner.platform_id,
            context_pk=owner.context_pk,
            learner_id=owner.learner_id,
            facts=empty_facts(),
        )
        session.add(row)
    return row


def apply(session: DbSession, rules: Rules, owner: Owner, facts_in: Sequence[Fact]) -> list[Met]:
    """Fold the facts, one after the other, into the learner's mastery; return what became met."""
    if not facts_in:
        return []
    row = _facts_row(session, owner)
    facts = {key: dict(value) for key, value in (row.facts or empty_facts()).items()}
    states = {
        s.code: s
        for s in session.scalars(
            select(CompetenceState).where(
                CompetenceState.learner_id == owner.learner_id,
                CompetenceState.context_pk == owner.context_pk,
            )
        )
    }
    met: list[Met] = []
    for fact in facts_in:
        codes = set(rules.by_module.get(fact.module_id, set()))
        if fact.kind == "waived":
            codes |= {c for c, rule in rules.rules.items() if fact.module_id in rule.quiz_modules}
        _fold(rules, facts, fact)
        _trail(session, rules, owner, fact, codes)
        met += _evaluate(session, rules, owner, facts, states, codes, fact.at)
    row.facts = facts
    row.updated_at = facts_in[-1].at
    return met


def _evaluate(
    session: DbSession,
    rules: Rules,
    owner: Owner,
    facts: dict[str, Any],
    states: dict[str, CompetenceState],
    codes: set[str],
    at: datetime,
) -> list[Met]:
    """Re-evaluate these competences and their blocs at ``at``."""
    met: list[Met] = []
    for code in sorted(codes):
        evaluation = rules.evaluate(code, facts)
        state = _state(session, states, owner, code, rules.version)
        if evaluation.is_met and not state.is_met:
            met.append(Met(code, "competence", evaluation.score, at))
        _set(state, evaluation.score, evaluation.is_met, at, rules.version)
    met_codes = {code for code, s in states.items() if s.is_met}
    for bloc in sorted({bloc for code in codes for bloc in rules.blocs_of(code)}):
        state = _state(session, states, owner, bloc, rules.version)
        is_met = rules.bloc_met(bloc, met_codes)
        if is_met and not state.is_met:
            met.append(Met(bloc, "bloc", None, at))
        _set(state, None, is_met, at, rules.version)
    return met


def _set(state: CompetenceState, score: float | None, is_met: bool, at: datetime, version: int) -> None:
    if (state.score, state.is_met) == (score, is_met) and state.rules_version == version:
        return  # nothing changed: leave the row (and its updated_at) alone
    state.met_at = (state.met_at or at) if is_met else None
    state.score = score
    state.is_met = is_met
    state.rules_version = version
    state.updated_at = at


def _state(
    session: DbSession, states: dict[str, CompetenceState], owner: Owner, code: str, version: int
) -> CompetenceState:
    state = states.get(code)
    if state is None:
        state = CompetenceState(
            platform_id=owner.platform_id,
            context_pk=owner.context_pk,
            learner_id=owner.learner_id,
            code=code,
            is_met=False,
            rules_version=version,
        )
        session.add(state)
        states[code] = state
    return state


def forget(session: DbSession, owner: Owner) -> None:
    """Drop a learner's mastery in a context (before a rebuild)."""
    for model in (EvidenceLink, CompetenceState, LearnerFacts):
        session.execute(
            delete(model).where(model.learner_id == owner.learner_id, model.context_pk == owner.context_pk)
        )
