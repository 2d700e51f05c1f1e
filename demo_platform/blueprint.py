"""The demo platform's pages and endpoints, under ``/demo`` (registered only when DEMO_PLATFORM is on).

Browser pages
    GET  /demo/                      front page
    GET  /demo/course?as=&link=&message=deeplink&client_id=&storage=1|frame
                                     the course page: activities, and one of them in an iframe
    GET  /demo/gradebook?as=instructor  line items and latest scores of the course
    GET  /demo/start?as=&link=&message=deeplink&client_id=&storage_target=
                                     third-party initiated login at the tool
    GET|POST /demo/auth              OIDC authorization endpoint (auto-posted id_token)
    POST /demo/deep-link-return?request=&sesskey=   Deep Linking response (form field JWT)
    GET  /demo/storage-frame         the dedicated frame answering lti.put_data / lti.get_data
    GET  /demo/admin/tools           registered tools; "add a tool by URL" (Dynamic Registration)
    POST /demo/admin/tools/register  opens the tool's registration URL, waits for org.imsglobal.lti.close
    POST /demo/admin/tools/<id>/activate

Machine endpoints
    GET  /demo/jwks, /demo/openid-configuration (and /demo/.well-known/openid-configuration)
    POST /demo/register              Dynamic Registration (Bearer registration token)
    POST /demo/token                 OAuth2 client credentials with a JWT client assertion
    GET|POST /demo/courses/<course>/lineitems
    GET|PUT|DELETE /demo/courses/<course>/lineitems/<id>/lineitem
    POST /demo/courses/<course>/lineitems/<id>/lineitem/scores
    GET  /demo/courses/<course>/lineitems/<id>/lineitem/results
    GET  /demo/courses/<course>/memberships
    POST /demo/admin/registration-token   a registration token, as JSON (tests, scripts)
    GET  /demo/admin/token-stats     access tokens issued per client and scope, as JSON
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select

from demo_platform import deep_links, dynreg, gradebook, oauth, roster
from demo_platform.models import DemoLineItem, DemoResourceLink, DemoScore, DemoToolRegistration
from demo_platform.oauth import ServiceError
from demo_platform.platform import (
    CLIENT_ID,
    COURSE,
    COURSE_ID,
    DEPLOYMENT_ID,
    RESOURCE_LINK,
    SCOPE_LINEITEM,
    SCOPE_LINEITEM_READONLY,
    SCOPE_NRPS,
    SCOPE_RESULT_READONLY,
    SCOPE_SCORE,
    USERS,
    DemoAuthError,
    DemoPlatform,
    DemoRequestError,
    DemoTool,
    DemoUser,
    MessageHint,
)
from demo_platform.store import DbDirectory, create_tables, tolerant, tool_of
from demo_platform.tool_urls import ToolUrls
from lti_tool.db import db
from lti_tool.keys import KeyStore

# Its own templates (demo/…) and static files (/demo/static/…); pages extend the app's base.html.
bp = Blueprint("demo", __name__, url_prefix="/demo", template_folder="templates", static_folder="static")

SESSION_COOKIE = "socle_demo_session"
STORAGE_FRAME = "lti-storage"
# Endpoints the outage switch affects (the services a tool calls server to server).
SERVICE_ENDPOINTS = {
    "demo.token",
    "demo.lineitems",
    "demo.lineitem",
    "demo.scores",
    "demo.results",
    "demo.memberships",
}


def build_platform(app: Flask) -> DemoPlatform:
    """The demo platform for this app: it knows Socle itself, plus any DEMO_EXTRA_TOOLS, plus the tools
    registered dynamically (in the database)."""
    urls = ToolUrls(app.config["BASE_URL"])
    tools = [
        DemoTool(
            client_id=CLIENT_ID,
            deployment_id=DEPLOYMENT_ID,
            login_url=urls.login,
            redirect_uris=[urls.launch],
            target_link_uri=urls.launch,
            jwks_uri=urls.jwks,
        )
    ]
    for extra in app.config.get("DEMO_EXTRA_TOOLS") or []:
        jwks_uri = extra.get("jwks_uri") or (urls.jwks if urls.is_tool_url(extra["login_url"]) else None)
        tools.append(
            DemoTool(
                client_id=extra["client_id"],
                deployment_id=extra["deployment_id"],
                login_url=extra["login_url"],
                redirect_uris=list(extra["redirect_uris"]),
                target_link_uri=extra["target_link_uri"],
                jwks_uri=jwks_uri,
                name=extra.get("name", extra["client_id"]),
            )
        )
    keys = KeyStore(Path(app.instance_path) / "demo_platform_keys")
    return DemoPlatform(
        base_url=app.config["BASE_URL"] + "/demo",
        keys=keys,
        tools=tools,
        secret=app.config["SECRET_KEY"],
        directory=DbDirectory(app.app_context),
        http_timeout_seconds=app.config.get("HTTP_TIMEOUT_SECONDS", 5),
    )


def init_app(app: Flask) -> None:
    """Serve the demo platform under ``/demo``, with its tables created if they are missing."""
    app.extensions["socle_demo_platform"] = build_platform(app)
    create_tables(app)
    app.register_blueprint(bp)


def demo() -> DemoPlatform:
    platform: DemoPlatform = current_app.extensions["socle_demo_platform"]
    return platform


# -- plumbing ------------------------------------------------------------------------------------
@bp.before_request
def simulate_outage() -> Any:
    """``platform.outage = "down"`` / ``"slow"`` or ``platform.fail_next(n)``: services only."""
    if request.endpoint in SERVICE_ENDPOINTS and demo().service_outage():
        response = jsonify(error="temporarily_unavailable", error_description="the demo platform is down")
        response.status_code = 503
        response.headers["Retry-After"] = "1"
        return response
    return None


@bp.after_request
def set_session_cookie(response: Response) -> Response:
    new_session = g.pop("demo_new_session", None)
    if new_session:
        secure = request.is_secure
        response.set_cookie(
            SESSION_COOKIE,
            new_session,
            path="/demo",
            httponly=True,
            secure=secure,
            # Over HTTPS the Deep Linking response may come back from a tool on another site.
            samesite="None" if secure else "Lax",
        )
    return response


@bp.errorhandler(ServiceError)
def service_error(error: ServiceError) -> Response:
    response = jsonify(error.body())
    response.status_code = error.status
    response.headers.update(error.headers)
    response.headers["Cache-Control"] = "no-store"
    return response


def session_id(create: bool = False) -> str | None:
    """The browser's demo platform session (Moodle's session, for the sesskey of Deep Linking)."""
    current = request.cookies.get(SESSION_COOKIE) or g.get("demo_new_session")
    if current or not create:
        return current
    g.demo_new_session = secrets.token_urlsafe(24)
    return str(g.demo_new_session)


def public_url() -> str:
    """This request's URL as tools know it (from BASE_URL), for ``id`` fields and ``Link`` headers."""
    path = request.path.removeprefix(bp.url_prefix or "")
    query = request.query_string.decode("latin-1")
    return demo().base_url + path + ("?" + query if query else "")


