"""The Statement API (``/xapi/statements``, ``/xapi/about``) and the document resources, on werkzeug alone.

``LrsApi`` is built with what only the host knows (a session factory, how to commit, the registered
platforms, its own address); ``LrsApi.dispatch(request)`` answers one werkzeug request. The host mounts it
under ``/xapi`` (Socle does so in ``lti_tool/lrs.py``); this package imports nothing from it. Clients
authenticate with HTTP Basic (key:secret from ``flask --app lti_tool xapi client add``); their scopes say
what they may do and their platforms which statements they may write, void and see.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlencode

from sqlalchemy import select
from werkzeug.datastructures import Authorization, Headers, LanguageAccept, MultiDict
from werkzeug.http import http_date, parse_accept_header
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request
from werkzeug.wrappers import Response as _WerkzeugResponse

from xapi import attachments, documents, store, validation
from xapi.models import Client, SessionLike

VERSION = "1.0.3"
MAX_BODY_BYTES = 16 * 1024 * 1024
READ_SCOPES = {"statements/read", "all/read", "all"}
WRITE_SCOPES = {"statements/write", "all"}
ALL_SCOPES = (
    "statements/write",
    "statements/read",
    "statements/read/mine",
    "all/read",
    "all",
    "state",
    "profile",
)
PLATFORMS_CACHE_SECONDS = 5.0
DOCUMENT_METHODS = ("GET", "PUT", "POST", "DELETE")
_AnyResponse = TypeVar("_AnyResponse", bound=_WerkzeugResponse)


class Response(_WerkzeugResponse):
    """werkzeug's response, whose bodiless answers (204, OPTIONS) say ``text/html`` as the API always has
    (werkzeug alone says ``text/plain``): the wire stays as it was when the API was a Flask blueprint."""

    default_mimetype = "text/html"


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def hash_secret(secret: str) -> str:
    # Secrets are 256-bit random strings: a fast hash is enough and keeps each request cheap.
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# The package's refusals and their status (the most specific class of an error's MRO wins). ApiError
# carries its own status and the 401's challenge.
_ERROR_STATUS: dict[type[Exception], int] = {
    store.BadRequest: 400,
    attachments.AttachmentError: 400,
    documents.NotMergeable: 400,
    documents.PreconditionRequired: 400,
    store.Forbidden: 403,
    store.Conflict: 409,
    documents.Unconditional: 409,
    documents.PreconditionFailed: 412,
}


def _status_of(error: Exception) -> int | None:
    if isinstance(error, ApiError):
        return error.status
    for cls in type(error).__mro__:
        if cls in _ERROR_STATUS:
            return _ERROR_STATUS[cls]
    return None


# The resources: (path, endpoint, methods). OPTIONS is answered by ``dispatch`` (after the same checks as
# the other methods), HEAD as GET.
ROUTES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("/xapi/about", "about", ("GET",)),
    ("/xapi/statements", "post_statements", ("POST",)),
    ("/xapi/statements", "put_statement", ("PUT",)),
    ("/xapi/statements", "get_statements", ("GET",)),
    ("/xapi/agents", "get_agents", ("GET",)),
    ("/xapi/activities", "get_activities", ("GET",)),
    ("/xapi/activities/state", "state", DOCUMENT_METHODS),
    ("/xapi/activities/profile", "activity_profile", DOCUMENT_METHODS),
    ("/xapi/agents/profile", "agent_profile", DOCUMENT_METHODS),
)


@dataclass
class _Call:
    """One request as the API reads it: the request, the resource it names, the Alternate Request Syntax's
    form when it uses it, and the authenticated client."""

    request: Request
    endpoint: str
    alternate: Alternate | None = None
    client: Client | None = None


class LrsApi:
    """``platforms`` gives every registered platform's id and issuer (its learners' account ``homePage``);
    ``base_url`` is the LRS's own address, which names its clients in a statement's ``authority`` (never the
    request's Host header, which a client chooses). ``commit`` ends a write's transaction."""

    def __init__(
        self,
        session: Callable[[], SessionLike],
        commit: Callable[[], None],
        platforms: Callable[[], Mapping[int, str]],
        base_url: str,
    ) -> None:
        self.session = session
        self.commit = commit
        self.platforms = platforms
        self.base_url = base_url
        self.url_map = Map(
            [
                Rule(path, endpoint=endpoint, methods=[*methods, "OPTIONS"])
                for path, endpoint, methods in ROUTES
            ]
        )
        # The registrations, re-read every few seconds rather than on every write (they change rarely), and
        # at once when a client names one not seen yet. A platform registered meanwhile may thus be named by
        # a client bound to none for those seconds: such statements are stored under no platform, seen by
        # none of its clients and never evidence.
        self._platforms_at = -PLATFORMS_CACHE_SECONDS
        self._platforms: Mapping[int, str] = {}
        self._handlers: dict[str, Callable[[_Call], Response]] = {
            "about": self._about,
            "post_statements": self._post_statements,
            "put_statement": self._put_statement,
            "get_statements": self._get_statements,
            "get_agents": self._get_agents,
            "get_activities": self._get_activities,
            "state": lambda call: self._document_resource(call, documents.STATE, "state"),
            "activity_profile": lambda call: self._document_resource(
                call, documents.ACTIVITY_PROFILE, "profile"
            ),
            "agent_profile": lambda call: self._document_resource(call, documents.AGENT_PROFILE, "profile"),
        }

    def dispatch(self, request: Request) -> Response:
        """Answer one request: route it, check its version header, authenticate its client, read the
        Alternate Request Syntax, and turn this package's refusals into xAPI's JSON error bodies. What is not
        this package's to answer goes up to the host: an unknown path or method (werkzeug's ``NotFound``,
        ``MethodNotAllowed``), a body over ``MAX_BODY_BYTES`` (``RequestEntityTooLarge``), a bug; the host
        then calls ``finish`` on its own answer."""
        # Bound to the path and method alone (the API builds no URL from its map): half the cost of
        # bind_to_environ, which parses the host too.
        adapter = self.url_map.bind("", path_info=request.path, default_method=request.method)
        endpoint, _ = adapter.match()
        call = _Call(request, endpoint)
        try:
            response = self._answer(call, adapter.allowed_methods)
        except Exception as error:
            status = _status_of(error)
            if status is None:
                raise
            response = _json({"error": True, "message": str(error)}, status)
            if status == 401:
                response.headers["WWW-Authenticate"] = 'Basic realm="Socle xAPI"'
        return self.finish(request, response)

    def finish(self, request: Request, response: _AnyResponse) -> _AnyResponse:
        """The headers of every answer of the API, errors included."""
        response.headers["X-Experience-API-Version"] = VERSION
        if request.path.rstrip("/").endswith("/statements"):
            # Every Statement-resource response says how fresh its reads are, errors included (xAPI 2.1.3).
            response.headers["X-Experience-API-Consistent-Through"] = _now_iso()
        return response

    def _answer(self, call: _Call, allowed_methods: Callable[[], Iterable[str]]) -> Response:
        request = call.request
        request.max_content_length = MAX_BODY_BYTES
        if call.endpoint != "about":
            call.alternate = (
                _alternate(request) if request.method == "POST" and "method" in request.args else None
            )
            version = _header(call, "X-Experience-API-Version")
            if not version:
                raise ApiError(
                    400, "missing X-Experience-API-Version header: send X-Experience-API-Version: 1.0.3"
                )
            if not (version == "1.0" or version.startswith("1.0.")):
                raise ApiError(400, f"X-Experience-API-Version {version} is not supported: use 1.0.3")
            call.client = authenticate(call, self.session())
        if request.method == "OPTIONS":
            response = Response()
            response.allow.update(allowed_methods())
            return response
        return self._handlers[call.endpoint](call)

    def _registered(self, needed: list[int]) -> Mapping[int, str]:
        known = self._platforms
        if (
            time.monotonic() - self._platforms_at >= PLATFORMS_CACHE_SECONDS
            or not set(needed) <= known.keys()
        ):
            known = dict(self.platforms())
            self._platforms_at, self._platforms = time.monotonic(), known
        return known

    def _writer(self, client: Client) -> store.Writer:
        registered_now = self._registered(client.platform_ids)
        homes: dict[str, int] = {}
        # Registrations of one issuer share its learners' homePage: their statements go under the first.
        for platform_id in sorted(client.platform_ids):
            if platform_id in registered_now:
                homes.setdefault(registered_now[platform_id], platform_id)
        return store.Writer(
            client.id, frozenset(client.platform_ids), homes, frozenset(registered_now.values())
        )

    def _about(self, call: _Call) -> Response:
        return _json({"version": [VERSION], "extensions": {}}, 200)

    def _post_statements(self, call: _Call) -> Response:
        alternate = call.alternate
        if alternate is not None and alternate.method == "GET":
            return self._get_statements(call)
        if alternate is not None and alternate.method == "PUT":
            return self._put_statement(call)
        if alternate is not None and alternate.method != "POST":
            raise ApiError(405, f"method={alternate.method} is not allowed on statements")
        client = require(call, WRITE_SCOPES)
        body, parts, screened = _statements_body(call)
        statements = body if isinstance(body, list) else [body]
        if not statements:
            raise ApiError(400, "an empty list of statements: send at least one")
        attachments.check(statements, parts)
        ids = store.store(
            self.session(),
            statements,
            authority=authority(client, self.base_url),
            source_client_id=client.id,
            writer=self._writer(client),
            screened=screened,
        )
        attachments.save(self.session(), ids, statements, parts)
        self.commit()
        return _json(ids, 200)

    def _put_statement(self, call: _Call) -> Response:
        client = require(call, WRITE_SCOPES)
        statement_id = _args(call).get("statementId")
        if not statement_id:
            raise ApiError(400, "PUT needs the statementId parameter")
        body, parts, screened = _statements_body(call)
        if not isinstance(body, dict):
            raise ApiError(400, "PUT takes one statement (a JSON object)")
        if "id" in body and str(body["id"]).lower() != statement_id.lower():
            raise ApiError(400, "the statement's id differs from the statementId parameter")
        attachments.check([body], parts)
        body = {**body, "id": statement_id}
        screened = screened and statement_id.isascii() and "\x00" not in statement_id  # the id is added here
        ids = store.store(
            self.session(),
            [body],
            authority=authority(client, self.base_url),
            source_client_id=client.id,
            writer=self._writer(client),
            screened=screened,
        )
        attachments.save(self.session(), ids, [body], parts)
        self.commit()
        return Response(status=204)

    def _get_statements(self, call: _Call) -> Response:
        client = require(call, READ_SCOPES | {"statements/read/mine"})
        visibility = visibility_of(client)
        args = _args(call)
        known = {
            "statementId",
            "voidedStatementId",
            "agent",
            "verb",
            "activity",
            "registration",
            "related_activities",
            "related_agents",
            "since",
            "until",
            "limit",
            "format",
            "attachments",
            "ascending",
            "more",
        }
        unknown = sorted(set(args) - known)
        if unknown:
            raise ApiError(400, f"unknown parameter(s): {', '.join(unknown)}")
        fmt = args.get("format", "exact")
        if fmt not in ("exact", "ids", "canonical"):
            raise ApiError(400, "format must be exact, ids or canonical")
        # attachments=true: multipart/mixed, the JSON then the content of each attachment sent with them.
        with_attachments = _flag(args, "attachments")
        single = args.get("statementId") or args.get("voidedStatementId")
        session = self.session
        if single:
            others = set(args) - {"statementId", "voidedStatementId", "format", "attachments"}
            if others or ("statementId" in args and "voidedStatementId" in args):
                raise ApiError(400, "statementId or voidedStatementId cannot be combined with other filters")
            found = store.get(session(), single, visibility, voided="voidedStatementId" in args)
            if found is None:
                raise ApiError(404, f"no statement {single}")
            parts = attachments.of_statements(session(), [found["id"]]) if with_attachments else None
            response = _answer(_format(call, found, fmt), parts)
            response.headers["Last-Modified"] = http_date(datetime.fromisoformat(found["stored"]))
            return response
        query = _query(args)
        statements, more = store.find(session(), query, visibility)
        more_url = ""
        if more:
            params = {k: v for k, v in args.items() if k != "more"}
            params["more"] = store.encode_cursor(more)
            more_url = "/xapi/statements?" + urlencode(params)
        parts = (
            attachments.of_statements(session(), [s["id"] for s in statements]) if with_attachments else None
        )
        return _answer({"statements": [_format(call, s, fmt) for s in statements], "more": more_url}, parts)

    def _get_agents(self, call: _Call) -> Response:
        """The Person object of an agent (Socle merges no identities: the agent's own identifiers)."""
        require(call, READ_SCOPES | {"statements/read/mine"})
        args = _args(call)
        unknown = sorted(set(args) - {"agent"})
        if unknown:
            raise ApiError(400, f"unknown parameter(s): {', '.join(unknown)}")
        if "agent" not in args:
            raise ApiError(400, "the agent parameter is required (an Agent as JSON)")
        agent = _agent_param(args["agent"])
        if agent.get("objectType") == "Group":
            raise ApiError(400, "agent: the Agents resource takes an Agent, not a Group")
        person: dict[str, Any] = {"objectType": "Person"}
        for key in ("name", "mbox", "mbox_sha1sum", "openid", "account"):
            if key in agent:
                person[key] = [agent[key]]
        return _json(person, 200)

    def _get_activities(self, call: _Call) -> Response:
        """One Activity, its definitions in the statements this client may see merged."""
        client = require(call, READ_SCOPES | {"statements/read/mine"})
        args = _args(call)
        unknown = sorted(set(args) - {"activityId"})
        if unknown:
            raise ApiError(400, f"unknown parameter(s): {', '.join(unknown)}")
        activity_id = args.get("activityId", "")
        if not activity_id:
            raise ApiError(400, "the activityId parameter is required (the activity's IRI)")
        if len(activity_id) > store.MAX_ACTIVITY_ID or not validation.is_iri(activity_id):
            raise ApiError(400, f"activityId must be an IRI of at most {store.MAX_ACTIVITY_ID} characters")
        return _json(store.activity(self.session(), activity_id, visibility_of(client)), 200)

    def _tenant_of(self, client: Client, agent: dict[str, Any] | None) -> str:
        """Whose documents a request reads and writes, as for statements: a client bound to platforms those
        of the platform its agent's account homePage names (the first of its platforms for an Activity
        Profile), a client bound to none its own, for agents that name no registered platform."""
        if agent is None:
            if client.platform_ids:
                return f"p:{min(client.platform_ids)}"
            return f"c:{client.id}"
        try:
            platform_id = self._writer(client).platform_of({"actor": agent}, "agent")
        except store.Forbidden as error:
            raise ApiError(403, str(error).replace("its actor", "it")) from error
        return f"p:{platform_id}" if platform_id is not None else f"c:{client.id}"

    def _document_resource(self, call: _Call, kind: str, scope_name: str) -> Response:
        """One of the three document resources (State, Activity Profile, Agent Profile): GET (a document,
        or the ids), PUT, POST (JSON merge), DELETE; HEAD as GET."""
        alternate = call.alternate
        method = alternate.method if alternate is not None else call.request.method
        reading = method in ("GET", "HEAD")
        client = require(call, {"all", "all/read", scope_name} if reading else {"all", scope_name})
        args = _args(call)
        id_name = "stateId" if kind == documents.STATE else "profileId"
        allowed = {id_name, "since"}
        if kind != documents.AGENT_PROFILE:
            allowed.add("activityId")
        if kind != documents.ACTIVITY_PROFILE:
            allowed.add("agent")
        if kind == documents.STATE:
            allowed.add("registration")
        unknown = sorted(set(args) - allowed)
        if unknown:
            raise ApiError(400, f"unknown parameter(s): {', '.join(unknown)}")
        activity_id = None
        if "activityId" in allowed:
            activity_id = _text_param(args, "activityId")
            if not validation.is_iri(activity_id):
                raise ApiError(400, "activityId must be an IRI")
        agent = None
        agent_ifi = None
        if "agent" in allowed:
            agent = _agent_param(_text_param(args, "agent"))
            agent_ifi = validation.agent_ifi(agent)
        registration = None
        if "registration" in args:
            try:
                registration = str(uuid.UUID(args["registration"]))
            except ValueError as error:
                raise ApiError(400, "registration must be a UUID") from error
        document_id = _text_param(args, id_name) if id_name in args else None
        if "since" in args and (document_id is not None or not reading):
            raise ApiError(400, f"since lists ids: send it with GET and without {id_name}")
        scope = documents.Scope(kind, self._tenant_of(client, agent), activity_id, agent_ifi)
        db = self.session()
        preconditions = documents.Preconditions.parse(
            _header(call, "If-Match") or None, _header(call, "If-None-Match") or None
        )
        if reading:
            if document_id is None:
                since = store.parse_time(args["since"], "since") if "since" in args else None
                return _json(documents.ids(db, scope, registration, since), 200)
            found = documents.get(db, scope, registration, document_id)
            if found is None:
                raise ApiError(404, f"no document {document_id}")
            response = Response(found.content, status=200, content_type=found.content_type)
            response.headers["ETag"] = f'"{found.etag}"'
            response.headers["Last-Modified"] = http_date(found.updated_us / 1_000_000)
            return response
        if method == "DELETE":
            if document_id is None:
                if kind != documents.STATE:
                    raise ApiError(400, f"DELETE needs the {id_name} parameter")
                documents.remove_all(db, scope, registration)
            else:
                documents.remove(db, scope, registration, document_id, preconditions=preconditions)
            self.commit()
            return Response(status=204)
        if method not in ("PUT", "POST"):
            raise ApiError(405, f"method={method} is not allowed here")
        if document_id is None:
            raise ApiError(400, f"{method} needs the {id_name} parameter")
        content, content_type = _document_body(call)
        documents.put(
            db,
            scope,
            registration,
            document_id,
            content,
            content_type,
            preconditions=preconditions,
            agent=agent,
            client_id=client.id,
            merge=method == "POST",
        )
        self.commit()
        return Response(status=204)


def _text_param(args: Any, name: str) -> str:
    """A required text parameter that the database can hold (no NUL, no lone surrogate)."""
    value = args.get(name)
    if not value:
        raise ApiError(400, f"the {name} parameter is required")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = "\x00"
    if "\x00" in value:
        raise ApiError(400, f"{name}: a NUL or a lone surrogate cannot be stored")
    return str(value)


def _document_body(call: _Call) -> tuple[bytes, str]:
    """A document's bytes and content type (from the form in the Alternate Request Syntax)."""
    alternate = call.alternate
    if alternate is not None:
        return alternate.content.encode(), alternate.headers.get("Content-Type", "application/octet-stream")
    request = call.request
    return request.get_data(), request.headers.get("Content-Type") or "application/octet-stream"


def visibility_of(client: Client) -> store.Visibility:
    return store.Visibility(
        platform_ids=frozenset(client.platform_ids),
        client_id=client.id,
        only_own=not (set(client.scopes) & READ_SCOPES),
    )


def _agent_param(raw: str) -> dict[str, Any]:
    try:
        return validation.validate_agent_param(json.loads(raw))
    except validation.StatementError as error:
        raise ApiError(400, str(error)) from error
    except ValueError as error:  # not JSON, or a number too long to read
        raise ApiError(400, f"agent: not a readable JSON object ({error})") from error
    except RecursionError as error:
        raise ApiError(400, "agent: the JSON is nested too deeply") from error


def authenticate(call: _Call, db: SessionLike) -> Client:
    alternate = call.alternate
    auth = call.request.authorization
    if alternate is not None and "Authorization" in alternate.headers:
        auth = Authorization.from_header(alternate.headers["Authorization"])
    if auth is None or auth.type != "basic" or not auth.username:
        raise ApiError(401, "authentication required: HTTP Basic with the key and secret of an xAPI client")
    client = db.execute(select(Client).where(Client.key == auth.username)).scalar_one_or_none()
    if (
        client is None
        or not client.is_active
        or not hmac.compare_digest(client.secret_hash, hash_secret(auth.password or ""))
    ):
        raise ApiError(401, "unknown key or wrong secret")
    return client


def require(call: _Call, scopes: set[str]) -> Client:
    client = call.client
    if client is None or not set(client.scopes) & scopes:
        raise ApiError(
            403, f"this client's scopes do not allow it: it needs one of {', '.join(sorted(scopes))}"
        )
    return client


def authority(client: Client, base_url: str) -> dict[str, Any]:
    return {
        "objectType": "Agent",
        "name": client.name,
        "account": {"homePage": base_url.rstrip("/") + "/xapi/clients", "name": client.key},
    }


def _text(call: _Call) -> tuple[str | None, bytes]:
    """The request's content: its media type and bytes (the form's content, in the Alternate Syntax)."""
    alternate = call.alternate
    if alternate is not None:
        # The content's type, when the form does not give it, is JSON (what the Statement resource takes).
        content_type = alternate.headers.get("Content-Type", "application/json")
        return content_type.split(";", 1)[0].strip().lower(), alternate.content.encode()
    return call.request.mimetype, call.request.get_data()


def _decode_json(mimetype: str | None, data: bytes) -> Any:
    if not (mimetype or "").startswith("application/json"):
        raise ApiError(400, "send statements as application/json (or multipart/mixed, with attachments)")
    try:
        return json.loads(data or b"null")
    except json.JSONDecodeError as error:
        raise ApiError(
            400, f"the body is not valid JSON (line {error.lineno}, column {error.colno})"
        ) from error
    except UnicodeDecodeError as error:
        raise ApiError(400, f"the body is not UTF-8 text (byte {error.start})") from error
    except RecursionError as error:
        raise ApiError(400, "the body's JSON is nested too deeply") from error
    except ValueError as error:
        # An integer of more than 4,300 digits (Python's integer-string limit), e.g. an extension's 10^5000.
        raise ApiError(400, "the body holds a number too long to read (over 4,300 digits)") from error


def _statements_body(call: _Call) -> tuple[Any, list[attachments.Part], bool]:
    """The statements of a POST or PUT, the attachments' content when it is multipart/mixed, and whether
    their text was screened for what cannot be stored (``validation.may_hold_unstorable``)."""
    request = call.request
    if call.alternate is None and request.mimetype == "multipart/mixed":
        return *attachments.parse_multipart(request.content_type or "", request.get_data()), False
    mimetype, data = _text(call)
    return _decode_json(mimetype, data), [], not validation.may_hold_unstorable(data)


@dataclass(frozen=True)
class Alternate:
    """A request in the Alternate Request Syntax (xAPI 1.0.3, 2.1.1 "Cross Origin Requests"): a POST with
    ``?method=GET|PUT|POST|…`` whose form body carries the headers, the parameters and the content. A header
    the form does not carry is read from the request itself."""

    method: str
    headers: Headers
    args: MultiDict[str, str]
    content: str


_ALTERNATE_HEADERS = {
    "authorization",
    "x-experience-api-version",
    "content-type",
    "content-length",
    "if-match",
    "if-none-match",
    "accept-language",
}


def _alternate(request: Request) -> Alternate:
    method = request.args["method"]
    if method not in ("GET", "PUT", "POST", "DELETE", "HEAD"):
        raise ApiError(400, "method must be GET, PUT, POST, DELETE or HEAD (in capitals)")
    if set(request.args) != {"method"}:
        raise ApiError(
            400, "with method=, method is the only query parameter: the others go in the form body"
        )
    if request.mimetype != "application/x-www-form-urlencoded":
        raise ApiError(400, "with method=, send the body as application/x-www-form-urlencoded")
    headers = Headers()
    args: MultiDict[str, str] = MultiDict()
    content = ""
    for key, value in request.form.items(multi=True):
        if key.lower() in _ALTERNATE_HEADERS:
            headers.add(key, value)
        elif key == "content":
            content = value
        else:
            args.add(key, value)
    return Alternate(method, headers, args, content)


def _header(call: _Call, name: str) -> str:
    """A request header, from the form body in the Alternate Request Syntax."""
    alternate = call.alternate
    if alternate is not None and name in alternate.headers:
        return alternate.headers[name]
    return call.request.headers.get(name, "")


def _args(call: _Call) -> Any:
    """The query parameters, from the form body in the Alternate Request Syntax."""
    alternate = call.alternate
    return alternate.args if alternate is not None else call.request.args


def _flag(args: Any, name: str) -> bool:
    value = args.get(name, "false")
    if value not in ("true", "false"):
        raise ApiError(400, f"{name} must be true or false")
    return bool(value == "true")


def _query(args: Any) -> store.Query:
    agent = None
    if "agent" in args:
        try:
            agent = validation.agent_ifi(_agent_param(args["agent"]))
        except validation.StatementError as error:
            raise ApiError(400, str(error)) from error
    limit_raw = args.get("limit", str(store.DEFAULT_LIMIT))
    # isdigit() says yes to "²", which int() refuses: ASCII digits only, a length int() reads at once.
    if not limit_raw.isascii() or not limit_raw.isdigit() or len(limit_raw) > 9:
        raise ApiError(400, "limit must be a whole number (0 for the server's maximum)")
    for name, value, longest in (
        ("agent", agent, store.MAX_AGENT_IFI),
        ("verb", args.get("verb"), store.MAX_VERB_ID),
        ("activity", args.get("activity"), store.MAX_ACTIVITY_ID),
    ):
        if value is not None and len(value) > longest:
            # No statement can hold it (they are refused on the way in): say so rather than match nothing.
            raise ApiError(400, f"{name}: identifiers longer than {longest} characters are not stored here")
    return store.Query(
        agent=agent,
        verb=args.get("verb"),
        activity=args.get("activity"),
        registration=args.get("registration"),
        related_activities=_flag(args, "related_activities"),
        related_agents=_flag(args, "related_agents"),
        since_us=store.parse_time(args["since"], "since") if "since" in args else None,
        until_us=store.parse_time(args["until"], "until") if "until" in args else None,
        limit=int(limit_raw) or store.MAX_LIMIT,
        ascending=_flag(args, "ascending"),
        after=store.decode_cursor(args["more"]) if "more" in args else None,
        include_referring=True,
    )


def _format(call: _Call, statement: dict[str, Any], fmt: str) -> dict[str, Any]:
    if fmt == "exact":
        return statement
    if fmt == "canonical":
        alternate = call.alternate
        accepted = call.request.accept_languages
        if alternate is not None and "Accept-Language" in alternate.headers:
            accepted = parse_accept_header(alternate.headers["Accept-Language"], LanguageAccept)
        return _canonical(statement, accepted)
    return _ids(statement)


def _ids(node: Any) -> Any:
    """format=ids: agents, activities and verbs reduced to their identifiers."""
    if isinstance(node, list):
        return [_ids(item) for item in node]
    if not isinstance(node, dict):
        return node
    kind = node.get("objectType")
    if kind in ("Agent", "Group") or "account" in node or "mbox" in node:
        keep = {k: node[k] for k in ("objectType", "mbox", "mbox_sha1sum", "openid", "account") if k in node}
        if (
            kind == "Group"
            and "member" in node
            and not any(k in node for k in ("mbox", "mbox_sha1sum", "openid", "account"))
        ):
            keep["member"] = _ids(node["member"])
        return keep
    if kind == "Activity" or ("id" in node and "definition" in node):
        return {"id": node["id"]}
    return {k: (_ids(v) if k not in ("display",) else v) for k, v in node.items() if k != "display"}


def _canonical(node: Any, accepted: LanguageAccept) -> Any:
    """format=canonical: each language map reduced to the language the request's Accept-Language prefers
    among those the map has (its first language when none of them is accepted)."""
    if isinstance(node, list):
        return [_canonical(item, accepted) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if (
            key in ("display", "name", "description")
            and isinstance(value, dict)
            and value
            and all(isinstance(x, str) for x in value.values())
        ):
            chosen = accepted.best_match(list(value)) or next(iter(value))
            out[key] = {chosen: value[chosen]}
        else:
            out[key] = _canonical(value, accepted)
    return out


def _answer(data: Any, parts: list[attachments.Part] | None) -> Response:
    """A 200 answer: JSON, or (attachments=true) multipart/mixed: the JSON, then the attachments' content."""
    if parts is None:
        return _json(data, 200)
    body, content_type = attachments.multipart(data, parts)
    return Response(body, status=200, content_type=content_type)


def _json(data: Any, status: int) -> Response:
    return Response(json.dumps(data, ensure_ascii=False), status=status, mimetype="application/json")
