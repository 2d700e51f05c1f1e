"""One learner's timeline, in plain words: the only statements the dashboard reads, a page at a time,
through the statement store's index of their account. No Flask here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    select,
)

from lti_tool.dashboard.cohort import aware
from lti_tool.dashboard.scope import StaffScope
from lti_tool.db import DbSession
from lti_tool.learners.models import Context, Deployment, Learner
from xapi import builder as xb
from xapi import store
from xapi.models import Statement
from xapi.vocabulary import VERB_DISPLAY, Vocabulary

TIMELINE_PAGE_SIZE = 50
TIMELINE_MAX_READS = 10  # pages of a learner's statements read, at most, to fill a page of one course's


# -- one learner's timeline, in plain words ----------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime | None
    verb: str  # the verb's display in the language asked ("a terminé")
    what: str | None  # the object's name; None for a reference to an earlier statement (a voiding)
    score: float | None  # scaled, 0..1
    success: bool | None
    by_someone_else: bool  # recorded by a facilitator (an attendance), not the learner


@dataclass(frozen=True)
class Timeline:
    entries: list[TimelineEntry]
    more: str | None  # the cursor of the next (older) page


def course_activity(vocabulary: Vocabulary, session: DbSession, context: Context, issuer: str) -> str:
    """The course's xAPI activity id, as the statement builder makes it (the statements' grouping)."""
    deployment_id = session.scalar(
        select(Deployment.deployment_id).where(Deployment.id == context.deployment_pk)
    )
    where = xb.Where(issuer, deployment_id or "", context.lti_context_id, context.title, None, None)
    return str(xb.Builder(vocabulary).course(where).id)


def timeline(
    session: DbSession,
    scope: StaffScope,
    learner: Learner,
    context: Context,
    vocabulary: Vocabulary,
    after: tuple[int, str] | None = None,
    lang: str = "fr",
) -> Timeline:
    """The learner's statements in this course, newest first, about a page at a time, in plain words.

    Read through the statement store by the learner's account only (its index gives their few hundred
    statements at once), then kept to this course (the course activity among the statement's context
    activities) and to the launch's registration (the rows' platform, checked by id). Asking the store for
    the course activity or the platform as well is slower: the course names every statement of the cohort,
    and without statistics SQLite would walk the platform's whole index."""
    course = course_activity(vocabulary, session, context, learner.issuer)
    agent = f"account:{learner.issuer}|{learner.sub}"
    kept: list[dict[str, Any]] = []
    cursor = after
    for _ in range(TIMELINE_MAX_READS):
        query = store.Query(agent=agent, limit=TIMELINE_PAGE_SIZE, after=cursor)
        statements, cursor = store.find(session, query, store.Visibility(everything=True))
        ours = _of_platform(session, [s["id"] for s in statements], scope.platform_id)
        kept += [s for s in statements if s["id"] in ours and _names_activity(s, course)]
        if cursor is None or len(kept) >= TIMELINE_PAGE_SIZE:
            break
    return Timeline(
        [plain_words(s, lang) for s in kept], store.encode_cursor(cursor) if cursor is not None else None
    )


def _of_platform(session: DbSession, ids: list[str], platform_id: int) -> set[str]:
    """Those of these statements that belong to the registration. The platform is compared here, not in
    SQL: with it in the WHERE clause SQLite picks the platform's index over the primary key."""
    if not ids:
        return set()
    rows = session.execute(select(Statement.id, Statement.platform_id).where(Statement.id.in_(ids)))
    return {statement_id for statement_id, platform in rows if platform == platform_id}


def _names_activity(statement: dict[str, Any], activity: str) -> bool:
    """The statement is about this activity, or has it among its context activities."""
    if (statement.get("object") or {}).get("id") == activity:
        return True
    related = ((statement.get("context") or {}).get("contextActivities")) or {}
    for kind in ("parent", "grouping", "category", "other"):
        items = related.get(kind) or []
        for item in items if isinstance(items, list) else [items]:
            if isinstance(item, dict) and item.get("id") == activity:
                return True
    return False


def _in_language(value: Any, lang: str) -> str | None:
    if not isinstance(value, dict) or not value:
        return None
    for key in (lang, "fr", "en", "und"):
        if isinstance(value.get(key), str):
            return str(value[key])
    first = next(iter(value.values()))
    return str(first) if isinstance(first, str) else None


def plain_words(statement: dict[str, Any], lang: str = "fr") -> TimelineEntry:
    """One statement as a sentence a trainer reads: the verb's display, the object's name, the outcome."""
    verb = statement.get("verb") or {}
    verb_id = str(verb.get("id", ""))
    verb_text = (
        VERB_DISPLAY.get(verb_id, {}).get(lang)
        or _in_language(verb.get("display"), lang)
        or verb_id.rsplit("/", 1)[-1]
    )
    target = statement.get("object") or {}
    what: str | None = None
    if target.get("objectType") != "StatementRef":
        definition = target.get("definition") or {}
        what = (
            _in_language(definition.get("name"), lang)
            or _in_language(definition.get("description"), lang)
            or str(target.get("id", ""))
        )
        if len(what) > 140:
            what = what[:139] + "…"
    result = statement.get("result") or {}
    scaled = (result.get("score") or {}).get("scaled")
    success = result.get("success")
    at = None
    stamp = statement.get("timestamp")
    if isinstance(stamp, str):
        try:
            at = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError:
            at = None
    by_other = bool((statement.get("context") or {}).get("instructor"))
    return TimelineEntry(
        aware(at),
        verb_text,
        what,
        float(scaled) if isinstance(scaled, int | float) else None,
        success if isinstance(success, bool) else None,
        by_other,
    )
