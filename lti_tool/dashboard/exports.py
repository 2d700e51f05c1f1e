"""Exports for training managers, DU juries and universities' Moodles: CSV tables (learner × module, learner ×
competence, attendance per live session, the jury summary), the jury file (a ZIP of per-learner evidence files
with that summary) and the competence framework in Moodle's ``tool_lpimportcsv`` format.

No Flask here: a session, a ``StaffScope`` and the content in; CSV or ZIP bytes out, produced as chunks so
that a response can stream them (or a caller write them to a file). Every query filters through the scope,
and every id a caller got from a URL is checked with ``selection`` / ``live_session`` first (404 outside it).

One CSV convention for every file: UTF-8 with a byte order mark, ``;`` between cells, CRLF line ends, a
decimal comma, times in the programme's time zone as ``YYYY-MM-DD HH:MM``, French headers and values (what
Excel in France opens as is; Moodle's importer drops the BOM and offers ``;``). A cell a spreadsheet would
run as a formula (first character ``=``, ``+``, ``-``, ``@``, tab or carriage return) gets a leading ``'``.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from html import escape
from typing import IO, Any

from sqlalchemy import ColumnElement, and_, func, select

from lti_tool.certificates import credentials as ob
from lti_tool.certificates import evidence, issuing
from lti_tool.certificates.documents import PARIS, evidence_json, evidence_pdf
from lti_tool.certificates.models import Credential
from lti_tool.competences.models import CompetenceState
from lti_tool.competences.rules import track_for
from lti_tool.competences.services import DEFAULT_TRACK, rules_of
from lti_tool.content.loader import Content
from lti_tool.dashboard.scope import StaffScope
from lti_tool.db import DbSession
from lti_tool.diagnostic.models import DiagnosticRun
from lti_tool.errors import not_found
from lti_tool.learners.models import Context, Enrolment, Learner
from lti_tool.training.models import Attendance, Deliverable, LiveSession, ModuleProgress

BOM = "\ufeff"
SEPARATOR = ";"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ROWS_PER_CHUNK = 2000
CSV_MIMETYPE = "text/csv"  # Werkzeug adds "; charset=utf-8" to text types
ZIP_MIMETYPE = "application/zip"
YES, NO = "oui", "non"

# Moodle's tool_lpimportcsv: the columns of framework_importer::list_required_headers(), in that order (the
# importer reads them by position; the labels are its English strings, as its own exporter writes them).
MOODLE_HEADERS = (
    "Parent ID number",
    "ID number",
    "Short name",
    "Description",
    "Description format",
    "Scale values",
    "Scale configuration",
    "Rule type (optional)",
    "Rule outcome (optional)",
    "Rule config (optional)",
    "Cross-referenced competency ID numbers",
    "Exported ID (optional)",
    "Is framework",
    "Taxonomy",
)
MOODLE_FORMAT_HTML = "1"
MOODLE_SCALE = ("Non acquis", "Acquis")
# Item 2 ("Acquis") is both the default rating and the proficient one; the importer replaces the scale id.
MOODLE_SCALE_CONFIGURATION = json.dumps(
    [{"scaleid": "0"}, {"id": 2, "scaledefault": 1, "proficient": 1}], separators=(",", ":")
)
MOODLE_RULE_ALL = "core_competency\\competency_rule_all"  # "complete when all children are complete"
MOODLE_OUTCOME_COMPLETE = "2"  # core_competency\competency::OUTCOME_COMPLETE
MOODLE_TAXONOMIES = "domain,competency"  # level 1: the blocs, level 2: the competences
MOODLE_SHORTNAME_MAX = 100

IDENTITY_HEADER = (
    "Cours",
    "Cours (identifiant LMS)",
    "Apprenant·e (identifiant LMS)",
    "Référence Socle",
    "Nom",
    "Prénom",
    "Nom complet",
    "E-mail",
    "Inscription",
)


# -- CSV writing ---------------------------------------------------------------------------------------------
def neutralise(cell: str) -> str:
    """A cell that a spreadsheet would run as a formula, made inert with a leading apostrophe."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def csv_chunks(
    header: Sequence[str], rows: Iterable[Sequence[str]], rows_per_chunk: int = ROWS_PER_CHUNK
) -> Iterator[bytes]:
    """The CSV file in UTF-8 chunks of a few thousand rows: BOM, header, rows, every cell neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=SEPARATOR, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow([neutralise(cell) for cell in header])
    pending = 0
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
        pending += 1
        if pending == rows_per_chunk:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue().encode("utf-8")


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[str]]) -> bytes:
    return b"".join(csv_chunks(header, rows))


def _decimal(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}".replace(".", ",")


def _percent(fraction: float | None) -> str:
    return "" if fraction is None else _decimal(fraction * 100)


def _when(moment: datetime | None, tz: tzinfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M") if moment is not None else ""


def _day(moment: datetime | None, tz: tzinfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d") if moment is not None else ""


# -- what an export covers -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Selection:
    """The visible contexts an export covers (one, or all of the scope's) and, optionally, some learners."""

    context_pk: int | None = None
    learner_ids: frozenset[int] | None = None

    def contexts(self, scope: StaffScope, column: Any) -> ColumnElement[bool]:
        clause = scope.contexts_clause(column)
        if self.context_pk is not None:
            clause = and_(clause, column == self.context_pk)
        return clause

    def learners(self, column: Any) -> ColumnElement[bool] | None:
        return column.in_(sorted(self.learner_ids)) if self.learner_ids else None

    def where(self, scope: StaffScope, context_column: Any, learner_column: Any) -> list[ColumnElement[bool]]:
        clauses = [self.contexts(scope, context_column)]
        learners = self.learners(learner_column)
        if learners is not None:
            clauses.append(learners)
        return clauses


EVERYTHING = Selection()


def selection(
    session: DbSession, scope: StaffScope, context_pk: int | None = None, learner_ids: Iterable[int] = ()
) -> Selection:
    """A selection from a URL, every id checked: a context outside the scope, or a learner not enrolled (as a
    learner) in the selected visible contexts, answers 404 as if it did not exist."""
    if context_pk is not None:
        scope.context(session, context_pk)
    chosen = Selection(context_pk)
    ids = frozenset(learner_ids)
    if ids:
        found = set(
            session.scalars(
                select(Enrolment.learner_id).where(
                    Enrolment.learner_id.in_(sorted(ids)),
                    Enrolment.is_staff.is_(False),
                    chosen.contexts(scope, Enrolment.context_pk),
                )
            )
        )
        if found != ids:
            raise not_found("Cette personne dans ce cours", "This person in this course")
        chosen = Selection(context_pk, ids)
    return chosen


def live_session(
    session: DbSession, scope: StaffScope, session_id: int, chosen: Selection = EVERYTHING
) -> LiveSession:
    """A live session named in a URL, if it belongs to a visible (and the selected) context; 404 otherwise."""
    live = session.scalar(
        select(LiveSession).where(
            LiveSession.id == session_id, chosen.contexts(scope, LiveSession.context_pk)
        )
    )
    if live is None:
        raise not_found("Cette séance", "This session")
    return live


# -- the people ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Member:
    """A learner's enrolment in a visible course, with what every export prints about them."""

    learner: Learner
    context_pk: int
    course: str
    course_id: str
    is_active: bool
    ref: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ref", evidence.learner_ref(self.learner))

    @property
    def key(self) -> tuple[int, int]:
        return self.learner.id, self.context_pk

    @property
    def full_name(self) -> str:
        return evidence.display_name(self.learner)

    def identity(self) -> list[str]:
        learner = self.learner
        return [
            self.course,
            self.course_id,
            learner.sub,
            self.ref,
            learner.family_name or "",
            learner.given_name or "",
            self.full_name,
            learner.email or "",
            "inscrit·e" if self.is_active else "a quitté le cours",
        ]


def course_name(context: Context) -> str:
    return context.title or context.label or context.lti_context_id or f"Cours {context.id}"


def members(session: DbSession, scope: StaffScope, chosen: Selection = EVERYTHING) -> list[Member]:
    """The learners (not staff) enrolled in the selected visible courses, by course then name. One query."""
    rows = session.execute(
        select(Learner, Enrolment.context_pk, Enrolment.is_active, Context)
        .join(Enrolment, Enrolment.learner_id == Learner.id)
        .join(Context, Context.id == Enrolment.context_pk)
        .where(Enrolment.is_staff.is_(False), *chosen.where(scope, Enrolment.context_pk, Learner.id))
    ).all()
    found = [
        Member(learner, context_pk, course_name(context), context.lti_context_id, bool(is_active))
        for learner, context_pk, is_active, context in rows
    ]

    def order(member: Member) -> tuple[str, int, str, str, str, int]:
        learner = member.learner
        return (
            member.course.casefold(),
            member.context_pk,
            (learner.family_name or learner.name or "").casefold(),
            (learner.given_name or "").casefold(),
            (learner.name or "").casefold(),
            learner.id,
        )

    return sorted(found, key=order)


def tracks(
    session: DbSession, scope: StaffScope, content: Content, chosen: Selection = EVERYTHING
) -> dict[tuple[int, int], str]:
    """Each learner's certificate track per course, as ``competences.services.track_of`` decides it (from
    the profile of the latest submitted autodiagnostic), for a cohort at once."""
    latest: dict[tuple[int, int], dict[str, str] | None] = {}
    for learner_id, context_pk, profile in session.execute(
        select(DiagnosticRun.learner_id, DiagnosticRun.context_pk, DiagnosticRun.profile)
        .where(
            DiagnosticRun.status == "submitted",
            *chosen.where(scope, DiagnosticRun.context_pk, DiagnosticRun.learner_id),
        )
        .order_by(DiagnosticRun.submitted_at, DiagnosticRun.id)
    ):
        latest[(learner_id, context_pk)] = profile
    return {key: track_for(content.programme, profile) for key, profile in latest.items()}


def _track_of(known: dict[tuple[int, int], str], member: Member) -> str:
    return known.get(member.key, DEFAULT_TRACK)


@dataclass(frozen=True)
class Followed:
    """A learner's activity in a course: first start, and the minutes of the modules completed."""

    first_at: datetime | None
    minutes: int

    @property
    def hours(self) -> float:
        return self.minutes / 60


def followed(
    session: DbSession, scope: StaffScope, content: Content, chosen: Selection = EVERYTHING
) -> dict[tuple[int, int], Followed]:
    """Hours followed for a whole cohort in one query, by the rule of ``certificates.evidence.activity`` (the
    duration of each module completed); the tests hold the two equal for every learner."""
    first: dict[tuple[int, int], datetime] = {}
    minutes: dict[tuple[int, int], int] = {}
    for learner_id, context_pk, module_id, started_at, completed_at in session.execute(
        select(
            ModuleProgress.learner_id,
            ModuleProgress.context_pk,
            ModuleProgress.module_id,
            ModuleProgress.started_at,
            ModuleProgress.completed_at,
        ).where(*chosen.where(scope, ModuleProgress.context_pk, ModuleProgress.learner_id))
    ):
        key = (learner_id, context_pk)
        if key not in first or started_at < first[key]:
            first[key] = started_at
        module = content.module(module_id)
        minutes[key] = minutes.get(key, 0) + (
            module.meta.duration_minutes if completed_at is not None and module is not None else 0
        )
    return {key: Followed(first[key], minutes[key]) for key in first}


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
                        _percent(meta.mastery_score),
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
                    _when(row.started_at, tz),
                    str(len(set(row.pages_read or []))),
                    str(len(module.pages)),
                    _percent(row.best_score),
                    _percent(meta.mastery_score),
                    YES if row.is_quiz_passed else NO,
                    _when(row.completed_at, tz),
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
            track = _track_of(known_tracks, member)
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
                    _percent(state.score) if state is not None and level == "compétence" else "",
                    str(rule.min_score) if rule is not None else "",
                    status(state, level),
                    _when(state.met_at, tz) if state is not None and state.is_met else "",
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
                _when(live_session_row.starts_at, tz),
                str(live_session_row.duration_minutes),
            ]
            for member in people.get(live_session_row.context_pk, []):
                mark = marks.get((live_session_row.id, member.learner.id))
                presence = "non renseignée" if mark is None else ("présent·e" if mark[0] else "absent·e")
                yield [
                    *member.identity(),
                    *described,
                    presence,
                    _when(mark[1], tz) if mark is not None else "",
                ]

    return csv_chunks(ATTENDANCE_HEADER, rows())