def json_response(data: Any, media_type: str, status: int = 200, next_url: str | None = None) -> Response:
    response = Response(json.dumps(data, ensure_ascii=False), status=status, mimetype=media_type)
    if next_url:
        response.headers["Link"] = f'<{next_url}>; rel="next"'
    response.headers["Cache-Control"] = "no-store"
    return response


def json_body() -> Any:
    try:
        return json.loads(request.get_data(as_text=True) or "null")
    except (ValueError, RecursionError) as error:  # RecursionError: nested deeper than the decoder follows
        raise ServiceError(400, "invalid_request", "the body is not JSON") from error


def service_tool(scopes: Iterable[str]) -> DemoTool:
    tool = oauth.authenticate(db.session, demo(), request.headers.get("Authorization"), scopes)
    gradebook.check_type_id(tool, request.args.get("type_id"))
    return tool


def with_frames(response: Response | str, origins: Iterable[str]) -> Response:
    """A page that frames tools: Socle's policy, with the tools' origins allowed as frame sources."""
    response = current_app.make_response(response)
    sources = " ".join(["'self'", *sorted({origin for origin in origins if origin})])
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        f"object-src 'none'; base-uri 'self'; frame-src {sources}; frame-ancestors 'self'"
    )
    return response


def origin_of(url: str | None) -> str:
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else ""


def registered_tools() -> list[DemoToolRegistration]:
    return tolerant(lambda: dynreg.tool_rows(db.session), [])


