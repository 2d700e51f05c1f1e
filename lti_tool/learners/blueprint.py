"""Where a launch lands: the learner home and the staff home."""

from __future__ import annotations

from flask import Blueprint, render_template

from lti_tool.content.runtime import content
from lti_tool.db import db
from lti_tool.diagnostic import services as diagnostic
from lti_tool.learners import services
from lti_tool.lti.launches import current_launch, require_launch
from lti_tool.training import services as training
from lti_tool.training.blueprint import scope_of

bp = Blueprint("learners", __name__)


@bp.get("/learner/")
@require_launch()
def learner_home() -> str:
    """What the course offers the learner who launched."""
    launch = current_launch()
    scope = scope_of(launch)
    runs = [r for r in diagnostic.runs(db.session, scope) if r.status == "submitted"]
    sessions = training.sessions_of_context(db.session, launch.context_pk)
    attended = {
        s.id: p
        for s in sessions
        if (p := training.attendance_of(db.session, s.id).get(launch.learner_id)) is not None
    }
    return render_template(
        "learners/learner_home.html",
        launch=launch,
        learner=services.get_learner(db.session, launch.learner_id),
        modules=content().modules,
        progress_by_module=training.progress_by_module(db.session, scope),
        formats={f.code: f for f in content().programme.activity_formats},
        last_run=runs[0] if runs else None,
        sessions=sessions,
        attended=attended,
    )


@bp.get("/staff/")
@require_launch(staff=True)
def staff_home() -> str:
    """The course as its trainers see it: who has launched, with which role."""
    launch = current_launch()
    roster = services.context_roster(db.session, launch.context_pk)
    return render_template("learners/staff_home.html", launch=launch, roster=roster)