# -- the jury ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class JuryLine:
    member: Member
    track: str
    row: list[str]


def jury_header(content: Content, with_files: bool = False) -> list[str]:
    header = [*IDENTITY_HEADER, "Parcours"]
    for bloc in content.programme.blocs:
        header += [bloc.code, f"{bloc.code} acquis le", f"{bloc.code} certificat (identifiant)"]
    header += [
        "Certificat d'aptitude",
        "Certificat délivré le",
        "Certificat d'aptitude (identifiant)",
        "Certificats révoqués",
        "Première activité",
        "Heures suivies (modules terminés)",
        "Séances en direct suivies",
        "Heures de séances en direct",
    ]
    if with_files:
        header.append("Dossier de preuves")
    return header


def jury_lines(
    session: DbSession,
    scope: StaffScope,
    content: Content,
    chosen: Selection = EVERYTHING,
    tz: tzinfo = PARIS,
) -> list[JuryLine]:
    """The jury's summary, one line per learner and course: each bloc's result, date and credential id, the
    certificate, hours followed and live sessions attended. Six queries, whatever the cohort's size."""
    people = members(session, scope, chosen)
    known_tracks = tracks(session, scope, content, chosen)
    rules = rules_of(content)
    programme = content.programme
    bloc_codes = [b.code for b in programme.blocs]
    met: dict[tuple[int, int, str], datetime | None] = {}
    for learner_id, context_pk, code, met_at in session.execute(
        select(
            CompetenceState.learner_id,
            CompetenceState.context_pk,
            CompetenceState.code,
            CompetenceState.met_at,
        ).where(
            CompetenceState.code.in_(bloc_codes),
            CompetenceState.is_met.is_(True),
            *chosen.where(scope, CompetenceState.context_pk, CompetenceState.learner_id),
        )
    ):
        met[(learner_id, context_pk, code)] = met_at
    issued: dict[tuple[int, int, str], Any] = {}
    for issued_row in session.execute(
        select(
            Credential.id,
            Credential.learner_id,
            Credential.context_pk,
            Credential.achievement,
            Credential.issued_at,
            Credential.revoked_at,
        )
        .where(*chosen.where(scope, Credential.context_pk, Credential.learner_id))
        # Earned again after a revocation: the latest credential is the one the row names.
        .order_by(Credential.issued_at, Credential.revoked_at.is_(None))
    ):
        issued[(issued_row.learner_id, issued_row.context_pk, issued_row.achievement)] = issued_row
    hours = followed(session, scope, content, chosen)
    live: dict[tuple[int, int], tuple[int, int]] = {}
    for learner_id, context_pk, count, minutes in session.execute(
        select(
            Attendance.learner_id,
            LiveSession.context_pk,
            func.count(Attendance.id),
            func.sum(LiveSession.duration_minutes),
        )
        .join(LiveSession, LiveSession.id == Attendance.session_id)
        .where(
            Attendance.is_present.is_(True),
            *chosen.where(scope, LiveSession.context_pk, Attendance.learner_id),
        )
        .group_by(Attendance.learner_id, LiveSession.context_pk)
    ):
        live[(learner_id, context_pk)] = (int(count), int(minutes or 0))
    track_names = {t.code: t.name.fr for t in programme.tracks}
    lines = []
    for member in people:
        learner_id, context_pk = member.key
        track = _track_of(known_tracks, member)
        in_track = set(rules.tracks.get(track, []))
        row = [*member.identity(), track_names.get(track, track)]
        revoked = []
        for code in bloc_codes:
            credential = issued.get((learner_id, context_pk, code))
            met_at = met.get((learner_id, context_pk, code))
            is_met = (learner_id, context_pk, code) in met
            result = "acquis" if is_met else ("en cours" if code in in_track else "hors parcours")
            row += [
                result,
                _day(met_at, tz) if is_met else "",
                credential.id if credential is not None else "",
            ]
            if credential is not None and credential.revoked_at is not None:
                revoked.append(code)
        certificate = issued.get((learner_id, context_pk, issuing.CERTIFICATE + track))
        if certificate is None:
            row += ["en cours", "", ""]
        else:
            row += [
                "révoqué" if certificate.revoked_at is not None else "délivré",
                _day(certificate.issued_at, tz),
                certificate.id,
            ]
            if certificate.revoked_at is not None:
                revoked.append("certificat")
        activity = hours.get(member.key)
        sessions_count, sessions_minutes = live.get(member.key, (0, 0))
        row += [
            ", ".join(revoked),
            _day(activity.first_at, tz) if activity is not None else "",
            _decimal(activity.hours if activity is not None else 0.0, 2),
            str(sessions_count),
            _decimal(sessions_minutes / 60, 2),
        ]
        lines.append(JuryLine(member, track, row))
    return lines


