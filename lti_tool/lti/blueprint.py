"""LTI 1.3 routes: ``/lti/login``, ``/lti/launch``, ``/lti/jwks``."""

from __future__ import annotations

import secrets
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    jsonify,
    make_response,
    render_template,
    request,
    url_for,
)
from werkzeug.wrappers import Response as BaseResponse

from lti_tool import events
from lti_tool.content.runtime import content
from lti_tool.db import db
from lti_tool.errors import Message, PlatformError, refused
from lti_tool.lti import deep_linking, placements, registration
from lti_tool.lti.context import LaunchContext
from lti_tool.lti.launch import NeedsPlatformStorage, StrictMessageLaunch
from lti_tool.lti.launches import BROWSER_COOKIE, current_launch, require_launch
from lti_tool.lti.login import StrictOIDCLogin, origin_of, storage_key
from lti_tool.lti.runtime import runtime
from lti_tool.lti.services import record_launch
from lti_tool.scope import Scope

bp = Blueprint("lti", __name__, url_prefix="/lti")

BROWSER_COOKIE_MAX_AGE = 400 * 24 * 3600
# Landing pages that may call the platform (the staff home refreshes the roster through NRPS): the launch is
# committed before, so that no transaction stays open during a call to another server.
CALLS_THE_PLATFORM = frozenset({"home.staff_home"})


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response:
    """OIDC login initiation: check the platform's request and send the browser to its authorization."""
    lti = runtime()
    # A login reads its registration and writes one row, which needs no transaction: without one, it costs
    # two round trips to the database instead of four (BEGIN and COMMIT).
    db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    response = StrictOIDCLogin(
        db.session, lti.keys, lti.urls, lti.login_ttl_seconds, secret_key=lti.settings.secret_key
    ).start()
    return response


@bp.post("/launch")
def launch() -> BaseResponse:
    """Validate the id_token strictly, record the launch, and send the person to their home."""
    if request.form.get("error") and not request.form.get("id_token"):
        raise PlatformError(
            Message(
                "La plateforme a refusé la connexion : "
                + request.form.get("error_description", request.form["error"])[:500],
                "The platform refused the login: "
                + request.form.get("error_description", request.form["error"])[:500],
            ),
            Message(
                "Relancez l'activité ; si cela persiste, signalez ce message à l'administrateur "
                "de la plateforme.",
                "Launch again; if it persists, report this message to the platform administrator.",
            ),
            code="platform_error:" + request.form["error"][:64],
        )
    lti = runtime()
    try:
        validated = StrictMessageLaunch(
            db.session, db.engine, lti.keys, lti.http, lti.settings
        ).validate_strictly()
    except NeedsPlatformStorage as step:
        # Third-party cookies blocked: fetch the login's secret from the platform's storage, post again.
        return make_response(
            render_template(
                "lti/storage_launch.html",
                id_token=request.form["id_token"],
                state=request.form["state"],
                key=storage_key(step.login.state),
                target=step.login.login_params["lti_storage_target"],
                platform_origin=origin_of(step.login.platform.auth_login_url),
            )
        )
    if validated.via_platform_storage:
        # The browser dropped our cookie: the launch cannot be bound to it, so its id is a bearer token
        # with a short idle limit (LAUNCH_IDLE_MINUTES, slid forward on use).
        browser_id = None
        ttl_seconds = current_app.config["LAUNCH_IDLE_MINUTES"] * 60
    else:
        # Bound to this browser's cookie: the id alone, copied or replayed elsewhere, opens nothing.
        browser_id = request.cookies.get(BROWSER_COOKIE) or secrets.token_urlsafe(24)
        ttl_seconds = lti.launch_ttl_seconds
    context = record_launch(db.session, validated, browser_id=browser_id, ttl_seconds=ttl_seconds)
    endpoint, values = landing(context)
    if not context.is_deep_linking:
        landed_on = content().module(values["key"]) if "key" in values else None
        resource = placements.resource_of(context.custom, landed_on.id if landed_on else None)
        if resource is not None:
            placements.place(db.session, context.context_pk, resource)
    events.record_event(
        db.session,
        Scope.of_launch(context),
        events.LAUNCHED,
        content_version=content().version,
        module=content().module(values["key"]) if "key" in values else None,
        payload={"activity": "diagnostic" if endpoint.startswith("diagnostic.") else endpoint.split(".")[0]},
    )
    # Render the landing page in this response (no redirect round trip); the page then replaces its
    # address with the GET URL of the same page, so a reload never re-posts the one-time token.
    g.launch = context
    g.page_url = url_for(endpoint, launch=context.launch_id, **values)
    # The page is rendered as its GET: a view that also takes a form must not read the launch's POST as one.
    request.method = "GET"
    if endpoint in CALLS_THE_PLATFORM:
        # Committed mid-request on purpose: the page calls the platform (NRPS), and no transaction may stay
        # open during a call to another server.
        db.session.commit()
    # Otherwise the page reads in the launch's own transaction, committed with the request once it is
    # rendered: one transaction per launch, and a page that fails leaves no half-recorded launch behind.
    response = make_response(current_app.view_functions[endpoint](**values))
    response.headers["Cache-Control"] = "no-store"
    if browser_id is None:
        return response
    secure = request.is_secure
    response.set_cookie(
        BROWSER_COOKIE,
        browser_id,
        max_age=BROWSER_COOKIE_MAX_AGE,
        secure=secure,
        httponly=True,
        samesite="None" if secure else "Lax",
    )
    return response


