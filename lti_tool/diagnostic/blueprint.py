"""The autodiagnostic (``/diagnostic/…``): profile, five axes saved one by one, then the results."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from lti_tool.content.runtime import content
from lti_tool.db import db
from lti_tool.diagnostic import charts, scoring, services
from lti_tool.errors import not_found
from lti_tool.lti.launches import current_launch, here, require_launch
from lti_tool.scope import Scope

bp = Blueprint("diagnostic", __name__, url_prefix="/diagnostic")


@bp.get("/")
@require_launch()
def index() -> str | Response:
    """Start or resume the questionnaire, or see past results."""
    scope = Scope.of_launch(current_launch())
    runs = services.runs(db.session, scope)
    return render_template(
        "diagnostic/index.html",
        runs=runs,
        open_run=services.open_run(db.session, scope),
        level_names={lvl.code: lvl.label for lvl in content().diagnostic.scoring.levels},
        here=here,
    )


@bp.post("/runs")
@require_launch()
def start() -> Response:
    run = services.start(db.session, Scope.of_launch(current_launch()), content().version)
    step = services.next_step(run, content().diagnostic)
    return redirect(here("diagnostic.step", run_id=run.id, step=step or "review"), code=303)


@bp.route("/runs/<int:run_id>/<step>", methods=["GET", "POST"])
@require_launch()
def step(run_id: int, step: str) -> str | Response:
    """One step (the profile, or one axis); each answer set is saved, so the learner can stop any time."""
    diagnostic = content().diagnostic
    run = services.run_of(db.session, Scope.of_launch(current_launch()), run_id)
    if run.status == "submitted" and request.method == "GET":
        return redirect(here("diagnostic.result", run_id=run.id), code=303)
    steps = [*services.steps(diagnostic), "review"]
    if step not in steps:
        raise not_found("Cette étape", "This step")
    form = request.form.to_dict()
    if request.method == "POST":
        if step == "profile":
            services.save_profile(db.session, run, diagnostic, form)
        elif step != "review":
            services.save_axis(db.session, run, diagnostic, step, form)
        if step == "review":
            services.submit(db.session, Scope.of_launch(current_launch()), run, diagnostic, content().version)
            return redirect(here("diagnostic.result", run_id=run.id), code=303)
        following = steps[steps.index(step) + 1]
        return redirect(here("diagnostic.step", run_id=run.id, step=following), code=303)
    asked = scoring.questions(diagnostic, run.profile) if run.profile else []
    axis = next((a for a in diagnostic.axes if a.id == step), None)
    return render_template(
        "diagnostic/step.html",
        run=run,
        step=step,
        steps=steps,
        diagnostic=diagnostic,
        axis=axis,
        practice=diagnostic.practice if step == scoring.PRACTICE else None,
        note=scoring.organisation_note(diagnostic, run.profile) if axis else None,
        questions=[q for q in asked if q.axis == step],
        missing=services.next_step(run, diagnostic),
        here=here,
    )


@bp.get("/runs/<int:run_id>/result")
@require_launch()
def result(run_id: int) -> str | Response:
    """Scores as a radar and a table, the level, the recommended path, and the previous result beside."""
    scope = Scope.of_launch(current_launch())
    run = services.run_of(db.session, scope, run_id)
    if run.status != "submitted" or run.result is None:
        return redirect(here("diagnostic.step", run_id=run.id, step="profile"), code=303)
    diagnostic = content().diagnostic
    earlier = [
        r
        for r in services.runs(db.session, scope)
        if r.status == "submitted"
        and r.submitted_at
        and run.submitted_at
        and r.submitted_at < run.submitted_at
    ]
    previous = earlier[0] if earlier else None
    axes = [(a.id, a.name) for a in diagnostic.axes]
    series = [run.result["axis_scores"]] + (
        [previous.result["axis_scores"]] if previous and previous.result else []
    )
    # A result keeps the rules of the content version it was computed with: an older one shows its scores
    # and formats, but not today's explanations, offers or practice level, which it never had.
    is_current = run.content_version >= diagnostic.since_version
    return render_template(
        "diagnostic/result.html",
        run=run,
        previous=previous,
        diagnostic=diagnostic,
        axes=axes,
        radar=charts.radar([name for _, name in axes], [[s[a] for a, _ in axes] for s in series]),
        level={lvl.code: lvl for lvl in diagnostic.scoring.levels}.get(run.result["level"]),
        practice_level=(
            {lvl.code: lvl for lvl in diagnostic.practice.levels}.get(run.result.get("practice_level", ""))
            if is_current
            else None
        ),
        is_current=is_current,
        formats={f.code: f for f in content().programme.formats},
        offers={o.format: o for o in diagnostic.offers} if is_current else {},
        rule=(
            next((r for r in diagnostic.routing.rules if r.id == run.result["rule"]), None)
            if is_current
            else None
        ),
        modules=[content().module(m) for m in run.result["modules"]],
        module_by_id=content().module,
        here=here,
        url_for=url_for,
    )
