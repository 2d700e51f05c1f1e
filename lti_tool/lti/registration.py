"""LTI Dynamic Registration 1.0, tool side: the LMS admin pastes one URL (``/lti/register``).

Socle reads the platform's OpenID configuration, checks it belongs to the issuer it claims, posts its own
registration with the one-time registration token, and stores the platform it gets back (issuer, client id,
deployment id and the endpoints the configuration names, never guessed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from lti_tool.db import DbSession
from lti_tool.errors import Message, SocleError
from lti_tool.learners import services as learners
from lti_tool.learners.models import Platform
from lti_tool.lti.platform_services import AGS_LINEITEM, AGS_RESULT_READONLY, AGS_SCORE, NRPS_MEMBERSHIPS
from lti_tool.lti.urls import ToolUrls

PLATFORM_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-platform-configuration"
TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
SCOPES = [AGS_LINEITEM, AGS_RESULT_READONLY, AGS_SCORE, NRPS_MEMBERSHIPS]
MAX_CONFIGURATION_BYTES = 256 * 1024


class RegistrationFailed(SocleError):
    status = 400
    code = "registration_failed"
    title = Message("Inscription de Socle impossible", "Socle could not be registered")


def failed(code: str, fr: str, en: str, status: int = 400) -> RegistrationFailed:
    return RegistrationFailed(
        Message(fr, en),
        Message(
            "Vérifiez l'adresse collée dans la plateforme, puis recommencez l'ajout de l'outil depuis la "
            "plateforme (le jeton d'inscription ne sert qu'une fois).",
            "Check the URL pasted in the platform, then add the tool again from the platform (the "
            "registration token works once).",
        ),
        code=code,
        status=status,
    )


@dataclass(frozen=True)
class Registered:
    platform: Platform
    deployment_id: str | None
    platform_name: str | None


def register(
    session: DbSession,
    http: requests.Session,
    urls: ToolUrls,
    configuration_url: str,
    token: str | None,
    timeout: tuple[float, float] = (3.0, 10.0),
) -> Registered:
    """Run the whole exchange; raise RegistrationFailed saying what went wrong, storing nothing."""
    if not configuration_url.startswith(("https://", "http://")):
        raise failed(
            "bad_configuration_url",
            "L'adresse de configuration (openid_configuration) est absente ou invalide.",
            "The configuration URL (openid_configuration) is missing or invalid.",
        )
    try:
        response = http.get(configuration_url, timeout=timeout, headers={"Accept": "application/json"})
    except requests.RequestException as error:
        raise failed(
            "configuration_unreachable",
            "La configuration de la plateforme est injoignable.",
            "The platform's configuration cannot be reached.",
        ) from error
    if response.status_code != 200 or len(response.content) > MAX_CONFIGURATION_BYTES:
        raise failed(
            "configuration_unreachable",
            f"La configuration de la plateforme a répondu HTTP {response.status_code}.",
            f"The platform's configuration answered HTTP {response.status_code}.",
        )
    try:
        config: dict[str, Any] = response.json()
        issuer = str(config["issuer"])
        endpoints = {
            name: str(config[name])
            for name in ("authorization_endpoint", "token_endpoint", "jwks_uri", "registration_endpoint")
        }
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as error:
        raise failed(
            "bad_configuration",
            "La configuration de la plateforme est incomplète (issuer ou points d'accès manquants).",
            "The platform's configuration is incomplete (issuer or endpoints missing).",
        ) from error
    if not _belongs_to(configuration_url, issuer):
        raise failed(
            "issuer_mismatch",
            f"La configuration annonce l'émetteur {issuer}, qui n'est pas l'adresse d'où elle vient : "
            "elle est refusée.",
            f"The configuration claims issuer {issuer}, which is not where it comes from: it is refused.",
        )
    body = {
        "application_type": "web",
        "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": urls.login,
        "redirect_uris": [urls.launch],
        "client_name": "Socle",
        "jwks_uri": urls.jwks,
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": " ".join(SCOPES),
        TOOL_CONFIGURATION: {
            "domain": urlsplit(urls.base).netloc,
            "target_link_uri": urls.launch,
            "description": "Modules AFF, autodiagnostic et certificat d'aptitude (modèles socio-économiques)",
            "claims": ["iss", "sub", "name", "given_name", "family_name", "email"],
            "messages": [
                {
                    "type": "LtiDeepLinkingRequest",
                    "target_link_uri": urls.launch,
                    "label": "Socle : ajouter du contenu",
                }
            ],
        },
    }
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        answer = http.post(endpoints["registration_endpoint"], json=body, headers=headers, timeout=timeout)
    except requests.RequestException as error:
        raise failed(
            "registration_unreachable",
            "La plateforme n'a pas répondu à l'inscription.",
            "The platform did not answer the registration.",
        ) from error
    if answer.status_code not in (200, 201):
        raise failed(
            "registration_refused",
            f"La plateforme a refusé l'inscription (HTTP {answer.status_code}) : {answer.text[:300]}",
            f"The platform refused the registration (HTTP {answer.status_code}): {answer.text[:300]}",
        )
    try:
        registered = answer.json()
        client_id = str(registered["client_id"])
        tool_configuration = registered.get(TOOL_CONFIGURATION) or {}
        deployment = tool_configuration.get("deployment_id")
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as error:
        raise failed(
            "registration_refused",
            "La réponse de la plateforme ne contient pas de client_id.",
            "The platform's answer carries no client_id.",
        ) from error
    product = (config.get(PLATFORM_CONFIGURATION) or {}).get("product_family_code")
    platform = learners.register_platform(
        session,
        learners.PlatformSpec(
            issuer=issuer,
            client_id=client_id,
            auth_login_url=endpoints["authorization_endpoint"],
            auth_token_url=endpoints["token_endpoint"],
            key_set_url=endpoints["jwks_uri"],
            deployment_ids=[str(deployment)] if deployment else [],
            source="dynamic",
            name=str(product) if product else None,
        ),
    )
    return Registered(platform, str(deployment) if deployment else None, str(product) if product else None)


def _belongs_to(configuration_url: str, issuer: str) -> bool:
    """The configuration must come from the issuer's own origin (and under its path, if it has one)."""
    config, iss = urlsplit(configuration_url), urlsplit(issuer)
    if not iss.netloc or (config.scheme, config.netloc) != (iss.scheme, iss.netloc):
        return False
    return config.path == iss.path or config.path.startswith(iss.path.rstrip("/") + "/")
