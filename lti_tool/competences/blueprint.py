"""Competences pages: the learner's "mes compétences" and the facilitators' reviews and recognitions. Every id
in a URL is checked against the launch's course context. The credentials these pages list, and their actions,
are ``lti_tool.certificates.credentials_blueprint``'s."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from lti_tool.competences import services
from lti_tool.content.runtime import content
from lti_tool.db import db
from lti_tool.errors import InvalidInput, refused
from lti_tool.learners.services import enrolled_learner
from lti_tool.lti.launches import current_launch, here, loaded_launch, require_launch
from lti_tool.scope import Scope
from lti_tool.training import facilitation, rubrics

bp = Blueprint("competences", __name__)


@bp.context_processor
def names() -> dict[str, Any]:
    """Labels the competences templates share."""
    programme = content().programme
    # Not current_launch(): this also runs while the error page of a refused request renders, where asking
    # for the launch again would raise again and turn a clear 401/403 into a 500.
    launch = loaded_launch()
    return {
        "track_names": {t.code: t.name.fr for t in programme.tracks},
        "evidence_labels": {
            "quiz": _("Quiz"),
            "completed": _("Module terminé"),
            "attended": _("Séance suivie"),
            "accepted": _("Livrable accepté"),
            "assessed": _("Production évaluée"),
            "waived": _("Acquis reconnus"),
        },
        "launch_is_admin": launch is not None and launch.is_admin,
    }


@bp.get("/competences/")
@require_launch()
def mine() -> str:
    """Mes compétences: progress per competence, what is still missing, and the credentials earned."""
    launch = current_launch()
    return render_template(
        "competences/mine.html",
        overview=services.overview(db.session, launch.learner_id, launch.context_pk, content()),
        holder_id=launch.learner_id,
        here=here,
    )


@bp.get("/staff/competences/")
@require_launch(staff=True)
def staff() -> str:
    """Deliverables to review, learners (to recognise prior learning) and the credentials of the course."""
    return _staff_page()


def _staff_page(
    form_error: InvalidInput | None = None,
    failed_id: int | None = None,
    kept: dict[str, list[str]] | None = None,
) -> str:
    """The review page; after a refused decision, that card's form keeps what was typed, with the message."""
    launch = current_launch()
    learners = facilitation.context_learners(db.session, launch.context_pk)
    return render_template(
        "competences/staff.html",
        deliverables=services.deliverables_to_review(db.session, launch.context_pk),
        learners=learners,
        names={learner.id: learner for learner in learners},
        modules={m.id: m for m in content().modules},
        form_error=form_error,
        failed_id=failed_id,
        kept=kept or {},
        here=here,
    )


@bp.post("/staff/deliverables/<int:deliverable_id>/review")
@require_launch(staff=True)
def review(deliverable_id: int) -> Response | tuple[str, int]:
    """A facilitator's decision on a deliverable, or their assessment of a production on its grid."""
    decision = request.form.get("decision")
    if decision not in ("accept", "return", "assess"):
        raise refused("bad_decision", "Choisissez accepter ou renvoyer.", "Choose accept or return.")
    levels = None
    if decision == "assess":
        rubric = services.rubric_of(db.session, deliverable_id, current_launch().context_pk, content())
        if rubric is None:
            raise refused(
                "no_rubric",
                "Ce livrable n'a pas de grille : acceptez-le ou renvoyez-le.",
                "This deliverable has no grid: accept or return it.",
            )
        levels = rubrics.parse_levels(rubric, request.form.to_dict(flat=False))
    try:
        services.review_deliverable(
            db.session,
            Scope.of_launch(current_launch()),
            deliverable_id,
            decision == "accept",
            request.form.get("comment", ""),
            content(),
            levels,
        )
    except InvalidInput as error:
        if error.code != "comment_required":
            raise
        # « Renvoyer » without a comment: the page comes back with the levels chosen and the message there.
        db.session.rollback()
        return _staff_page(error, deliverable_id, request.form.to_dict(flat=False)), error.status
    return redirect(here("competences.staff", done="review"), code=303)


@bp.get("/staff/learners/<int:learner_id>/competences")
@require_launch(staff=True)
def learner(learner_id: int) -> str:
    launch = current_launch()
    person = enrolled_learner(db.session, learner_id, launch.context_pk)
    return render_template(
        "competences/learner.html",
        person=person,
        overview=services.overview(db.session, person.id, launch.context_pk, content()),
        modules=content().modules,
        here=here,
    )


@bp.post("/staff/learners/<int:learner_id>/prior-learning")
@require_launch(staff=True)
def prior_learning(learner_id: int) -> Response:
    launch = current_launch()
    person = enrolled_learner(db.session, learner_id, launch.context_pk)
    module = content().module(request.form.get("module", ""))
    if module is None:
        raise refused("unknown_module", "Choisissez un module de la liste.", "Pick a module from the list.")
    services.recognise_prior_learning(
        db.session, Scope.of_launch(launch), person.id, module, request.form.get("reason", ""), content()
    )
    return redirect(here("competences.learner", learner_id=person.id, done="recognised"), code=303)
