"""The CSV tables for training managers: learner × module, learner × competence, attendance per live
session, as CSV chunks a response can stream. No Flask here."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import select

from lti_tool.certificates.documents import PARIS
from lti_tool.competences.models import CompetenceState
from lti_tool.competences.services import rules_of
from lti_tool.content.loader import Content
from lti_tool.dashboard.scope import StaffScope
from lti_tool.db import DbSession
from lti_tool.exports.selection import EVERYTHING, Member, Selection, members, track_of, tracks
from lti_tool.exports.writing import IDENTITY_HEADER, NO, YES, csv_chunks, percent, when
from lti_tool.training.models import Attendance, Deliverable, LiveSession, ModuleProgress

# -- learner × module ----------------------------------------------------------------------------------------
MODULES_HEADER = (
    *IDENTITY_HEADER,
    "Module",
    "Intitulé du module",
    "Durée (min)",
    "Statut",
    "Commencé le",
    "Pages lues",
    "Pages",
    "Meilleur score (%)",
    "Score de réussite (%)",
    "Quiz réussi",
    "Terminé le",
    "Livrable",
)
DELIVERABLE_STATUS = {None: "à examiner", "accepted": "accepté", "returned": "renvoyé"}


def learners_modules(
    session: DbSession,
    scope: StaffScope,
    content: Content,
    chosen: Selection = EVERYTHING,
    tz: tzinfo = PARIS,
) -> Iterator[bytes]:
    """One row per learner × module of the programme (not started included), as CSV chunks. Two queries."""
    people = members(session, scope, chosen)
    progress: dict[tuple[int, int, str], Any] = {}
    for row in session.execute(
        select(
            ModuleProgress.learner_id,
            ModuleProgress.context_pk,
            ModuleProgress.module_id,
            ModuleProgress.started_at,
            ModuleProgress.pages_read,
            ModuleProgress.best_score,
            ModuleProgress.is_quiz_passed,
            ModuleProgress.completed_at,
            Deliverable.id.label("deliverable_id"),
            Deliverable.review_status,
        )
        .outerjoin(Deliverable, Deliverable.progress_id == ModuleProgress.id)
        .where(*chosen.where(scope, ModuleProgress.context_pk, ModuleProgress.learner_id))
    ):
        progress[(row.learner_id, row.context_pk, row.module_id)] = row

    def rows() -> Iterator[list[str]]:
        for member in people:
            identity = member.identity()
            for module in content.modules:
                meta = module.meta
                row = progress.get((member.learner.id, member.context_pk, module.id))
                has_deliverable = meta.deliverable is not None
                if row is None:
                    yield [
                        *identity,
                        module.id,
                        meta.title,
                        str(meta.duration_minutes),
                        "non commencé",
                        "",
                        "0",
                        str(len(module.pages)),
                        "",
                        percent(meta.mastery_score),
                        NO,
                        "",
                        "non déposé" if has_deliverable else "",
                    ]
                    continue
                if row.deliverable_id is not None:
                    deliverable = DELIVERABLE_STATUS.get(row.review_status, row.review_status or "")
                else:
                    deliverable = "non déposé" if has_deliverable else ""
                yield [
                    *identity,
                    module.id,
                    meta.title,
                    str(meta.duration_minutes),
                    "terminé" if row.completed_at is not None else "en cours",
                    when(row.started_at, tz),
                    str(len(set(row.pages_read or []))),
                    str(len(module.pages)),
                    percent(row.best_score),
                    percent(meta.mastery_score),
                    YES if row.is_quiz_passed else NO,
                    when(row.completed_at, tz),
                    deliverable,
                ]

    return csv_chunks(MODULES_HEADER, rows())


# -- learner × competence ------------------------------------------------------------------------------------
COMPETENCES_HEADER = (
    *IDENTITY_HEADER,
    "Parcours",
    "Code",
    "Niveau",
    "Intitulé",
    "Bloc",
    "Dans le parcours",
    "Score pondéré (%)",
    "Seuil (%)",
    "Statut",
    "Acquis le",
    "Version des règles",
)


def learners_competences(
    session: DbSession,
    scope: StaffScope,
    content: Content,
    chosen: Selection = EVERYTHING,
    tz: tzinfo = PARIS,
) -> Iterator[bytes]:
    """One row per learner × bloc and competence (each bloc followed by its competences), from the stored
    mastery states (never re-evaluated here), as CSV chunks. Three queries."""
    people = members(session, scope, chosen)
    known_tracks = tracks(session, scope, content, chosen)
    rules = rules_of(content)
    programme = content.programme
    track_names = {t.code: t.name.fr for t in programme.tracks}
    states: dict[tuple[int, int, str], Any] = {}
    for row in session.execute(
        select(
            CompetenceState.learner_id,
            CompetenceState.context_pk,
            CompetenceState.code,
            CompetenceState.score,
            CompetenceState.is_met,
            CompetenceState.met_at,
            CompetenceState.rules_version,
        ).where(*chosen.where(scope, CompetenceState.context_pk, CompetenceState.learner_id))
    ):
        states[(row.learner_id, row.context_pk, row.code)] = row
    names = {c.code: c.name.fr for c in programme.competences}
    # (code, level, name, bloc) in framework order: each bloc, then its competences; strays last.
    lines: list[tuple[str, str, str, str]] = []
    placed: set[str] = set()
    for bloc in programme.blocs:
        lines.append((bloc.code, "bloc", bloc.name.fr, bloc.code))
        for code in bloc.competences:
            lines.append((code, "compétence", names[code], bloc.code))
            placed.add(code)
    lines += [(c.code, "compétence", c.name.fr, "") for c in programme.competences if c.code not in placed]

    def status(state: Any, level: str) -> str:
        if state is None:
            return "non commencé"
        if not state.is_met:
            return "en cours"
        return "reconnu (acquis antérieurs)" if level == "compétence" and state.score is None else "acquis"

    def rows() -> Iterator[list[str]]:
        for member in people:
            identity = member.identity()
            track = track_of(known_tracks, member)
            in_track = set(rules.tracks.get(track, []))
            for code, level, name, bloc in lines:
                state = states.get((member.learner.id, member.context_pk, code))
                rule = rules.rules.get(code) if level == "compétence" else None
                yield [
                    *identity,
                    track_names.get(track, track),
                    code,
                    level,
                    name,
                    bloc,
                    YES if bloc in in_track else NO,
                    percent(state.score) if state is not None and level == "compétence" else "",
                    str(rule.min_score) if rule is not None else "",
                    status(state, level),
                    when(state.met_at, tz) if state is not None and state.is_met else "",
                    str(state.rules_version) if state is not None else "",
                ]

    return csv_chunks(COMPETENCES_HEADER, rows())


# -- attendance ----------------------------------------------------------------------------------------------
ATTENDANCE_HEADER = (
    *IDENTITY_HEADER,
    "Séance",
    "Titre de la séance",
    "Type",
    "Module",
    "Début",
    "Durée (min)",
    "Présence",
    "Enregistrée le",
)
SESSION_KINDS = {"webinaire": "webinaire", "atelier": "atelier", "co-developpement": "co-développement"}


def attendance(
    session: DbSession,
    scope: StaffScope,
    chosen: Selection = EVERYTHING,
    live: LiveSession | None = None,
    tz: tzinfo = PARIS,
) -> Iterator[bytes]:
    """One row per live session × learner of its course (present, absent or not recorded), for one session
    (checked with ``live_session`` first) or every session of the selection, as CSV chunks. Three queries."""
    chosen = Selection(live.context_pk, chosen.learner_ids) if live is not None else chosen
    query = select(LiveSession).where(chosen.contexts(scope, LiveSession.context_pk))
    if live is not None:
        query = query.where(LiveSession.id == live.id)
    sessions = list(session.scalars(query.order_by(LiveSession.starts_at, LiveSession.id)))
    people: dict[int, list[Member]] = {}
    for member in members(session, scope, chosen):
        people.setdefault(member.context_pk, []).append(member)
    marks: dict[tuple[int, int], tuple[bool, datetime]] = {}
    if sessions:
        for session_id, learner_id, is_present, recorded_at in session.execute(
            select(
                Attendance.session_id, Attendance.learner_id, Attendance.is_present, Attendance.recorded_at
            ).where(Attendance.session_id.in_([s.id for s in sessions]))
        ):
            marks[(session_id, learner_id)] = (is_present, recorded_at)

    def rows() -> Iterator[list[str]]:
        for live_session_row in sessions:
            described = [
                str(live_session_row.id),
                live_session_row.title,
                SESSION_KINDS.get(live_session_row.kind, live_session_row.kind),
                live_session_row.module_id or "",
                when(live_session_row.starts_at, tz),
                str(live_session_row.duration_minutes),
            ]
            for member in people.get(live_session_row.context_pk, []):
                mark = marks.get((live_session_row.id, member.learner.id))
                presence = "non renseignée" if mark is None else ("présent·e" if mark[0] else "absent·e")
                yield [
                    *member.identity(),
                    *described,
                    presence,
                    when(mark[1], tz) if mark is not None else "",
                ]

    return csv_chunks(ATTENDANCE_HEADER, rows())
