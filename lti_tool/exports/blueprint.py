"""Exports for staff (``/staff/exports/…``): CSV tables, the DU jury file and the framework for Moodle.

Every route needs a staff launch; every id in a URL (``context``, ``learner``, ``session``) is checked against
the launch's scope before anything is sent (404 outside it), then the file is streamed as it is produced.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, render_template, request, stream_with_context

from lti_tool import inputs
from lti_tool.certificates import issuing
from lti_tool.content.runtime import content
from lti_tool.dashboard.scope import StaffScope
from lti_tool.db import db
from lti_tool.errors import InvalidInput, not_found
from lti_tool.exports import jury as jury_files
from lti_tool.exports import moodle, selection, tables
from lti_tool.exports.writing import CSV_MIMETYPE, ZIP_MIMETYPE
from lti_tool.lti.launches import current_launch, require_launch

bp = Blueprint("exports", __name__, url_prefix="/staff/exports")

# What one learner's evidence file takes to read, render and zip, to tell staff what to expect:
# bench/exports.py measures 0.03–0.04 s with a seeded trail; long histories make longer files.
SECONDS_PER_EVIDENCE_FILE = 0.1


def _scope() -> StaffScope:
    return StaffScope.of_launch(current_launch())


def _timezone() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def _id(raw: str) -> int:
    """An id from the URL; anything but a plain number names nothing (404)."""
    try:
        return inputs.identifier(raw, "id")
    except InvalidInput as error:
        raise not_found("Cet élément", "This item") from error


def _context_arg() -> int | None:
    raw = request.args.get("context", "")
    return None if raw in ("", "all") else _id(raw)


def _selection(scope: StaffScope) -> selection.Selection:
    """``?context=<id>`` (default: every visible course) and ``?learner=<id>`` (repeated), all checked."""
    learners = [_id(raw) for raw in request.args.getlist("learner") if raw != ""]
    return selection.selection(db.session, scope, _context_arg(), learners)


def _filename(what: str, chosen: selection.Selection, extension: str) -> str:
    day = datetime.now(_timezone()).strftime("%Y-%m-%d")
    where = f"-cours-{chosen.context_pk}" if chosen.context_pk is not None else ""
    return f"socle-{what}{where}-{day}.{extension}"


def _download(chunks: Iterator[bytes], mimetype: str, filename: str) -> Response:
    """A streamed attachment; personal data, so never cached."""
    response = Response(stream_with_context(chunks), mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"  # let a reverse proxy pass the chunks on as they come
    return response


@bp.get("/")
@require_launch(staff=True)
def index() -> str:
    """The exports of the courses this launch may see."""
    launch = current_launch()
    return render_template(
        "exports/index.html",
        courses=selection.courses(db.session, _scope()),
        is_admin=launch.is_admin,
        seconds_per_file=SECONDS_PER_EVIDENCE_FILE,
    )


@bp.get("/learners-modules.csv")
@require_launch(staff=True)
def learners_modules() -> Response:
    """One row per learner × module."""
    scope = _scope()
    chosen = _selection(scope)
    chunks = tables.learners_modules(db.session, scope, content(), chosen, _timezone())
    return _download(chunks, CSV_MIMETYPE, _filename("apprenants-modules", chosen, "csv"))


@bp.get("/learners-competences.csv")
@require_launch(staff=True)
def learners_competences() -> Response:
    """One row per learner × bloc and competence."""
    scope = _scope()
    chosen = _selection(scope)
    chunks = tables.learners_competences(db.session, scope, content(), chosen, _timezone())
    return _download(chunks, CSV_MIMETYPE, _filename("apprenants-competences", chosen, "csv"))


@bp.get("/attendance.csv")
@require_launch(staff=True)
def attendance() -> Response:
    """Attendance per live session: one session (``?session=<id>``) or all of them."""
    scope = _scope()
    chosen = _selection(scope)
    raw = request.args.get("session", "")
    live = selection.live_session(db.session, scope, _id(raw), chosen) if raw else None
    chunks = tables.attendance(db.session, scope, chosen, live, _timezone())
    what = f"presences-seance-{live.id}" if live is not None else "presences"
    return _download(chunks, CSV_MIMETYPE, _filename(what, chosen, "csv"))


@bp.get("/jury-summary.csv")
@require_launch(staff=True)
def jury_summary() -> Response:
    """The jury's summary (blocs, certificate, hours, credential ids) without the evidence files."""
    scope = _scope()
    chosen = _selection(scope)
    chunks = jury_files.jury_summary(db.session, scope, content(), chosen, _timezone())
    return _download(chunks, CSV_MIMETYPE, _filename("jury-synthese", chosen, "csv"))


@bp.get("/jury")
@require_launch(staff=True)
def jury() -> str:
    """Choose the learners of a course whose evidence files go into the jury ZIP."""
    scope = _scope()
    asked = _context_arg()
    context_pk = asked if asked is not None else scope.launch_context_pk
    chosen = selection.selection(db.session, scope, context_pk)
    context = scope.context(db.session, context_pk)
    return render_template(
        "exports/jury.html",
        course=selection.course_name(context),
        context_pk=context_pk,
        members=selection.members(db.session, scope, chosen),
        current_launch_id=current_launch().launch_id,
    )


@bp.get("/jury.zip")
@require_launch(staff=True)
def jury_zip() -> Response:
    """The jury file: the summary and each selected learner's evidence file (PDF and JSON), streamed."""
    scope = _scope()
    chosen = _selection(scope)
    chunks = jury_files.jury_zip(db.session, scope, content(), issuing.urls(), chosen, _timezone())
    return _download(chunks, ZIP_MIMETYPE, _filename("jury", chosen, "zip"))


@bp.get("/framework.csv")
@require_launch(staff=True)
def framework() -> Response:
    """The competence framework as a Moodle competency framework (Site administration → Competencies →
    Import competency framework)."""
    data = moodle.moodle_framework(content())
    filename = f"{moodle.framework_idnumber(content())}-competences-moodle.csv"
    return _download(iter([data]), CSV_MIMETYPE, filename)