def landing(context: LaunchContext) -> tuple[str, dict[str, Any]]:
    """Where a launch lands: the content picker for a deep-linking request; else the content its resource
    link names (custom ``module`` or ``activity``); else the learner's or the staff home."""
    if context.is_deep_linking:
        return "lti.deep_link_picker", {}
    module = content().module(context.custom.get("module", "")) if context.custom.get("module") else None
    if module is not None:
        return "training.module", {"key": module.slug}
    activity = context.custom.get("activity")
    if activity in ("autodiagnostic", "diagnostic"):
        return "diagnostic.index", {}
    if activity == "sessions" and context.is_staff:
        return "training.sessions", {}
    return ("home.staff_home" if context.is_staff else "home.learner_home"), {}


def catalogue(context_pk: int) -> list[deep_linking.Item]:
    """What a trainer can place in a course: modules, the autodiagnostic, the whole path, live sessions."""
    items = [
        deep_linking.Item(
            f"module:{m.id}", f"{m.id} · {m.meta.title}", m.meta.summary, {"module": m.id}, m.id
        )
        for m in content().modules
    ]
    items.append(
        deep_linking.Item(
            "activity:autodiagnostic",
            "Autodiagnostic",
            "Situez votre maturité et obtenez un parcours recommandé.",
            {"activity": "autodiagnostic"},
            "autodiagnostic",
        )
    )
    items.append(
        deep_linking.Item(
            "activity:autodiagnostic-ungraded",
            "Autodiagnostic (sans note)",
            "Le même autodiagnostic, sans score envoyé au carnet de notes.",
            {"activity": "autodiagnostic", "score": "none"},
            None,
        )
    )
    items.append(
        deep_linking.Item(
            "activity:path",
            "Parcours complet",
            "Tous les modules et l'autodiagnostic, depuis l'accueil de l'apprenant.",
            {"activity": "path"},
            None,
        )
    )
    # No separate "trainer area" activity (students would see it in the course): staff reach it from
    # every activity's header, and a link placed earlier with activity=dashboard still lands them there.
    items.append(
        deep_linking.Item(
            "activity:sessions",
            "Séances en direct",
            "Les webinaires, ateliers et sessions de co-développement.",
            {"activity": "sessions"},
            None,
        )
    )
    return items


@bp.get("/deep-link")
@require_launch(staff=True)
def deep_link_picker() -> str:
    """The content picker of a deep-linking request."""
    launch = current_launch()
    if not launch.is_deep_linking:
        raise refused(
            "not_deep_linking",
            "Ce lancement n'est pas une demande de sélection de contenu.",
            "This launch is not a content selection request.",
        )
    return render_template("lti/deep_link_picker.html", items=catalogue(launch.context_pk))


@bp.post("/deep-link")
@require_launch(staff=True)
def deep_link_respond() -> str:
    """Send the chosen items back to the platform, signed (an auto-submitted form, as the spec asks)."""
    launch = current_launch()
    by_key = {item.key: item for item in catalogue(launch.context_pk)}
    wanted = request.form.getlist("item")
    if any(key not in by_key for key in wanted):
        raise refused(
            "unknown_item", "Un des contenus choisis n'existe pas.", "One of the chosen items does not exist."
        )
    lti = runtime()
    chosen = [by_key[k] for k in wanted]
    answer = deep_linking.respond(db.session, launch, lti.keys, lti.urls.launch, chosen)
    for item in chosen:
        module = content().module(item.custom["module"]) if item.custom.get("module") else None
        resource = placements.resource_of(item.custom, module.id if module else None)
        if resource is not None:
            placements.place(db.session, launch.context_pk, resource)
    return render_template("lti/deep_link_response.html", action=answer.return_url, token=answer.jwt)


@bp.get("/register")
def register() -> str:
    """Dynamic Registration: the invitation URL an LMS administrator pastes ("add a tool by URL"); the
    platform adds its configuration URL and its own registration token."""
    lti = runtime()
    done = registration.register(
        db.session,
        lti.http,
        lti.urls,
        request.args.get("token"),
        request.args.get("openid_configuration", ""),
        request.args.get("registration_token"),
    )
    return render_template("lti/registered.html", done=done)


@bp.get("/jwks")
def jwks() -> Response:
    """The tool's public keys: the active one and those kept published after a rotation."""
    response = jsonify(runtime().keys.public_jwks())
    response.cache_control.public = True
    response.cache_control.max_age = 300
    return response
