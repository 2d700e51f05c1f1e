"""LTI Dynamic Registration 1.0, tool side: the LMS admin pastes one URL (``/lti/register?token=…``).

Only the operator opens the door: ``flask --app lti_tool platform invite`` makes a one-time, expiring
invitation whose URL the platform's administrator pastes; the platform appends its ``openid_configuration``
and its own ``registration_token`` (which Socle sends back as the bearer of its registration request).
Without a valid invitation Socle makes no request at all.

Socle reads the platform's OpenID configuration, checks it belongs to the issuer it claims, posts its own
registration, and stores the platform it gets back (issuer, client id, deployment id and the endpoints the
configuration names, never guessed). A registration never replaces or alters an existing one: a new client
of a known issuer is accepted only with that issuer's registered endpoints and key set; anything else is the
operator's act (``platform add``). Remote answers are never shown: the page says what failed, the log keeps
a short, token-free excerpt.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from lti_tool import outbound
from lti_tool.db import DbSession, utcnow
from lti_tool.errors import Message, SocleError
from lti_tool.learners import services as learners
from lti_tool.learners.models import Platform
from lti_tool.lti.models import RegistrationInvite
from lti_tool.lti.platform_services import AGS_LINEITEM, AGS_RESULT_READONLY, AGS_SCORE, NRPS_MEMBERSHIPS
from lti_tool.lti.urls import ToolUrls

PLATFORM_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-platform-configuration"
TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
SCOPES = [AGS_LINEITEM, AGS_RESULT_READONLY, AGS_SCORE, NRPS_MEMBERSHIPS]
MAX_CONFIGURATION_BYTES = 256 * 1024

log = logging.getLogger(__name__)


class RegistrationFailed(SocleError):
    status = 400
    code = "registration_failed"
    title = Message("Inscription de Socle impossible", "Socle could not be registered")


def failed(code: str, fr: str, en: str, status: int = 400) -> RegistrationFailed:
    return RegistrationFailed(
        Message(fr, en),
        Message(
            "Vérifiez l'adresse collée dans la plateforme, puis recommencez l'ajout de l'outil depuis la "
            "plateforme : l'invitation reste valable jusqu'à son expiration tant qu'aucune inscription n'a "
            "réussi.",
            "Check the URL pasted in the platform, then add the tool again from the platform: the invitation "
            "stays valid until it expires as long as no registration succeeded.",
        ),
        code=code,
        status=status,
    )


class InviteRefused(SocleError):
    status = 403
    code = "invite_refused"
    title = Message("Invitation nécessaire", "Invitation needed")


GET_AN_INVITE = Message(
    "Demandez à l'exploitant de Socle une nouvelle invitation (commande « flask --app lti_tool platform "
    "invite --name <nom de la plateforme> ») et collez l'adresse qu'elle affiche, …/lti/register?token=…, "
    "comme URL de l'outil dans la plateforme.",
    "Ask Socle's operator for a new invitation (command `flask --app lti_tool platform invite --name "
    "<platform name>`) and paste the URL it prints, …/lti/register?token=…, as the tool URL in the "
    "platform.",
)


def refused_invite(code: str, fr: str, en: str) -> InviteRefused:
    return InviteRefused(Message(fr, en), GET_AN_INVITE, code=code)


class RegistrationExists(SocleError):
    status = 409
    code = "registration_exists"
    title = Message("Inscription déjà faite", "Already registered")


OPERATOR_CHANGES_IT = Message(
    "Une inscription existante ne se modifie pas par l'enregistrement dynamique. Si la plateforme a "
    "vraiment changé (nouvelles clés, nouvelle adresse, nouveau client), demandez à l'exploitant de Socle "
    "de l'enregistrer (« flask --app lti_tool platform add … »).",
    "Dynamic Registration never changes an existing registration. If the platform really changed (new "
    "keys, new address, new client), ask Socle's operator to record it (`flask --app lti_tool platform "
    "add …`).",
)


# -- invitations (the operator's CLI makes them; the register route checks and consumes them)
def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class NewInvite:
    invite: RegistrationInvite
    url: str


def create_invite(session: DbSession, urls: ToolUrls, name: str, lifetime: timedelta) -> NewInvite:
    """A one-time invitation to register; returns the URL to paste (the token is shown this once)."""
    token = secrets.token_urlsafe(32)
    invite = RegistrationInvite(
        name=name.strip()[:255], token_hash=_hash(token), created_at=utcnow(), expires_at=utcnow() + lifetime
    )
    session.add(invite)
    session.flush()
    return NewInvite(invite, f"{urls.register}?{urlencode({'token': token})}")


def list_invites(session: DbSession) -> list[RegistrationInvite]:
    return list(session.scalars(select(RegistrationInvite).order_by(RegistrationInvite.id)))


def invite_state(invite: RegistrationInvite, now: datetime | None = None) -> str:
    if invite.used_at is not None:
        return "used"
    return "expired" if invite.expires_at <= (now or utcnow()) else "open"


def usable_invite(session: DbSession, token: str | None) -> RegistrationInvite:
    """The invitation this token names, if it can still be used; else a refusal saying how to get one."""
    if not token:
        raise refused_invite(
            "invite_missing",
            "Socle ne s'inscrit dans une plateforme que sur invitation de son exploitant : l'adresse collée "
            "n'en contient pas (paramètre token).",
            "Socle registers with a platform only when its operator invites it: the pasted URL carries no "
            "invitation (token parameter).",
        )
    invite = session.scalar(select(RegistrationInvite).where(RegistrationInvite.token_hash == _hash(token)))
    if invite is None:
        raise refused_invite(
            "invite_unknown",
            "Cette invitation n'existe pas (adresse incomplète ou mal copiée).",
            "This invitation does not exist (the URL is incomplete or mistyped).",
        )
    state = invite_state(invite)
    if state == "used":
        raise refused_invite(
            "invite_used",
            "Cette invitation a déjà servi : chaque invitation n'inscrit qu'une plateforme, une fois.",
            "This invitation was already used: each invitation registers one platform, once.",
        )
    if state == "expired":
        raise refused_invite("invite_expired", "Cette invitation a expiré.", "This invitation has expired.")
    return invite


def _consume(session: DbSession, invite: RegistrationInvite, platform: Platform) -> None:
    """Mark the invitation used, atomically: of two registrations racing on it, one only is kept."""
    now = utcnow()
    done = session.execute(
        update(RegistrationInvite)
        .where(
            RegistrationInvite.id == invite.id,
            RegistrationInvite.used_at.is_(None),
            RegistrationInvite.expires_at > now,
        )
        .values(used_at=now, platform_id=platform.id)
        .execution_options(synchronize_session=False)
    )
    if not done.rowcount:  # type: ignore[attr-defined]
        raise refused_invite(
            "invite_used",
            "Cette invitation vient de servir ou d'expirer pendant l'inscription.",
            "This invitation was used or expired during the registration.",
        )


def _unreachable(code: str, what: Message, error: requests.RequestException) -> RegistrationFailed:
    """Say why a request to the platform failed, without anything the remote server sent."""
    if isinstance(error, outbound.DestinationRefused):
        reason = Message(
            " (l'adresse mène à un réseau interne : refusée)",
            " (the address leads to an internal network: refused)",
        )
    elif isinstance(error, outbound.RedirectRefused):
        reason = Message(
            " (redirection vers un autre site, refusée)", " (redirected to another site, refused)"
        )
    elif isinstance(error, outbound.ResponseTooLarge):
        reason = Message(" (réponse trop volumineuse)", " (answer too large)")
    else:
        reason = Message("", "")
    log.warning("registration: %s (%s)", code, type(error).__name__)
    return failed(code, what.fr.rstrip(".") + reason.fr + ".", what.en.rstrip(".") + reason.en + ".")


@dataclass(frozen=True)
class Registered:
    platform: Platform
    deployment_id: str | None
    platform_name: str | None


def register(
    session: DbSession,
    http: requests.Session,
    urls: ToolUrls,
    invite_token: str | None,
    configuration_url: str,
    token: str | None,
    timeout: tuple[float, float] = (3.0, 10.0),
) -> Registered:
    """Run the whole exchange; raise RegistrationFailed saying what went wrong, storing nothing."""
    # The invitation first: without one, Socle sends no request anywhere.
    invite = usable_invite(session, invite_token)
    if not configuration_url.startswith(("https://", "http://")) or len(configuration_url) > 2048:
        raise failed(
            "bad_configuration_url",
            "L'adresse de configuration (openid_configuration) est absente ou invalide.",
            "The configuration URL (openid_configuration) is missing or invalid.",
        )
    try:
        response = http.get(configuration_url, timeout=timeout, headers={"Accept": "application/json"})
    except requests.RequestException as error:
        raise _unreachable(
            "configuration_unreachable",
            Message(
                "La configuration de la plateforme est injoignable.",
                "The platform's configuration cannot be reached.",
            ),
            error,
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
    if not _belongs_to(configuration_url, issuer) or not _belongs_to(response.url, issuer):
        raise failed(
            "issuer_mismatch",
            f"La configuration annonce l'émetteur {issuer[:200]}, qui n'est pas l'adresse d'où elle "
            "vient : elle est refusée.",
            f"The configuration claims issuer {issuer[:200]}, which is not where it comes from: it is "
            "refused.",
        )
    # Every endpoint the registration will keep, and the one Socle posts to, is an http(s) URL that fits
    # its column (a longer one would fail in the database instead of being refused here).
    if len(issuer) > 255 or not all(
        url.startswith(("https://", "http://")) and len(url) <= 1024 for url in endpoints.values()
    ):
        raise failed(
            "bad_configuration",
            "La configuration de la plateforme donne un émetteur ou des points d'accès invalides (adresses "
            "http(s) de 1024 caractères au plus, émetteur de 255 au plus).",
            "The platform's configuration gives an invalid issuer or endpoints (http(s) URLs of at most 1024 "
            "characters, an issuer of at most 255).",
        )
    if not outbound.same_origin(endpoints["registration_endpoint"], issuer):
        # Socle posts there with the platform's token: only to the platform itself, never a third server.
        raise failed(
            "bad_configuration",
            "Le point d'inscription (registration_endpoint) n'est pas sur le site de la plateforme.",
            "The registration endpoint is not on the platform's own site.",
        )
    _refuse_changes_to(session, issuer, endpoints)
    body = {
        "application_type": "web",
        "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": urls.login,
        "redirect_uris": [urls.launch],
        "client_name": "Socle",
        "logo_uri": urls.icon,
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
    # The platform's own registration token (Dynamic Registration), not Socle's invitation.
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        answer = http.post(endpoints["registration_endpoint"], json=body, headers=headers, timeout=timeout)
    except requests.RequestException as error:
        raise _unreachable(
            "registration_unreachable",
            Message(
                "La plateforme n'a pas répondu à l'inscription.",
                "The platform did not answer the registration.",
            ),
            error,
        ) from error
    if answer.status_code not in (200, 201):
        # What the platform said stays in the log (short, tokens cut out), never on the page.
        log.warning(
            "registration refused by the platform: HTTP %s: %s",
            answer.status_code,
            outbound.excerpt(answer.text),
        )
        raise failed(
            "registration_refused",
            f"La plateforme a refusé l'inscription (HTTP {answer.status_code}).",
            f"The platform refused the registration (HTTP {answer.status_code}).",
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
    if not client_id or len(client_id) > 255 or (deployment is not None and len(str(deployment)) > 255):
        raise failed(
            "registration_refused",
            "La réponse de la plateforme donne un client_id ou un déploiement invalide.",
            "The platform's answer gives an invalid client_id or deployment.",
        )
    if any(
        p.client_id == client_id for p in learners.platforms_of_issuer(session, issuer, include_inactive=True)
    ):
        raise RegistrationExists(
            Message(
                f"Socle est déjà inscrit pour {issuer[:200]} avec le client {client_id[:64]} : cette "
                "inscription n'est ni remplacée ni modifiée.",
                f"Socle is already registered for {issuer[:200]} with client {client_id[:64]}: that "
                "registration is neither replaced nor changed.",
            ),
            OPERATOR_CHANGES_IT,
        )
    platform_configuration = config.get(PLATFORM_CONFIGURATION)
    product = (
        platform_configuration.get("product_family_code")
        if isinstance(platform_configuration, dict)
        else None
    )
    try:
        # A savepoint: a registration racing this one for the same client fails here, cleanly.
        with session.begin_nested():
            platform = _create(session, issuer, client_id, endpoints, deployment, product, invite)
    except IntegrityError as error:
        raise RegistrationExists(
            Message(
                f"Socle vient d'être inscrit pour {issuer[:200]} avec ce client.",
                f"Socle was just registered for {issuer[:200]} with this client.",
            ),
            OPERATOR_CHANGES_IT,
        ) from error
    _consume(session, invite, platform)
    log.info("registration: invitation %s registered platform %s", invite.id, platform.id)
    return Registered(platform, str(deployment) if deployment else None, str(product) if product else None)


def _create(
    session: DbSession,
    issuer: str,
    client_id: str,
    endpoints: dict[str, str],
    deployment: Any,
    product: Any,
    invite: RegistrationInvite,
) -> Platform:
    return learners.register_platform(
        session,
        learners.PlatformSpec(
            issuer=issuer,
            client_id=client_id,
            auth_login_url=endpoints["authorization_endpoint"],
            auth_token_url=endpoints["token_endpoint"],
            key_set_url=endpoints["jwks_uri"],
            deployment_ids=[str(deployment)] if deployment else [],
            source="dynamic",
            name=str(product)[:255] if product else invite.name,
        ),
    )


def _refuse_changes_to(session: DbSession, issuer: str, endpoints: dict[str, str]) -> None:
    """A known issuer may add a client only with the endpoints and key set it is registered with: a
    stranger who serves a configuration on the issuer's site (an open redirect, an uploaded file) must not
    bring its own keys, and a real change of keys is the operator's act."""
    for known in learners.platforms_of_issuer(session, issuer, include_inactive=True):
        if (known.auth_login_url, known.auth_token_url, known.key_set_url) != (
            endpoints["authorization_endpoint"],
            endpoints["token_endpoint"],
            endpoints["jwks_uri"],
        ):
            raise RegistrationExists(
                Message(
                    f"{issuer[:200]} est déjà inscrit avec d'autres adresses (clés, connexion ou jetons) : "
                    "l'inscription est refusée et l'existante reste telle quelle.",
                    f"{issuer[:200]} is already registered with other addresses (keys, login or tokens): "
                    "the registration is refused and the existing one stays as it is.",
                ),
                OPERATOR_CHANGES_IT,
                code="registration_differs",
            )


def _belongs_to(configuration_url: str, issuer: str) -> bool:
    """The configuration must come from the issuer's own origin (and under its path, if it has one)."""
    config, iss = urlsplit(configuration_url), urlsplit(issuer)
    if not iss.netloc or (config.scheme, config.netloc) != (iss.scheme, iss.netloc):
        return False
    return config.path == iss.path or config.path.startswith(iss.path.rstrip("/") + "/")
