"""Where a launch lands: the learner home and the staff home."""

from __future__ import annotations

from flask import Blueprint, render_template

from lti_tool.db import db
from lti_tool.learners import services
from lti_tool.lti.launches import current_launch, require_launch

bp = Blueprint("learners", __name__)


@bp.get("/learner/")
@require_launch()
def learner_home() -> str:
    """What the course offers the learner who launched."""
    launch = current_launch()
    learner = services.get_learner(db.session, launch.learner_id)
    return render_template("learners/learner_home.html", launch=launch, learner=learner)


@bp.get("/staff/")
@require_launch(staff=True)
def staff_home() -> str:
    """The course as its trainers see it: who has launched, with which role."""
    launch = current_launch()
    roster = services.context_roster(db.session, launch.context_pk)
    return render_template("learners/staff_home.html", launch=launch, roster=roster)