def jury_summary(
    session: DbSession,
    scope: StaffScope,
    content: Content,
    chosen: Selection = EVERYTHING,
    tz: tzinfo = PARIS,
) -> Iterator[bytes]:
    """The jury's summary alone, as CSV chunks (the whole cohort in seconds, without the evidence files)."""
    lines = jury_lines(session, scope, content, chosen, tz)
    return csv_chunks(jury_header(content), (line.row for line in lines))


def slug(text: str, limit: int = 40) -> str:
    """ASCII for a file name inside the ZIP (every unzip tool reads it the same)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:limit].strip("-")


def evidence_file_name(member: Member) -> str:
    """Where a learner's evidence files go in the jury ZIP (without the extension): one folder per course,
    the name then the start of the Socle reference, so that two namesakes never collide."""
    course = f"{member.context_pk}-{slug(member.course) or 'cours'}"
    person = slug(member.full_name) or "apprenant"
    return f"dossiers/{course}/{person}-{member.ref[:8]}"


class _Chunks:
    """A write-only file for ``zipfile``: keeps what was written until the next ``drain``. It has no
    ``tell``/``seek``, so ``zipfile`` writes data descriptors and never goes back (a streamable ZIP)."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def drain(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def jury_zip(
    session: DbSession,
    scope: StaffScope,
    content: Content,
    urls: ob.Urls,
    chosen: Selection = EVERYTHING,
    tz: tzinfo = PARIS,
) -> Iterator[bytes]:
    """The jury file as ZIP chunks: ``synthese.csv`` first (the summary, naming each learner's files), then
    per learner and course the evidence file as PDF and JSON (``certificates.evidence``). A PDF is rendered
    per learner (bench/exports.py: 0.03–0.04 s each, longer for long histories): a chunk is yielded after
    each learner, so a response streams while the next is rendered, whatever the cohort's size."""
    lines = jury_lines(session, scope, content, chosen, tz)
    names = {line.member.key: evidence_file_name(line.member) for line in lines}
    sink = _Chunks()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        summary = csv_bytes(
            jury_header(content, with_files=True),
            ([*line.row, names[line.member.key] + ".pdf"] for line in lines),
        )
        archive.writestr(_entry("synthese.csv"), summary, zipfile.ZIP_DEFLATED)
        yield sink.drain()
        for line in lines:
            learner_id, context_pk = line.member.key
            document = evidence.evidence_document(session, learner_id, context_pk, content, urls)
            name = names[line.member.key]
            # reportlab compresses its page streams already: store the PDF, deflate the JSON.
            archive.writestr(_entry(name + ".pdf"), evidence_pdf(document), zipfile.ZIP_STORED)
            archive.writestr(
                _entry(name + ".json"),
                json.dumps(evidence_json(document), ensure_ascii=False, indent=2),
                zipfile.ZIP_DEFLATED,
            )
            yield sink.drain()
    yield sink.drain()


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_zip_time())
    info.external_attr = 0o644 << 16
    return info