def all_tools() -> list[DemoTool]:
    """The static tools and the active dynamically registered ones."""
    return [*demo().tools, *(tool_of(row) for row in registered_tools() if row.status == "active")]


def tool_origins(tools: Iterable[DemoTool]) -> set[str]:
    origins: set[str] = set()
    for tool in tools:
        origins.update(origin_of(url) for url in (tool.login_url, tool.target_link_uri, *tool.redirect_uris))
    return origins - {""}


def person(key: str | None) -> DemoUser:
    user = demo().user(key or "learner")
    if user is None:
        abort(404)
    return user


# -- pages ---------------------------------------------------------------------------------------
@bp.get("/")
def index() -> str:
    """The demo platform's front page: one course, three people to launch as."""
    return render_template("demo/index.html", course=COURSE, users=USERS.values())


@bp.get("/course")
def course() -> Response:
    """The course page, with a tool embedded in an iframe as an LMS would show it.

    ``link`` opens an activity made by Deep Linking, ``message=deeplink`` opens the tool's content
    selection (staff), ``storage=1`` offers platform storage in this page (``lti_storage_target=_parent``)
    and ``storage=frame`` in a dedicated hidden frame."""
    user = person(request.args.get("as"))
    session_id(create=True)
    storage = request.args.get("storage")
    storage_target = {"1": "_parent", "frame": STORAGE_FRAME}.get(storage or "")
    start_args: dict[str, Any] = {"as": user.key}
    for name in ("link", "message", "client_id"):
        if request.args.get(name):
            start_args[name] = request.args[name]
    if storage_target:
        start_args["storage_target"] = storage_target
    if start_args.get("message") == "deeplink" and not user.is_staff:
        abort(403)
    tools = all_tools()
    no_links: list[DemoResourceLink] = []
    page = render_template(
        "demo/course.html",
        course=COURSE,
        user=user,
        users=USERS.values(),
        static_link=RESOURCE_LINK,
        links=tolerant(lambda: deep_links.course_links(db.session), no_links),
        tools=tools,
        frame_src=url_for("demo.start", **start_args),
        storage=storage_target,
        storage_frame=STORAGE_FRAME,
        allowed_origins=" ".join(sorted(tool_origins(tools))),
        created=None,
        notice=None,
    )
    return with_frames(page, tool_origins(tools))


@bp.get("/gradebook")
def gradebook_page() -> str:
    """The course's gradebook as staff see it: each line item, each user's latest score."""
    user = person(request.args.get("as", "instructor"))
    if not user.is_staff:
        abort(403)

    def read() -> list[tuple[DemoLineItem, list[DemoScore]]]:
        items = db.session.scalars(
            select(DemoLineItem).where(DemoLineItem.course_id == COURSE_ID).order_by(DemoLineItem.id)
        )
        rows = []
        for item in items:
            latest: dict[str, DemoScore] = {}
            for score in db.session.scalars(
                select(DemoScore).where(DemoScore.line_item_id == item.id).order_by(DemoScore.timestamp_epoch)
            ):
                latest[score.user_sub] = score
            rows.append((item, [latest[sub] for sub in sorted(latest)]))
        return rows

    nothing: list[tuple[DemoLineItem, list[DemoScore]]] = []
    return render_template("demo/gradebook.html", course=COURSE, user=user, rows=tolerant(read, nothing))


@bp.get("/start")
def start() -> Response:
    """The platform starts a launch: third-party initiated login at the tool."""
    user = demo().user(request.args.get("as", "learner"))
    if user is None:
        abort(404)
    storage_target = request.args.get("storage_target") or None
    link_id = request.args.get("link")
    if link_id:
        directory = demo().directory
        link = directory.resource_link(link_id) if directory is not None else None
        tool = demo().tool(link.client_id) if link else None
        if link is None or tool is None:
            abort(404)
        hint = MessageHint("link", link.id, storage_target)
        target = link.url or tool.target_link_uri
    else:
        tool = demo().tool(request.args.get("client_id", CLIENT_ID))
        if tool is None:
            abort(404)
        if request.args.get("message") == "deeplink":
            if not user.is_staff:
                abort(403)
            session_id(create=True)  # the Deep Linking request will be bound to it
            hint = MessageHint("deeplink", storage_target=storage_target)
            target = tool.deep_link_uri or tool.target_link_uri
        else:
            hint = MessageHint("resource", storage_target=storage_target)
            target = tool.target_link_uri
    location = demo().login_initiation_url(
        tool, user, hint.encode(), target_link_uri=target, storage_target=storage_target
    )
    return redirect(location)  # type: ignore[return-value]


