"""The demo platform's logic: users, course, tool registrations, authorization and signed id_tokens.

No Flask here: the blueprint turns HTTP into calls on ``DemoPlatform``, and the database-backed parts
(tools registered dynamically, activities, roster) come in through a ``Directory``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote, urlencode

import jwt
import requests
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from lti_tool.keys import KeyStore

LIS = "http://purl.imsglobal.org/vocab/lis/v2/"
LTI = "https://purl.imsglobal.org/spec/lti/claim/"
DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
PLATFORM_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-platform-configuration"

SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_LINEITEM_READONLY = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
SCOPE_RESULT_READONLY = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
AGS_SCOPES = (SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY, SCOPE_RESULT_READONLY, SCOPE_SCORE)
SERVICE_SCOPES = (*AGS_SCOPES, SCOPE_NRPS)

CLIENT_ID = "socle-demo"
DEPLOYMENT_ID = "socle-demo-1"
TOKEN_LIFETIME_SECONDS = 60  # as Moodle does
ACCESS_TOKEN_LIFETIME_SECONDS = 3600
DEEP_LINK_LIFETIME_SECONDS = 3600  # how long a Deep Linking request may wait for its response
LEEWAY_SECONDS = 5
STAFF_ROLES = ("membership#Instructor", "institution/person#Administrator", "system/person#Administrator")


@dataclass(frozen=True)
class DemoUser:
    key: str
    sub: str
    label_fr: str
    label_en: str
    roles: tuple[str, ...]
    name: str
    given_name: str
    family_name: str
    email: str

    @property
    def is_staff(self) -> bool:
        return any(role.endswith(suffix) for role in self.roles for suffix in STAFF_ROLES)


USERS: Mapping[str, DemoUser] = {
    user.key: user
    for user in (
        DemoUser(
            key="learner",
            sub="demo-learner-0001",
            label_fr="apprenant·e",
            label_en="learner",
            roles=(LIS + "membership#Learner", LIS + "institution/person#Student"),
            name="Apprenant·e de démonstration",
            given_name="Apprenant·e",
            family_name="Démonstration",
            email="apprenant@demo.invalid",
        ),
        DemoUser(
            key="instructor",
            sub="demo-instructor-0001",
            label_fr="formateur·rice",
            label_en="instructor",
            roles=(LIS + "membership#Instructor", LIS + "institution/person#Faculty"),
            name="Formateur·rice de démonstration",
            given_name="Formateur·rice",
            family_name="Démonstration",
            email="formation@demo.invalid",
        ),
        DemoUser(
            key="admin",
            sub="demo-admin-0001",
            label_fr="administrateur·rice du site",
            label_en="site administrator",
            # Moodle sends its site administrators these roles, with no course role.
            roles=(LIS + "institution/person#Administrator", LIS + "system/person#Administrator"),
            name="Administration de démonstration",
            given_name="Administration",
            family_name="Démonstration",
            email="admin@demo.invalid",
        ),
    )
}

COURSE_ID = "demo-course-mse"
COURSE = {
    "id": COURSE_ID,
    "label": "MSE-DEMO",
    "title": "Modèles socio-économiques des structures d'intérêt général (démo)",
    "type": ["http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"],
}
RESOURCE_LINK = {"id": "demo-link-socle", "title": "Socle : parcours et autodiagnostic"}


@dataclass(frozen=True)
class DemoTool:
    """A tool registered in the demo platform (the tool's side of the registration).

    ``deployment_id`` doubles as Moodle's ``type_id`` in the service URLs. ``claims`` is None when every
    personal claim is sent (statically configured tools), else the claims the tool registered for."""

    client_id: str
    deployment_id: str
    login_url: str
    redirect_uris: Sequence[str]
    target_link_uri: str
    jwks_uri: str | None = None
    scopes: tuple[str, ...] = SERVICE_SCOPES
    name: str = "Socle"
    status: str = "active"
    deep_link_uri: str | None = None
    claims: tuple[str, ...] | None = None
    custom: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)
    registration_id: int | None = None  # the demo_tools row, for dynamically registered tools

    @property
    def type_id(self) -> str:
        return self.deployment_id

    @property
    def ags_scopes(self) -> list[str]:
        return [scope for scope in AGS_SCOPES if scope in self.scopes]


@dataclass(frozen=True)
class LinkInfo:
    """A resource link of the demo course as a launch needs it."""

    id: str
    client_id: str
    title: str
    text: str | None = None
    url: str | None = None
    custom: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)
    line_item_id: int | None = None


class Directory(Protocol):
    """Where the platform finds what is not static: registered tools, roster members, activities."""

    def tool(self, client_id: str) -> DemoTool | None: ...

    def user(self, login_hint: str) -> DemoUser | None: ...

    def resource_link(self, link_id: str) -> LinkInfo | None: ...


class DemoAuthError(Exception):
    """An authorization request the demo platform refuses, with the OIDC error code."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


class DemoRequestError(Exception):
    """A browser request (Deep Linking response, registration page) the platform refuses: a 400 page."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


class ToolJwtError(Exception):
    """A JWT signed by a tool (client assertion, Deep Linking response) that does not verify."""


@dataclass(frozen=True)
class MessageHint:
    """What a launch is for, carried opaquely through the tool in ``lti_message_hint``.

    Written ``resource`` (the static Socle link), ``deeplink`` or ``link-<id>``, optionally followed by
    ``;storage=<frame>`` when the launch offered ``lti_storage_target``."""

    kind: str = "resource"  # resource | deeplink | link
    link_id: str | None = None
    storage_target: str | None = None

    def encode(self) -> str:
        text = f"link-{self.link_id}" if self.kind == "link" else self.kind
        if self.storage_target:
            text += ";storage=" + self.storage_target
        return text

    @classmethod
    def parse(cls, text: str | None) -> MessageHint:
        parts = (text or "resource").split(";")
        head, options = parts[0], dict(part.partition("=")[::2] for part in parts[1:])
        storage = options.get("storage") or None
        if head == "deeplink":
            return cls("deeplink", storage_target=storage)
        if head.startswith("link-") and len(head) > 5:
            return cls("link", head[5:], storage)
        return cls("resource", storage_target=storage)


@dataclass
class DeepLinkReturn:
    """A verified Deep Linking response, ready to become activities."""

    tool: DemoTool
    request_id: str
    user_sub: str
    items: list[dict[str, Any]]  # the ltiResourceLink content items, checked
    ignored: int  # content items of other types
    msg: str | None = None
    errormsg: str | None = None


@dataclass
class DemoPlatform:
    base_url: str  # e.g. http://127.0.0.1:5000/demo
    keys: KeyStore
    tools: Sequence[DemoTool] = field(default_factory=list)
    # Signs Deep Linking ``data`` and session keys; the app's SECRET_KEY in practice.
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    directory: Directory | None = None

    # -- test and benchmark switches (per process) ---------------------------------------------
    # Services (token endpoint, AGS, NRPS) answer 503 ("down") or wait ``outage_delay_seconds`` first
    # ("slow"); ``fail_next(n)`` makes only the next n service requests answer 503.
    outage: str | None = None
    outage_delay_seconds: float = 2.0
    # Tools created by Dynamic Registration start pending (Moodle) instead of active.
    new_tools_pending: bool = False
    # Page size of the roster service when the tool asks for no ``limit`` (None: everything at once).
    nrps_default_limit: int | None = None
    jwks_cache_seconds: float = 300.0
    http_timeout_seconds: float = 5.0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._failures_left = 0
        self._jwks: dict[str, tuple[float, dict[str, Any]]] = {}
        self.http = requests.Session()
        self.http.headers["User-Agent"] = "Socle-Demo-Platform/1"
        self._deep_link_data = URLSafeTimedSerializer(self.secret, salt="socle-demo-deep-linking")

    # -- endpoints -----------------------------------------------------------------------------
    @property
    def issuer(self) -> str:
        return self.base_url

    @property
    def auth_url(self) -> str:
        return self.base_url + "/auth"

    @property
    def token_url(self) -> str:
        return self.base_url + "/token"

    @property
    def jwks_url(self) -> str:
        return self.base_url + "/jwks"

    @property
    def openid_configuration_url(self) -> str:
        return self.base_url + "/openid-configuration"

    @property
    def registration_url(self) -> str:
        return self.base_url + "/register"

    def tool_configuration(self, tool: DemoTool | None = None) -> dict[str, Any]:
        """What the platform shows its administrator for a tool (Moodle's "Tool configuration details"),
        for the tool's operator to register the platform: by default for Socle itself (the first tool)."""
        tool = tool or self.tools[0]
        return {
            "issuer": self.issuer,
            "client_id": tool.client_id,
            "auth_login_url": self.auth_url,
            "auth_token_url": self.token_url,
            "key_set_url": self.jwks_url,
            "deployment_ids": [tool.deployment_id],
            "name": "Plateforme de démonstration",
        }

    def lineitems_url(self, tool: DemoTool, course_id: str = COURSE_ID) -> str:
        return f"{self.base_url}/courses/{quote(course_id)}/lineitems?type_id={quote(tool.type_id)}"

    def lineitem_url(self, tool: DemoTool, item_id: int, course_id: str = COURSE_ID) -> str:
        return (
            f"{self.base_url}/courses/{quote(course_id)}/lineitems/{item_id}/lineitem"
            f"?type_id={quote(tool.type_id)}"
        )

    def memberships_url(self, course_id: str = COURSE_ID) -> str:
        return f"{self.base_url}/courses/{quote(course_id)}/memberships"

    # -- switches ------------------------------------------------------------------------------
    def fail_next(self, count: int) -> None:
        """Make the next ``count`` service requests (token, AGS, NRPS) answer 503."""
        with self._lock:
            self._failures_left = count

    def service_outage(self) -> bool:
        """Called before each service request: True to answer 503; sleeps first when slow."""
        with self._lock:
            if self._failures_left > 0:
                self._failures_left -= 1
                return True
        if self.outage == "down":
            return True
        if self.outage == "slow":
            time.sleep(self.outage_delay_seconds)
        return False

    # -- who and what --------------------------------------------------------------------------
    def tool(self, client_id: str) -> DemoTool | None:
        """A statically configured tool, else an active tool registered dynamically."""
        static = next((tool for tool in self.tools if tool.client_id == client_id), None)
        if static is not None or self.directory is None or not client_id:
            return static
        found = self.directory.tool(client_id)
        return found if found is not None and found.status == "active" else None

    def user(self, login_hint: str) -> DemoUser | None:
        """One of the three demo people, or a member of the course roster by their sub."""
        user = USERS.get(login_hint)
        if user is None and self.directory is not None and login_hint:
            user = self.directory.user(login_hint)
        return user

    # -- launches ------------------------------------------------------------------------------
    def login_initiation_url(
        self,
        tool: DemoTool,
        user: DemoUser,
        message_hint: str = "resource",
        *,
        target_link_uri: str | None = None,
        storage_target: str | None = None,
    ) -> str:
        """Third-party initiated login: where the platform sends the browser to start a launch."""
        params = {
            "iss": self.issuer,
            "login_hint": user.key,
            "target_link_uri": target_link_uri or tool.target_link_uri,
            "lti_message_hint": message_hint,
            "client_id": tool.client_id,
            "lti_deployment_id": tool.deployment_id,
        }
        if storage_target:
            params["lti_storage_target"] = storage_target
        return tool.login_url + "?" + urlencode(params)

    def authorize(
        self, params: Mapping[str, str], *, session_id: str | None = None
    ) -> tuple[str, dict[str, str]]:
        """Check an OIDC authorization request; return (redirect_uri, form fields to POST there).

        ``session_id`` is the browser's demo platform session: a Deep Linking request is bound to it."""
        tool = self.tool(params.get("client_id", ""))
        if tool is None:
            raise DemoAuthError("unauthorized_client", "unknown client_id")
        redirect_uri = params.get("redirect_uri", "")
        if redirect_uri not in tool.redirect_uris:
            # Never redirect to an unregistered URI: the error is shown by the platform itself.
            raise DemoAuthError("invalid_request", "redirect_uri is not registered for this tool")
        checks = {
            "scope": "openid",
            "response_type": "id_token",
            "response_mode": "form_post",
            "prompt": "none",
        }
        for name, expected in checks.items():
            if params.get(name) != expected:
                raise DemoAuthError("invalid_request", f"{name} must be {expected}")
        user = self.user(params.get("login_hint", ""))
        if user is None:
            raise DemoAuthError("login_required", "unknown login_hint")
        nonce = params.get("nonce")
        if not nonce:
            raise DemoAuthError("invalid_request", "nonce is required")
        message_hint = params.get("lti_message_hint", "resource")
        hint = MessageHint.parse(message_hint)
        link: LinkInfo | None = None
        deep_linking: dict[str, Any] | None = None
        if hint.kind == "link":
            link = self.directory.resource_link(hint.link_id or "") if self.directory else None
            if link is None or link.client_id != tool.client_id:
                raise DemoAuthError("invalid_request", "unknown resource link for this tool")
        elif hint.kind == "deeplink":
            if not user.is_staff:
                raise DemoAuthError("access_denied", "only staff may add activities (Deep Linking)")
            if not session_id:
                raise DemoAuthError("login_required", "no demo platform session for Deep Linking")
            deep_linking = self.deep_linking_settings(tool, user, session_id)
        claims = self.launch_claims(tool, user, nonce, message_hint, link=link, deep_linking=deep_linking)
        fields = {"id_token": self.sign(claims)}
        if params.get("state"):
            fields["state"] = params["state"]
        if hint.storage_target:
            fields["lti_storage_target"] = hint.storage_target
        return redirect_uri, fields

    def launch_claims(
        self,
        tool: DemoTool,
        user: DemoUser,
        nonce: str,
        message_hint: str,
        *,
        link: LinkInfo | None = None,
        deep_linking: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The id_token claims of a resource link launch (the static Socle link, or ``link``), or of a
        Deep Linking request when ``deep_linking`` settings are given."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": tool.client_id,  # a plain string, as Moodle sends it
            "sub": user.sub,
            "iat": now,
            "exp": now + TOKEN_LIFETIME_SECONDS,
            "nonce": nonce,
            "name": user.name,
            "given_name": user.given_name,
            "family_name": user.family_name,
            "email": user.email,
            LTI + "version": "1.3.0",
            LTI + "message_type": "LtiResourceLinkRequest",
            LTI + "deployment_id": tool.deployment_id,
            LTI + "target_link_uri": tool.target_link_uri,
            LTI + "resource_link": dict(RESOURCE_LINK),
            LTI + "roles": list(user.roles),
            LTI + "context": dict(COURSE),
            LTI + "launch_presentation": {
                "document_target": "iframe",
                "locale": "fr-FR",
                "return_url": self.base_url + "/course",
            },
            LTI + "tool_platform": {
                "guid": "socle-demo-platform",
                "name": "Plateforme de démonstration Socle",
                "product_family_code": "socle-demo",
                "version": "1",
            },
            LTI + "custom": {"demo_message_hint": message_hint},
        }
        if tool.claims is not None:  # Moodle sends names and e-mail only to tools that asked for them
            if not {"name", "given_name", "family_name"} & set(tool.claims):
                for name in ("name", "given_name", "family_name"):
                    claims.pop(name)
            if "email" not in tool.claims:
                claims.pop("email")
        if tool.ags_scopes:
            ags: dict[str, Any] = {"scope": tool.ags_scopes, "lineitems": self.lineitems_url(tool)}
            if link is not None and link.line_item_id is not None:
                ags["lineitem"] = self.lineitem_url(tool, link.line_item_id)
            claims[AGS_CLAIM] = ags
        if SCOPE_NRPS in tool.scopes:
            claims[NRPS_CLAIM] = {
                "context_memberships_url": self.memberships_url(),
                "service_versions": ["2.0"],
            }
        if link is not None:
            resource_link = {"id": link.id, "title": link.title}
            if link.text:
                resource_link["description"] = link.text
            claims[LTI + "resource_link"] = resource_link
            claims[LTI + "custom"] = {**tool.custom, **link.custom}
            if link.url:
                claims[LTI + "target_link_uri"] = link.url
        elif tool.custom:
            claims[LTI + "custom"] = {**tool.custom, **claims[LTI + "custom"]}
        if deep_linking is not None:
            claims[LTI + "message_type"] = "LtiDeepLinkingRequest"
            claims[LTI + "target_link_uri"] = tool.deep_link_uri or tool.target_link_uri
            claims.pop(LTI + "resource_link")
            claims[DL + "deep_linking_settings"] = dict(deep_linking)
        return claims

    # -- Deep Linking --------------------------------------------------------------------------
    def deep_linking_settings(self, tool: DemoTool, user: DemoUser, session_id: str) -> dict[str, Any]:
        """The settings of a new Deep Linking request, tied to this browser session and person.

        The return URL carries the request id and a key derived from the session (Moodle's sesskey);
        ``data`` is a signed echo naming the request, the session, the person and the tool."""
        request_id = secrets.token_urlsafe(16)
        data = self._deep_link_data.dumps(
            {"rid": request_id, "sid": _digest(session_id), "sub": user.sub, "client_id": tool.client_id}
        )
        query = urlencode({"request": request_id, "sesskey": self.sesskey(session_id, request_id)})
        return {
            "deep_link_return_url": f"{self.base_url}/deep-link-return?{query}",
            "accept_types": ["ltiResourceLink"],
            "accept_presentation_document_targets": ["iframe", "window"],
            "accept_multiple": True,
            "auto_create": True,
            "title": COURSE["title"],
            "data": data,
        }

    def sesskey(self, session_id: str, request_id: str) -> str:
        message = f"sesskey|{session_id}|{request_id}".encode()
        return hmac.new(self.secret.encode(), message, hashlib.sha256).hexdigest()[:32]

    def check_deep_link_return(
        self, token: str, request_id: str, sesskey: str, session_id: str | None
    ) -> DeepLinkReturn:
        """Verify a Deep Linking response (form field ``JWT``) against the request it answers.

        Raises DemoRequestError (a 400 page) when anything is off. The caller still has to make sure the
        request is answered only once (``request_id``)."""
        if not token:
            raise DemoRequestError("missing_jwt", "the form carries no JWT field")
        if not session_id or not request_id or not sesskey:
            raise DemoRequestError(
                "no_session", "this browser has no demo platform session for this Deep Linking request"
            )
        if not hmac.compare_digest(self.sesskey(session_id, request_id), sesskey):
            raise DemoRequestError(
                "bad_sesskey", "the return URL was not issued to this browser session (sesskey)"
            )
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as error:
            raise DemoRequestError("malformed_jwt", f"the JWT cannot be read: {error}") from error
        tool = self.tool(str(unverified.get("iss", "")))
        if tool is None:
            raise DemoRequestError("unknown_tool", "iss is not the client_id of an active tool")
        try:
            claims = self.verify_tool_jwt(token, tool, audience=[self.issuer], require=["nonce"])
        except ToolJwtError as error:
            raise DemoRequestError("invalid_jwt", str(error)) from error
        if claims.get(LTI + "version") != "1.3.0":
            raise DemoRequestError("invalid_jwt", "version must be 1.3.0")
        if claims.get(LTI + "message_type") != "LtiDeepLinkingResponse":
            raise DemoRequestError("invalid_jwt", "message_type must be LtiDeepLinkingResponse")
        if claims.get(LTI + "deployment_id") != tool.deployment_id:
            raise DemoRequestError("invalid_jwt", "deployment_id is not this tool's deployment")
        if not claims.get("nonce"):
            raise DemoRequestError("invalid_jwt", "nonce is required")
        data = claims.get(DL + "data")
        if not isinstance(data, str):
            raise DemoRequestError("bad_data", "the data of the Deep Linking request was not echoed")
        try:
            echoed = self._deep_link_data.loads(data, max_age=DEEP_LINK_LIFETIME_SECONDS)
        except SignatureExpired as error:
            raise DemoRequestError("expired_request", "this Deep Linking request has expired") from error
        except BadSignature as error:
            raise DemoRequestError("bad_data", "data is not the one the platform sent") from error
        if echoed.get("rid") != request_id:
            raise DemoRequestError("bad_data", "data answers another Deep Linking request")
        if echoed.get("sid") != _digest(session_id):
            raise DemoRequestError("other_session", "this response belongs to another user's session")
        if echoed.get("client_id") != tool.client_id:
            raise DemoRequestError("bad_data", "the request was made to another tool")
        items, ignored = _resource_link_items(claims.get(DL + "content_items", []))
        return DeepLinkReturn(
            tool=tool,
            request_id=request_id,
            user_sub=str(echoed.get("sub", "")),
            items=items,
            ignored=ignored,
            msg=_text(claims.get(DL + "msg")),
            errormsg=_text(claims.get(DL + "errormsg")),
        )

    # -- keys ----------------------------------------------------------------------------------
    def sign(
        self, claims: Mapping[str, Any], *, headers: Mapping[str, Any] | None = None, kid: str | None = None
    ) -> str:
        """Sign claims with the platform's active key (or a published one by kid)."""
        key = self.keys.active()
        if kid is not None:
            key = next(k for k in self.keys.published() if k.kid == kid)
        header = {"kid": key.kid, "typ": "JWT", **(headers or {})}
        return jwt.encode(dict(claims), key.private_key, algorithm="RS256", headers=header)

    def tool_jwks(self, tool: DemoTool, *, refresh: bool = False) -> dict[str, Any]:
        """The tool's public key set, fetched from its jwks_uri and cached a few minutes."""
        if not tool.jwks_uri:
            raise ToolJwtError("the tool has no registered jwks_uri")
        cached = self._jwks.get(tool.jwks_uri)
        if cached and not refresh and time.monotonic() - cached[0] < self.jwks_cache_seconds:
            return cached[1]
        try:
            response = self.http.get(tool.jwks_uri, timeout=self.http_timeout_seconds)
            response.raise_for_status()
            keyset = response.json()
        except (requests.RequestException, ValueError) as error:
            raise ToolJwtError(f"the tool's key set cannot be fetched: {error}") from error
        if not isinstance(keyset, dict) or not isinstance(keyset.get("keys"), list):
            raise ToolJwtError("the tool's jwks_uri does not answer a JWK set")
        self._jwks[tool.jwks_uri] = (time.monotonic(), keyset)
        return keyset

    def verify_tool_jwt(
        self, token: str, tool: DemoTool, *, audience: Sequence[str], require: Sequence[str] = ()
    ) -> dict[str, Any]:
        """Verify a JWT the tool signed (RS256, a key of its JWKS, iss = client_id, aud, exp, iat)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise ToolJwtError(f"the JWT cannot be read: {error}") from error
        if header.get("alg") != "RS256":
            raise ToolJwtError("the JWT must be signed with RS256")
        kid = header.get("kid")
        key = _find_key(self.tool_jwks(tool), kid)
        if key is None:  # a rotated key: fetch the set again once
            key = _find_key(self.tool_jwks(tool, refresh=True), kid)
        if key is None:
            raise ToolJwtError("no key of the tool's key set matches the JWT's kid")
        try:
            public_key = jwt.PyJWK(key, algorithm="RS256").key
            claims: dict[str, Any] = jwt.decode(
                token,
                public_key,
                algorithms=["RS256"],
                audience=list(audience),
                issuer=tool.client_id,
                leeway=LEEWAY_SECONDS,
                options={"require": ["iss", "aud", "exp", "iat", *require]},
            )
        except jwt.InvalidAudienceError as error:
            raise ToolJwtError(f"aud must name {' or '.join(audience)}") from error
        except jwt.PyJWTError as error:
            raise ToolJwtError(f"the JWT does not verify: {error}") from error
        return claims


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _find_key(keyset: Mapping[str, Any], kid: str | None) -> dict[str, Any] | None:
    keys = [key for key in keyset.get("keys", []) if isinstance(key, dict) and key.get("kty") == "RSA"]
    if kid is None:
        return keys[0] if len(keys) == 1 else None
    return next((key for key in keys if key.get("kid") == kid), None)


def _text(value: Any) -> str | None:
    return str(value)[:1000] if value else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _resource_link_items(content_items: Any) -> tuple[list[dict[str, Any]], int]:
    """The ltiResourceLink items of a Deep Linking response, checked; and how many others were left."""
    if not isinstance(content_items, list):
        raise DemoRequestError("bad_content_items", "content_items must be an array")
    items: list[dict[str, Any]] = []
    ignored = 0
    for index, item in enumerate(content_items):
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            raise DemoRequestError("bad_content_items", f"content item {index} has no type")
        if item["type"] != "ltiResourceLink":
            ignored += 1  # Moodle, too, only makes activities of resource links
            continue
        custom = item.get("custom", {})
        if not isinstance(custom, dict) or not all(isinstance(key, str) for key in custom):
            raise DemoRequestError("bad_content_items", f"content item {index}: custom must be an object")
        line_item = item.get("lineItem")
        checked_line_item: dict[str, Any] | None = None
        if line_item is not None:
            if not isinstance(line_item, dict):
                raise DemoRequestError(
                    "bad_content_items", f"content item {index}: lineItem must be an object"
                )
            maximum = _number(line_item.get("scoreMaximum"))
            if maximum is None or maximum <= 0:
                raise DemoRequestError(
                    "bad_content_items",
                    f"content item {index}: lineItem.scoreMaximum must be a positive number",
                )
            checked_line_item = {
                "scoreMaximum": maximum,
                "label": str(line_item.get("label") or item.get("title") or "Sans titre")[:255],
                "resourceId": _text(line_item.get("resourceId")),
                "tag": _text(line_item.get("tag")),
            }
        url = item.get("url")
        if url is not None and not (isinstance(url, str) and url.startswith(("https://", "http://"))):
            raise DemoRequestError("bad_content_items", f"content item {index}: url must be an http(s) URL")
        items.append(
            {
                "title": str(item.get("title") or "Sans titre")[:255],
                "text": _text(item.get("text")),
                "url": url,
                "custom": {
                    key: value if isinstance(value, str) else str(value) for key, value in custom.items()
                },
                "document_target": "window" if "window" in item and "iframe" not in item else "iframe",
                "lineItem": checked_line_item,
            }
        )
    return items, ignored
