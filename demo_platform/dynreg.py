"""LTI Dynamic Registration 1.0, platform side: the OpenID configuration, registration tokens, and the
registration endpoint that checks a tool's client metadata as Moodle does and creates the tool."""

from __future__ import annotations

import secrets
import string
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select, update

from demo_platform.gradebook import with_query
from demo_platform.models import DemoRegistrationToken, DemoToolRegistration
from demo_platform.oauth import ServiceError
from demo_platform.platform import (
    PLATFORM_CONFIGURATION,
    SERVICE_SCOPES,
    TOOL_CONFIGURATION,
    DemoPlatform,
)
from demo_platform.store import in_seconds, token_hash
from lti_tool.db import DbSession, utcnow

REGISTRATION_TOKEN_LIFETIME_SECONDS = 3600
SUPPORTED_MESSAGES = ("LtiResourceLinkRequest", "LtiDeepLinkingRequest")
PERSONAL_CLAIMS = ("sub", "iss", "name", "given_name", "family_name", "email")


def openid_configuration(platform: DemoPlatform) -> dict[str, Any]:
    """What a tool reads at ``openid_configuration`` (OpenID Connect Discovery + the LTI object)."""
    return {
        "issuer": platform.issuer,
        "authorization_endpoint": platform.auth_url,
        "token_endpoint": platform.token_url,
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
        "jwks_uri": platform.jwks_url,
        "registration_endpoint": platform.registration_url,
        "scopes_supported": ["openid", *SERVICE_SCOPES],
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public", "pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "claims_supported": list(PERSONAL_CLAIMS),
        PLATFORM_CONFIGURATION: {
            "product_family_code": "socle-demo",
            "version": "1",
            # Objects, as LTI Dynamic Registration 1.0 §3.5.1 writes them (Moodle sends bare strings).
            "messages_supported": [
                {"type": "LtiResourceLinkRequest"},
                {"type": "LtiDeepLinkingRequest", "placements": ["ContentArea"]},
            ],
            "variables": [],
        },
    }


def create_registration_token(
    session: DbSession, *, pending: bool = False, lifetime_seconds: int = REGISTRATION_TOKEN_LIFETIME_SECONDS
) -> str:
    """A new single-use registration token (only its hash is stored). Commits."""
    token = secrets.token_urlsafe(32)
    session.add(
        DemoRegistrationToken(
            token_hash=token_hash(token), pending=pending, expires_at=in_seconds(lifetime_seconds)
        )
    )
    session.commit()
    return token