@bp.route("/auth", methods=["GET", "POST"])
def auth() -> Any:
    """OIDC authorization endpoint: answer with an auto-submitted form carrying the signed id_token."""
    params = request.values.to_dict()
    deep_linking = MessageHint.parse(params.get("lti_message_hint")).kind == "deeplink"
    try:
        redirect_uri, fields = demo().authorize(params, session_id=session_id(create=deep_linking))
    except DemoAuthError as error:
        return render_template("demo/auth_error.html", error=error), 400
    return render_template("demo/autopost.html", action=redirect_uri, fields=fields)


@bp.post("/deep-link-return")
def deep_link_return() -> Any:
    """The tool's Deep Linking response: verified, bound to the request and session, then one activity
    per ltiResourceLink item; the answer is the course page listing the activities."""
    platform = demo()
    try:
        result = platform.check_deep_link_return(
            request.form.get("JWT", ""),
            request.args.get("request", ""),
            request.args.get("sesskey", ""),
            session_id(),
        )
        if not deep_links.answer_once(db.session, result):
            raise DemoRequestError("already_answered", "this Deep Linking request was already answered")
    except DemoRequestError as error:
        return render_template("demo/error.html", error=error), 400
    created = deep_links.create_links(db.session, result)
    user = next((u for u in USERS.values() if u.sub == result.user_sub), None) or person("instructor")
    tools = all_tools()
    return render_template(
        "demo/course.html",
        course=COURSE,
        user=user,
        users=USERS.values(),
        static_link=RESOURCE_LINK,
        links=deep_links.course_links(db.session),
        tools=tools,
        frame_src=None,
        storage=None,
        storage_frame=STORAGE_FRAME,
        allowed_origins="",
        created=created,
        notice={"msg": result.msg, "errormsg": result.errormsg, "ignored": result.ignored},
    )


@bp.get("/storage-frame")
def storage_frame() -> Response:
    """The hidden frame named ``lti-storage`` that keeps tools' values (platform storage)."""
    page = render_template(
        "demo/storage_frame.html", allowed_origins=" ".join(sorted(tool_origins(all_tools())))
    )
    return current_app.make_response(page)


@bp.get("/jwks")
def jwks() -> Response:
    """The demo platform's public keys."""
    return jsonify(demo().keys.public_jwks())


# -- Dynamic Registration ------------------------------------------------------------------------
@bp.get("/openid-configuration")
@bp.get("/.well-known/openid-configuration")
def openid_configuration() -> Response:
    return jsonify(dynreg.openid_configuration(demo()))


@bp.post("/register")
def register() -> Response:
    answer = dynreg.register_tool(db.session, demo(), request.headers.get("Authorization"), json_body())
    return json_response(answer, "application/json", status=201)


@bp.get("/admin/tools")
def admin_tools() -> str:
    return render_template(
        "demo/admin_tools.html",
        static_tools=demo().tools,
        tools=registered_tools(),
        registered=request.args.get("registered"),
        platform=demo(),
    )


@bp.post("/admin/tools/register")
def admin_register() -> Response:
    """Open the tool's registration URL with ``openid_configuration`` and a new registration token."""
    url = request.form.get("url", "").strip()
    if not origin_of(url):
        error = DemoRequestError("bad_url", "the registration URL must be an http(s) URL")
        return current_app.make_response((render_template("demo/error.html", error=error), 400))
    token = dynreg.create_registration_token(db.session, pending=request.form.get("pending") == "1")
    start_url = dynreg.registration_start_url(url, demo(), token)
    page = render_template(
        "demo/admin_register.html",
        start_url=start_url,
        tool_origin=origin_of(url),
        done_url=url_for("demo.admin_tools", registered="1"),
    )
    return with_frames(page, [origin_of(url)])


@bp.post("/admin/tools/<int:registration_id>/activate")
def admin_activate(registration_id: int) -> Response:
    try:
        dynreg.activate_tool(db.session, registration_id)
    except LookupError:
        abort(404)
    return redirect(url_for("demo.admin_tools"), code=303)  # type: ignore[return-value]