def _zip_time() -> tuple[int, int, int, int, int, int]:
    now = datetime.now(PARIS)  # ZIP times carry no zone: the programme's local time
    return (now.year, now.month, now.day, now.hour, now.minute, now.second)


def write(chunks: Iterable[bytes], out: IO[bytes]) -> int:
    """Write an export's chunks to a file; return the bytes written."""
    size = 0
    for chunk in chunks:
        out.write(chunk)
        size += len(chunk)
    return size


# -- the competence framework for Moodle ---------------------------------------------------------------------
def framework_idnumber(content: Content) -> str:
    """The framework's Moodle ID number: unique on a Moodle site, so it carries the content version (a new
    version imports as a new framework, as its meaning may have changed)."""
    return f"socle-mse-v{content.version}"


def _html(*paragraphs: str) -> str:
    return "".join(f"<p>{escape(text, quote=False)}</p>" for text in paragraphs if text)


def moodle_framework_rows(content: Content) -> list[list[str]]:
    """The rows of a ``tool_lpimportcsv`` file (header excluded): the framework first (with its scale, "Non
    acquis" / "Acquis", the latter proficient), then each bloc (rule: complete when all its competences are,
    as Socle's own rule) followed by its competences, whose parent is the bloc."""
    programme = content.programme
    rules = rules_of(content)
    competences = {c.code: c for c in programme.competences}

    def row(parent: str, idnumber: str, shortname: str, description: str, **extra: str) -> list[str]:
        cells = {
            "scalevalues": "",
            "scaleconfiguration": "",
            "ruletype": "",
            "ruleoutcome": "0",
            "ruleconfig": "null",
            "isframework": "",
            "taxonomy": "",
        } | extra
        return [
            parent,
            idnumber,
            shortname[:MOODLE_SHORTNAME_MAX],
            description,
            MOODLE_FORMAT_HTML,
            cells["scalevalues"],
            cells["scaleconfiguration"],
            cells["ruletype"],
            cells["ruleoutcome"],
            cells["ruleconfig"],
            "",  # related competences: none
            "",  # exported id: only for rules that point at other competences (none here)
            cells["isframework"],
            cells["taxonomy"],
        ]

    rows = [
        row(
            "",
            framework_idnumber(content),
            programme.title.fr,
            _html(
                "Référentiel du certificat d'aptitude : blocs de compétences et compétences, exporté de "
                f"Socle (contenu version {content.version}, règles de maîtrise version {rules.version}).",
                "Un bloc est acquis quand toutes ses compétences le sont.",
            ),
            scalevalues=",".join(MOODLE_SCALE),
            scaleconfiguration=MOODLE_SCALE_CONFIGURATION,
            ruleoutcome="",
            ruleconfig="",
            isframework="1",
            taxonomy=MOODLE_TAXONOMIES,
        )
    ]
    for bloc in programme.blocs:
        rows.append(
            row(
                "",
                bloc.code,
                bloc.name.fr,
                _html(
                    f"Évaluation : {bloc.assessment.fr}",
                    f"Acquis quand toutes ses compétences le sont : {', '.join(bloc.competences)}.",
                ),
                ruletype=MOODLE_RULE_ALL,
                ruleoutcome=MOODLE_OUTCOME_COMPLETE,
            )
        )
        for code in bloc.competences:
            competence = competences[code]
            rule = rules.rules.get(code)
            rows.append(
                row(
                    bloc.code,
                    code,
                    competence.name.fr,
                    _html(
                        competence.description.fr,
                        f"Règle de maîtrise : {evidence.rule_text(rule)}." if rule is not None else "",
                    ),
                )
            )
    return rows


