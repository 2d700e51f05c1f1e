"""The dashboard's heatmap: each learner × module of the cohort, a page of learners at a time. No Flask
here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    select,
)

from lti_tool.competences.models import CompetenceState
from lti_tool.content.loader import Content
from lti_tool.dashboard.cohort import Filters, Paged, page_of_members, pairs_clause
from lti_tool.dashboard.overview import competences_shown
from lti_tool.dashboard.scope import StaffScope
from lti_tool.db import DbSession

# -- the heatmap ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    score: float | None  # 0..1; None when there is no weighted score
    is_met: bool
    has_evidence: bool  # a state exists (evidence was folded in, or the competence was recognised)


@dataclass(frozen=True)
class HeatRow:
    learner_id: int
    context_pk: int
    context_title: str | None
    name: str | None
    cells: list[Cell]


@dataclass(frozen=True)
class Heatmap:
    columns: list[tuple[str, str]]  # (code, name)
    rows: Paged[HeatRow]


def heatmap(
    session: DbSession,
    scope: StaffScope,
    filters: Filters,
    content: Content,
    now: datetime,
    page: int = 1,
    lang: str = "fr",
) -> Heatmap:
    """Learners (a page of them, by name) × competences: each cell the weighted score and whether met."""
    columns = [(code, getattr(name, lang)) for code, name in competences_shown(content, filters)]
    codes = [code for code, _ in columns]
    shown, total = page_of_members(session, scope, filters, page, None, now)
    pairs = [(learner_id, context_pk) for learner_id, context_pk, *_ in shown]
    states: dict[tuple[int, int, str], Cell] = {}
    if pairs and codes:
        wanted = set(pairs)
        for learner_id, context_pk, code, score, met in session.execute(
            select(
                CompetenceState.learner_id,
                CompetenceState.context_pk,
                CompetenceState.code,
                CompetenceState.score,
                CompetenceState.is_met,
            ).where(
                pairs_clause(pairs, CompetenceState.learner_id, CompetenceState.context_pk),
                CompetenceState.code.in_(codes),
            )
        ):
            if (learner_id, context_pk) in wanted:
                states[(learner_id, context_pk, code)] = Cell(score, bool(met), True)
    empty = Cell(None, False, False)
    rows = [
        HeatRow(
            learner_id,
            context_pk,
            title,
            name,
            [states.get((learner_id, context_pk, code), empty) for code in codes],
        )
        for learner_id, context_pk, name, title, _ in shown
    ]
    return Heatmap(columns, Paged(rows, page, total))