def register_tool(
    session: DbSession, platform: DemoPlatform, authorization: str | None, body: Any
) -> dict[str, Any]:
    """Handle ``POST /demo/register``: check the token and the metadata, create the tool, answer the
    registration (201) with ``client_id`` and, in the tool configuration, ``deployment_id``.

    A valid token is consumed only by a successful registration (Moodle's token likewise becomes used
    once a tool carries its client id); refused metadata leaves it usable until it expires."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ServiceError(401, "invalid_token", "the registration token is required (Authorization: Bearer)")
    row = session.scalar(
        select(DemoRegistrationToken).where(DemoRegistrationToken.token_hash == token_hash(token.strip()))
    )
    now = utcnow()
    if row is None or row.expires_at <= now:
        raise ServiceError(401, "invalid_token", "unknown or expired registration token")
    if row.used_at is not None:
        raise ServiceError(401, "invalid_token", "this registration token was already used")
    metadata = check_metadata(body)
    # Consume the token first, atomically: two concurrent registrations cannot both use it.
    consumed = session.execute(
        update(DemoRegistrationToken)
        .where(DemoRegistrationToken.id == row.id, DemoRegistrationToken.used_at.is_(None))
        .values(used_at=now)
    )
    if not consumed.rowcount:  # type: ignore[attr-defined]
        session.rollback()
        raise ServiceError(401, "invalid_token", "this registration token was already used")
    pending = row.pending or platform.new_tools_pending
    tool = DemoToolRegistration(
        client_id=_new_client_id(),
        deployment_id="",
        name=metadata["client_name"],
        initiate_login_uri=metadata["initiate_login_uri"],
        redirect_uris=metadata["redirect_uris"],
        jwks_uri=metadata["jwks_uri"],
        target_link_uri=metadata["target_link_uri"],
        deep_link_uri=metadata["deep_link_uri"],
        domain=metadata["domain"],
        scopes=metadata["scopes"],
        claims=metadata["claims"],
        custom_parameters=metadata["custom_parameters"],
        metadata_json=body,
        status="pending" if pending else "active",
        activated_at=None if pending else now,
    )
    session.add(tool)
    session.flush()
    tool.deployment_id = str(tool.id)  # Moodle: the deployment id is the tool type's id
    session.execute(
        update(DemoRegistrationToken).where(DemoRegistrationToken.id == row.id).values(tool_id=tool.id)
    )
    session.commit()
    return registration_response(tool, metadata)


def activate_tool(session: DbSession, registration_id: int) -> DemoToolRegistration:
    """What a Moodle administrator does to a pending tool. Commits."""
    tool = session.get(DemoToolRegistration, registration_id)
    if tool is None:
        raise LookupError(f"no registered tool {registration_id}")
    tool.status, tool.activated_at = "active", utcnow()
    session.commit()
    return tool


def registration_response(tool: DemoToolRegistration, metadata: Mapping[str, Any]) -> dict[str, Any]:
    configuration: dict[str, Any] = {
        "domain": tool.domain,
        "target_link_uri": tool.target_link_uri,
        "claims": list(tool.claims),
        "messages": metadata["messages"],
        "deployment_id": tool.deployment_id,
    }
    if metadata.get("description"):
        configuration["description"] = metadata["description"]
    if tool.custom_parameters:
        configuration["custom_parameters"] = dict(tool.custom_parameters)
    response: dict[str, Any] = {
        "client_id": tool.client_id,
        "application_type": "web",
        "response_types": metadata["response_types"],
        "grant_types": metadata["grant_types"],
        "initiate_login_uri": tool.initiate_login_uri,
        "redirect_uris": list(tool.redirect_uris),
        "client_name": tool.name,
        "jwks_uri": tool.jwks_uri,
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": " ".join(tool.scopes),
        TOOL_CONFIGURATION: configuration,
    }
    if metadata.get("logo_uri"):
        response["logo_uri"] = metadata["logo_uri"]
    return response


def check_metadata(body: Any) -> dict[str, Any]:
    """The client metadata, checked like Moodle's registration endpoint (RFC 7591 error codes)."""
    if not isinstance(body, dict):
        raise _invalid("the registration must be a JSON object")
    response_types = _required(body, "response_types")
    if not isinstance(response_types, list) or "id_token" not in response_types:
        raise _invalid("response_types must include id_token")
    grant_types = _required(body, "grant_types")
    if not isinstance(grant_types, list) or not {"implicit", "client_credentials"} <= set(grant_types):
        raise _invalid("grant_types must include implicit and client_credentials")
    initiate_login_uri = _url(body, "initiate_login_uri")
    redirect_uris = _required(body, "redirect_uris")
    if not isinstance(redirect_uris, list) or not all(_is_url(uri) for uri in redirect_uris):
        raise ServiceError(400, "invalid_redirect_uri", "redirect_uris must be an array of http(s) URLs")
    client_name = _required(body, "client_name")
    if not isinstance(client_name, str) or not client_name.strip():
        raise _invalid("client_name must be a non-empty string")
    jwks_uri = _url(body, "jwks_uri")
    if body.get("token_endpoint_auth_method") != "private_key_jwt":
        raise _invalid("token_endpoint_auth_method must be private_key_jwt")
    if body.get("application_type") not in (None, "", "web"):
        raise _invalid("application_type must be web")
    logo_uri = body.get("logo_uri")
    if logo_uri is not None and not _is_url(logo_uri):
        raise _invalid("logo_uri must be an http(s) URL")
    configuration = _required(body, TOOL_CONFIGURATION)
    if not isinstance(configuration, dict):
        raise _invalid(f"{TOOL_CONFIGURATION} must be an object")
    domain = configuration.get("domain")
    if not isinstance(domain, str) or not domain:
        raise _invalid("the tool configuration must give its domain")
    target_link_uri = configuration.get("target_link_uri")
    if not _is_url(target_link_uri):
        raise _invalid("the tool configuration must give target_link_uri (an http(s) URL)")
    target = urlsplit(target_link_uri)
    if domain.lower() not in ((target.hostname or "").lower(), target.netloc.lower()):
        raise _invalid("domain does not match the host of target_link_uri")
    scope = body.get("scope", "")
    if not isinstance(scope, str):
        raise _invalid("scope must be a space-separated string")
    claims = configuration.get("claims", [])
    if not isinstance(claims, list) or not all(isinstance(claim, str) for claim in claims):
        raise _invalid("claims must be an array of strings")
    custom = configuration.get("custom_parameters") or {}
    if not isinstance(custom, dict) or not all(isinstance(v, str) for v in custom.values()):
        raise _invalid("custom_parameters must be an object of strings")
    messages = configuration.get("messages", [])
    if not isinstance(messages, list) or not all(isinstance(m, dict) and m.get("type") for m in messages):
        raise _invalid("messages must be an array of objects with a type")
    deep_link_uri: str | None = None
    kept_messages = []
    for message in messages:
        if message["type"] not in SUPPORTED_MESSAGES:
            continue  # the answer lists only the messages the platform will send
        uri = message.get("target_link_uri")
        if uri is not None and not _is_url(uri):
            raise _invalid(f"the {message['type']} message's target_link_uri must be an http(s) URL")
        if message["type"] == "LtiDeepLinkingRequest":
            deep_link_uri = uri or target_link_uri
        kept_messages.append(message)
    description = configuration.get("description")
    return {
        "response_types": response_types,
        "grant_types": grant_types,
        "initiate_login_uri": initiate_login_uri,
        "redirect_uris": redirect_uris,
        "client_name": client_name.strip()[:255],
        "jwks_uri": jwks_uri,
        "logo_uri": logo_uri,
        "domain": domain,
        "target_link_uri": target_link_uri,
        "deep_link_uri": deep_link_uri,
        "scopes": [s for s in SERVICE_SCOPES if s in scope.split()],
        "claims": [claim for claim in claims if claim in PERSONAL_CLAIMS],
        "custom_parameters": custom,
        "messages": kept_messages,
        "description": description if isinstance(description, str) else None,
    }


def tool_rows(session: DbSession) -> list[DemoToolRegistration]:
    return list(session.scalars(select(DemoToolRegistration).order_by(DemoToolRegistration.id)))


def registration_start_url(registration_url: str, platform: DemoPlatform, token: str) -> str:
    """The tool's registration URL with ``openid_configuration`` and ``registration_token`` added."""
    return with_query(
        registration_url,
        {"openid_configuration": platform.openid_configuration_url, "registration_token": token},
    )


def _new_client_id() -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(15))  # as Moodle's random_string(15)


def _required(body: Mapping[str, Any], key: str) -> Any:
    value = body.get(key)
    if value in (None, "", [], {}):
        raise _invalid(f"missing required attribute {key}")
    return value


def _url(body: Mapping[str, Any], key: str) -> str:
    value = _required(body, key)
    if not _is_url(value):
        raise _invalid(f"{key} must be an http(s) URL")
    return str(value)


def _is_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _invalid(description: str) -> ServiceError:
    return ServiceError(400, "invalid_client_metadata", description)