def moodle_framework(content: Content) -> bytes:
    """The competence framework as a Moodle competency-framework CSV (``tool_lpimportcsv``), in the same CSV
    convention as every other export (choose the ";" delimiter in Moodle's import form)."""
    return csv_bytes(MOODLE_HEADERS, moodle_framework_rows(content))


# -- the exports page ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Course:
    pk: int
    name: str
    learners: int
    sessions: list[LiveSession]


def courses(session: DbSession, scope: StaffScope) -> list[Course]:
    """The visible courses, with their number of learners and their live sessions. Three queries."""
    contexts = list(session.scalars(select(Context).where(EVERYTHING.contexts(scope, Context.id))))
    counts = dict(
        session.execute(
            select(Enrolment.context_pk, func.count(Enrolment.id))
            .where(Enrolment.is_staff.is_(False), EVERYTHING.contexts(scope, Enrolment.context_pk))
            .group_by(Enrolment.context_pk)
        ).all()
    )
    sessions: dict[int, list[LiveSession]] = {}
    for live in session.scalars(
        select(LiveSession)
        .where(EVERYTHING.contexts(scope, LiveSession.context_pk))
        .order_by(LiveSession.starts_at, LiveSession.id)
    ):
        sessions.setdefault(live.context_pk, []).append(live)
    found = [
        Course(context.id, course_name(context), int(counts.get(context.id, 0)), sessions.get(context.id, []))
        for context in contexts
    ]
    # The launch's own course first, then by name.
    return sorted(found, key=lambda c: (c.pk != scope.launch_context_pk, c.name.casefold(), c.pk))
