"""The training manager's dashboard (``/staff/dashboard/…``): the cohort's overview, the competence
heatmap, the learners (at risk, searched, filtered) and one learner's detail. Staff launches only; every
query and every id in a URL goes through the launch's ``StaffScope`` (404 outside it)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, render_template, request
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _

from lti_tool import records
from lti_tool.certificates import issuing
from lti_tool.competences import services as competences
from lti_tool.competences.blueprint import names as competence_names
from lti_tool.content.runtime import content
from lti_tool.dashboard import charts, cohort, filters, people
from lti_tool.dashboard.heatmap import heatmap as heatmap_of
from lti_tool.dashboard.overview import Overview
from lti_tool.dashboard.overview import overview as overview_of
from lti_tool.dashboard.scope import StaffScope
from lti_tool.dashboard.timeline import timeline as timeline_of
from lti_tool.db import db, utcnow
from lti_tool.diagnostic import charts as diagnostic_charts
from lti_tool.errors import refused
from lti_tool.lti.launches import current_launch, here, require_launch
from xapi import store

bp = Blueprint("dashboard", __name__, url_prefix="/staff/dashboard")
# The competences partials (the trail) read the labels that blueprint gives its own templates.
bp.context_processor(competence_names)


def _lang() -> str:
    return "en" if get_locale().language == "en" else "fr"


def _timezone() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def _chosen(scope: StaffScope) -> filters.Chosen:
    return filters.parse_filters(db.session, request.args, scope, content(), _timezone())


def _common(scope: StaffScope, chosen: filters.Chosen) -> dict[str, Any]:
    """What every dashboard page shows: the filter form's choices and the current filters."""
    programme = content().programme
    lang = _lang()
    return {
        "filters": chosen.filters,
        "filter_args": chosen.args,
        "contexts": cohort.contexts(db.session, scope) if scope.context_pks is None else [],
        "module_choices": [(m.id, m.meta.title) for m in content().modules],
        "competence_choices": [(c.code, getattr(c.name, lang)) for c in programme.competences]
        + [(b.code, getattr(b.name, lang)) for b in programme.blocs],
        "risk_labels": risk_labels(chosen.filters.inactive_days),
        "here": here,
    }


def risk_labels(days: int) -> dict[str, str]:
    return {
        cohort.INACTIVE: ngettext(
            "aucune activité depuis %(num)s jour", "aucune activité depuis %(num)s jours", days
        ),
        cohort.FAILED_TWICE: _("quiz échoué deux fois"),
        cohort.NO_DIAGNOSTIC: _("pas d'autodiagnostic"),
    }


def _percent(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}\u00a0%" if whole else "—"  # a no-break space: "89 %" stays whole


# -- pages -------------------------------------------------------------------------------------------


@bp.get("/")
@require_launch(staff=True)
def overview() -> str:
    """The cohort at a glance: progress, funnel, competences, autodiagnostics, attendance, certificates,
    learners at risk."""
    scope = StaffScope.of_launch(current_launch())
    chosen = _chosen(scope)
    lang = _lang()
    data = overview_of(db.session, scope, chosen.filters, content(), utcnow(), lang)
    axes = content().diagnostic.axes
    return render_template(
        "dashboard/overview.html",
        data=data,
        radar=diagnostic_charts.radar(
            [a.name for a in axes], [[a.average or 0.0 for a in data.diagnostic.axes]]
        ),
        percent=_percent,
        achievement_labels=_achievement_labels(),
        lang=lang,
        **overview_charts(data),
        **_common(scope, chosen),
    )


def _counted(count: int, whole: int) -> str:
    return f"{count} ({_percent(count, whole)})"


def _bars(rows: list[tuple[str, int]], whole: int, tone: int = 0) -> charts.BarChart:
    """One group of bars, each with its count and its share of ``whole``."""
    return charts.bar_chart(
        [(None, [charts.BarInput(label, n, _counted(n, whole), tone) for label, n in rows])], max(whole, 1)
    )