@bp.post("/admin/registration-token")
def admin_registration_token() -> Response:
    """A registration token for scripts and tests: ``?pending=1`` makes the tool start pending."""
    pending = request.values.get("pending") == "1"
    token = dynreg.create_registration_token(db.session, pending=pending)
    return json_response(
        {
            "registration_token": token,
            "openid_configuration": demo().openid_configuration_url,
            "registration_endpoint": demo().registration_url,
            "expires_in": dynreg.REGISTRATION_TOKEN_LIFETIME_SECONDS,
        },
        "application/json",
    )


@bp.get("/admin/token-stats")
def admin_token_stats() -> Response:
    return json_response(oauth.token_counts(db.session, request.args.get("client_id")), "application/json")


# -- OAuth2 and services -------------------------------------------------------------------------
@bp.post("/token")
def token() -> Response:
    answer = oauth.issue_token(db.session, demo(), request.form.to_dict())
    response = json_response(answer, "application/json")
    response.headers["Pragma"] = "no-cache"
    return response


@bp.route("/courses/<course_id>/lineitems", methods=["GET", "POST"])
def lineitems(course_id: str) -> Response:
    if request.method == "GET":
        tool = service_tool([SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY])
        gradebook.check_course(course_id)
        items, next_url = gradebook.list_line_items(
            db.session, demo(), tool, course_id, request.args, public_url()
        )
        return json_response(items, gradebook.LINEITEM_CONTAINER, next_url=next_url)
    tool = service_tool([SCOPE_LINEITEM])
    gradebook.check_course(course_id)
    gradebook.check_media_type(request.content_type, gradebook.LINEITEM)
    item = gradebook.create_line_item(db.session, tool, course_id, json_body())
    return json_response(gradebook.line_item_json(demo(), tool, item), gradebook.LINEITEM, status=201)


@bp.route("/courses/<course_id>/lineitems/<int:item_id>/lineitem", methods=["GET", "PUT", "DELETE"])
@bp.route("/courses/<course_id>/lineitems/<int:item_id>", methods=["GET", "PUT", "DELETE"])
def lineitem(course_id: str, item_id: int) -> Response:
    if request.method == "GET":
        tool = service_tool([SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY])
        gradebook.check_course(course_id)
        item = gradebook.get_line_item(db.session, tool, course_id, item_id)
        return json_response(gradebook.line_item_json(demo(), tool, item), gradebook.LINEITEM)
    tool = service_tool([SCOPE_LINEITEM])
    gradebook.check_course(course_id)
    if request.method == "DELETE":
        gradebook.delete_line_item(db.session, tool, course_id, item_id)
        return Response(status=204)
    gradebook.check_media_type(request.content_type, gradebook.LINEITEM)
    item = gradebook.update_line_item(db.session, tool, course_id, item_id, json_body())
    return json_response(gradebook.line_item_json(demo(), tool, item), gradebook.LINEITEM)


@bp.post("/courses/<course_id>/lineitems/<int:item_id>/lineitem/scores")
@bp.post("/courses/<course_id>/lineitems/<int:item_id>/scores")
def scores(course_id: str, item_id: int) -> Response:
    tool = service_tool([SCOPE_SCORE])
    gradebook.check_course(course_id)
    gradebook.check_media_type(request.content_type, gradebook.SCORE)
    gradebook.post_score(db.session, tool, course_id, item_id, json_body())
    return Response(status=200)  # Moodle answers 200 with no body


@bp.get("/courses/<course_id>/lineitems/<int:item_id>/lineitem/results")
@bp.get("/courses/<course_id>/lineitems/<int:item_id>/results")
def results(course_id: str, item_id: int) -> Response:
    tool = service_tool([SCOPE_RESULT_READONLY])
    gradebook.check_course(course_id)
    rows, next_url = gradebook.results(
        db.session, demo(), tool, course_id, item_id, request.args, public_url()
    )
    return json_response(rows, gradebook.RESULT_CONTAINER, next_url=next_url)


@bp.get("/courses/<course_id>/memberships")
def memberships(course_id: str) -> Response:
    tool = service_tool([SCOPE_NRPS])
    container, next_url = roster.memberships(db.session, demo(), tool, course_id, request.args, public_url())
    return json_response(container, roster.MEMBERSHIP_CONTAINER, next_url=next_url)
