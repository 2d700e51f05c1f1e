"""The demo platform's logic: users, course, tool registrations, authorization and signed id_tokens."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt

from lti_tool.keys import KeyStore

LIS = "http://purl.imsglobal.org/vocab/lis/v2/"
LTI = "https://purl.imsglobal.org/spec/lti/claim/"

CLIENT_ID = "socle-demo"
DEPLOYMENT_ID = "socle-demo-1"
TOKEN_LIFETIME_SECONDS = 60  # as Moodle does


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

COURSE = {
    "id": "demo-course-mse",
    "label": "MSE-DEMO",
    "title": "Modèles socio-économiques des structures d'intérêt général (démo)",
    "type": ["http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"],
}
RESOURCE_LINK = {"id": "demo-link-socle", "title": "Socle : parcours et autodiagnostic"}


@dataclass(frozen=True)
class DemoTool:
    """A tool registered in the demo platform (the tool's side of the registration)."""

    client_id: str
    deployment_id: str
    login_url: str
    redirect_uris: Sequence[str]
    target_link_uri: str


class DemoAuthError(Exception):
    """An authorization request the demo platform refuses, with the OIDC error code."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass
class DemoPlatform:
    base_url: str  # e.g. http://127.0.0.1:5000/demo
    keys: KeyStore
    tools: Sequence[DemoTool] = field(default_factory=list)

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

    def tool(self, client_id: str) -> DemoTool | None:
        return next((tool for tool in self.tools if tool.client_id == client_id), None)

    def login_initiation_url(self, tool: DemoTool, user: DemoUser, message_hint: str = "resource") -> str:
        """Third-party initiated login: where the platform sends the browser to start a launch."""
        params = {
            "iss": self.issuer,
            "login_hint": user.key,
            "target_link_uri": tool.target_link_uri,
            "lti_message_hint": message_hint,
            "client_id": tool.client_id,
            "lti_deployment_id": tool.deployment_id,
        }
        return tool.login_url + "?" + urlencode(params)

    def authorize(self, params: Mapping[str, str]) -> tuple[str, dict[str, str]]:
        """Check an OIDC authorization request; return (redirect_uri, form fields to POST there)."""
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
        user = USERS.get(params.get("login_hint", ""))
        if user is None:
            raise DemoAuthError("login_required", "unknown login_hint")
        nonce = params.get("nonce")
        if not nonce:
            raise DemoAuthError("invalid_request", "nonce is required")
        claims = self.launch_claims(tool, user, nonce, params.get("lti_message_hint", "resource"))
        fields = {"id_token": self.sign(claims)}
        if params.get("state"):
            fields["state"] = params["state"]
        return redirect_uri, fields

    def launch_claims(self, tool: DemoTool, user: DemoUser, nonce: str, message_hint: str) -> dict[str, Any]:
        now = int(time.time())
        return {
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

    def sign(
        self, claims: Mapping[str, Any], *, headers: Mapping[str, Any] | None = None, kid: str | None = None
    ) -> str:
        """Sign claims with the platform's active key (or a published one by kid)."""
        key = self.keys.active()
        if kid is not None:
            key = next(k for k in self.keys.published() if k.kid == kid)
        header = {"kid": key.kid, "typ": "JWT", **(headers or {})}
        return jwt.encode(dict(claims), key.private_key, algorithm="RS256", headers=header)