def overview_charts(data: Overview) -> dict[str, charts.BarChart]:
    """The overview's bar charts: the funnel per module, competences met, levels, formats, attendance."""
    known = data.cohort.known
    diagnosed = data.diagnostic.diagnosed
    timezone = _timezone()
    funnel = charts.bar_chart(
        [
            (
                f"{m.module_id} · {m.title}",
                [
                    charts.BarInput(_("commencé"), m.started, _counted(m.started, known), 2),
                    charts.BarInput(_("quiz réussi"), m.quiz_passed, _counted(m.quiz_passed, known), 1),
                    charts.BarInput(_("terminé"), m.completed, _counted(m.completed, known), 0),
                ],
            )
            for m in data.modules
        ],
        max(known, 1),
    )
    sessions = data.sessions
    attendance = charts.bar_chart(
        [
            (
                None,
                [
                    charts.BarInput(
                        f"{s.title} ({s.starts_at.astimezone(timezone):%d/%m})",
                        s.present,
                        _counted(s.present, s.known),
                    )
                    for s in sessions
                ],
            )
        ],
        max([s.known for s in sessions] + [1]),
    )
    return {
        "funnel": funnel,
        "competences_chart": _bars([(f"{c.code} · {c.name}", c.met) for c in data.competences], known),
        "levels_chart": _bars(
            [(f"{x.code} · {x.label}", x.count) for x in data.diagnostic.levels], diagnosed
        ),
        "formats_chart": _bars([(f.label, f.count) for f in data.diagnostic.primary_formats], diagnosed, 1),
        "attendance_chart": attendance,
    }


@bp.get("/heatmap")
@require_launch(staff=True)
def heatmap() -> str:
    """Learners × competences, a page of learners at a time: colour and value, with the same table."""
    scope = StaffScope.of_launch(current_launch())
    chosen = _chosen(scope)
    page = filters.page(request.args)
    data = heatmap_of(db.session, scope, chosen.filters, content(), utcnow(), page, _lang())
    chart = charts.heatmap(
        [code for code, _ in data.columns],
        [
            (
                row.name or _("(nom non transmis)"),
                [charts.HeatCellInput(c.score, c.is_met, c.has_evidence) for c in row.cells],
            )
            for row in data.rows.items
        ],
    )
    return render_template(
        "dashboard/heatmap.html",
        data=data,
        chart=chart,
        legend=charts.heat_legend(),
        heat_text=charts.heat_text,
        page=data.rows,
        **_common(scope, chosen),
    )


@bp.get("/learners")
@require_launch(staff=True)
def learners() -> str:
    """The learners, searched and filtered, or those at one risk; a page at a time."""
    scope = StaffScope.of_launch(current_launch())
    chosen = _chosen(scope)
    risk = filters.risk(request.args)
    page = people.learners(db.session, scope, chosen.filters, utcnow(), filters.page(request.args), risk)
    return render_template(
        "dashboard/learners.html",
        page=page,
        risk=risk,
        level_names={lvl.code: lvl.label for lvl in content().diagnostic.scoring.levels},
        **_common(scope, chosen),
    )


@bp.get("/courses/<int:context_pk>/learners/<int:learner_id>")
@require_launch(staff=True)
def learner(context_pk: int, learner_id: int) -> str:
    """One learner: their statements in plain words, their competence trail, their certificates, and the
    facilitators' actions (review a deliverable, recognise prior learning, revoke)."""
    launch = current_launch()
    scope = StaffScope.of_launch(launch)
    chosen = _chosen(scope)
    now = utcnow()
    detail = people.learner_detail(
        db.session, scope, learner_id, context_pk, content(), now, chosen.filters.inactive_days
    )
    after = None
    more = request.args.get("more", "").strip()
    if more:
        try:
            after = store.decode_cursor(more)
        except store.BadRequest:
            raise refused(
                "bad_cursor",
                "Ce lien vers la suite de l'historique n'est pas valide : revenez au début de l'historique.",
                "This link to the rest of the history is not valid: go back to the start of the history.",
            ) from None
    lang = _lang()
    timeline = timeline_of(
        db.session, scope, detail.learner, detail.context, records.vocabulary(), after, lang
    )
    # The competences pages act on the launch's own course: offer their actions for that course only.
    own_course = context_pk == launch.context_pk
    return render_template(
        "dashboard/learner.html",
        detail=detail,
        person=detail.learner,
        person_name=detail.learner.display_name,
        timeline=timeline,
        is_first_page=after is None,
        overview=competences.overview(db.session, learner_id, context_pk, content()),
        credentials=detail.credentials,
        revoke_form=own_course and launch.is_admin,
        own_course=own_course,
        level_labels={lvl.code: getattr(lvl.label, lang) for lvl in content().diagnostic.scoring.levels},
        format_labels={f.code: getattr(f.name, lang) for f in content().programme.formats},
        **_common(scope, chosen),
    )


def _achievement_labels() -> dict[str, str]:
    lang = _lang()
    programme = content().programme
    labels = {b.code: f"{b.code} · {getattr(b.name, lang)}" for b in programme.blocs}
    for track in programme.tracks:
        labels[issuing.CERTIFICATE + track.code] = _(
            "Certificat d'aptitude — %(track)s", track=getattr(track.name, lang)
        )
    return labels
