"""Strict validation of an LTI 1.3 launch (``/lti/launch``), on top of pylti1p3's MessageLaunch.

pylti1p3 2.0.0 accepts many bad launches (see shared/specs/lti-launch-validation.md). This subclass runs
every check itself, in an order where nothing is consumed before the signature is proven:
state (and our cookie) -> token format -> registration and audience -> signature, alg, exp/iat with
leeway -> one-time nonce -> deployment -> message claims. Each refusal is a ``LaunchRejected`` that says
what is wrong and what to do; none is a 500.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any, TypeGuard
from urllib.parse import urlencode

import jwt
import requests
from pylti1p3.contrib.flask import FlaskCookieService, FlaskMessageLaunch, FlaskRequest
from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Engine

from lti_tool.db import DbSession, utcnow
from lti_tool.errors import CookiesBlocked, LaunchRejected, Message
from lti_tool.inputs import MAX_JSON_DEPTH, bad_text, json_depth_exceeds, json_strings_bad
from lti_tool.keys import KeyStore
from lti_tool.learners import services as learners
from lti_tool.learners.models import Deployment, Platform
from lti_tool.lti import claims as c
from lti_tool.lti.adapters import DbSessionService, DbToolConf, registration_for
from lti_tool.lti.context import DEEP_LINKING_REQUEST, RESOURCE_LINK_REQUEST
from lti_tool.lti.jwks import JwksPolicy, JwksUnavailable, find_key
from lti_tool.lti.models import LoginState
from lti_tool.lti.urls import ToolUrls

SUPPORTED_MESSAGES = (RESOURCE_LINK_REQUEST, DEEP_LINKING_REQUEST)

RELAUNCH = Message(
    "Revenez à votre cours et relancez l'activité.",
    "Go back to your course and launch the activity again.",
)
ASK_ADMIN = Message(
    "Transmettez ce message à l'administrateur de votre plateforme (Moodle…) : l'outil Socle y est "
    "peut-être mal configuré.",
    "Pass this message on to your platform (Moodle…) administrator: Socle may be misconfigured there.",
)


def reject(code: str, fr: str, en: str, todo: Message = RELAUNCH, status: int = 400) -> LaunchRejected:
    return LaunchRejected(Message(fr, en), todo, code=code, status=status)


@dataclass(frozen=True)
class LaunchSettings:
    urls: ToolUrls
    leeway_seconds: int
    max_token_bytes: int
    jwks: JwksPolicy
    # The app's secret key: the state cookie's value is derived from it (see ``state_cookie_value``).
    secret_key: str
    # An id_token's exp may be at most this far past its iat (Moodle sends 60 seconds).
    max_token_lifetime_seconds: int = 600


@dataclass(frozen=True)
class ValidatedLaunch:
    """The result of a launch that passed every check."""

    platform: Platform
    deployment: Deployment
    claims: dict[str, Any]
    # Proven by the secret in the platform's storage, the browser having dropped our cookie: the launch
    # cannot be bound to a cookie, so its id serves as a short-lived bearer token.
    via_platform_storage: bool = False


class NeedsPlatformStorage(Exception):  # noqa: N818 - a step of the flow, not an error
    """No cookie, but the login used the platform's storage: the page must fetch the secret from it."""

    def __init__(self, login: LoginState) -> None:
        super().__init__("fetch the login secret from the platform's storage")
        self.login = login


class StrictMessageLaunch(FlaskMessageLaunch):
    def __init__(
        self,
        session: DbSession,
        engine: Engine,
        keys: KeyStore,
        http: requests.Session,
        settings: LaunchSettings,
    ) -> None:
        request = FlaskRequest()
        self._db = session
        self._engine = engine
        self._keys = keys
        self._http = http
        self._settings = settings
        self._login: LoginState | None = None
        self._header: dict[str, Any] = {}
        self._claims: dict[str, Any] = {}
        self._platform: Platform | None = None
        self._deployment: Deployment | None = None
        self._known_deployment: Deployment | None = None
        self._via_storage = False
        super().__init__(
            request,
            DbToolConf(session, keys),
            session_service=DbSessionService(request, session, 0),
            cookie_service=BoundStateCookies(request, settings.secret_key),
            requests_session=http,
        )

    # -- the whole check ---------------------------------------------------------------------------
    def validate_strictly(self) -> ValidatedLaunch:
        """Run every check; return what the launch proves, or raise LaunchRejected."""
        # Mark as validated first: pylti1p3's getters would otherwise re-enter validate().
        self._validated = True
        try:
            self.validate_state()
            self.validate_jwt_format()
            self.validate_registration()
            self.validate_jwt_signature()
            self.validate_nonce()
            self.validate_deployment()
            self.validate_message()
        except Exception:
            self._validated = False
            raise
        assert self._platform is not None and self._deployment is not None
        return ValidatedLaunch(
            self._platform, self._deployment, dict(self._claims), via_platform_storage=self._via_storage
        )

    def validate(self) -> StrictMessageLaunch:
        self.validate_strictly()
        return self

    # -- state: the login we started, in this browser --------------------------------------------------
    def validate_state(self) -> StrictMessageLaunch:
        id_token = self._get_request_param("id_token")
        state = self._get_request_param("state")
        if not id_token:
            raise reject(
                "missing_id_token",
                "La requête de lancement ne contient pas de jeton d'identité (id_token).",
                "The launch request carries no identity token (id_token).",
            )
        if len(id_token.encode("utf-8")) > self._settings.max_token_bytes:
            raise reject(
                "token_too_large",
                "Le jeton d'identité est anormalement volumineux ; il a été refusé sans être lu.",
                "The identity token is abnormally large; it was refused unread.",
                ASK_ADMIN,
            )
        if not state:
            raise reject(
                "missing_state",
                "La requête de lancement ne contient pas le paramètre « state » de la connexion.",
                "The launch request carries no login « state » parameter.",
            )
        # With the login, the deployment the token names (read unverified, only to fetch it in the same
        # query; validate_deployment uses it once the signature is proven).
        claimed_deployment = _unverified_claim(id_token, c.DEPLOYMENT_ID)
        row = self._db.execute(
            _LOGIN, {"login_state": state[:96], "deployment_id": claimed_deployment}
        ).one_or_none()
        login, self._known_deployment = row if row is not None else (None, None)
        if login is None or login.state != state:
            raise reject(
                "unknown_state",
                "Ce lancement ne correspond à aucune connexion ouverte par Socle.",
                "This launch does not answer any login that Socle started.",
            )
        if login.used_at is not None:
            raise reject(
                "replayed_launch",
                "Ce lancement a déjà été utilisé ; un lancement ne sert qu'une fois.",
                "This launch was already used; a launch can be used only once.",
            )
        if login.expires_at <= utcnow():
            raise reject(
                "login_expired",
                "La connexion a expiré avant le lancement.",
                "The login expired before the launch arrived.",
            )
        cookie = self._cookie_service.get_cookie(state)
        if cookie is None and login.storage_secret:
            # Cookie-less launch: the proof is the secret the login put in the platform's storage.
            offered = self._get_request_param("lti_storage_value")
            if offered is None:
                raise NeedsPlatformStorage(login)
            if offered:
                if not hmac.compare_digest(offered, login.storage_secret):
                    raise reject(
                        "storage_mismatch",
                        "Ce lancement ne vient pas du navigateur qui a ouvert la connexion.",
                        "This launch does not come from the browser that started the login.",
                    )
                self._login = login
                self._via_storage = True
                return self
            # An empty value: the platform's storage did not answer; offer the new window below.
        if cookie is None:
            raise CookiesBlocked(
                Message(
                    "Votre navigateur n'a pas renvoyé le cookie de connexion : il bloque probablement les "
                    "cookies des contenus intégrés.",
                    "Your browser did not send back the login cookie: it probably blocks cookies in "
                    "embedded content.",
                ),
                Message(
                    "Ouvrez l'activité dans une nouvelle fenêtre, ou autorisez les cookies pour ce site.",
                    "Open the activity in a new window, or allow cookies for this site.",
                ),
                retry_url=self._settings.urls.login
                + "?"
                + urlencode({k: v for k, v in login.login_params.items() if k != "lti_storage_target"}),
            )
        if not hmac.compare_digest(
            cookie.encode("utf-8"), state_cookie_value(self._settings.secret_key, state)
        ):
            # Also a cookie forged from the state alone (the state travels in the page): case S9d.
            raise reject(
                "state_mismatch",
                "Ce lancement a été ouvert dans un autre navigateur que la connexion.",
                "This launch was opened in another browser than its login.",
            )
        self._login = login
        return self

    # -- format --------------------------------------------------------------------------------------
    def validate_jwt_format(self) -> StrictMessageLaunch:
        parts = self._get_id_token().split(".")
        if len(parts) != 3:
            raise reject(
                "malformed_token",
                "Le jeton d'identité n'est pas un JWT (il doit avoir trois parties).",
                "The identity token is not a JWT (it must have three parts).",
                ASK_ADMIN,
            )
        try:
            header = json.loads(_b64url(parts[0]))
            body = json.loads(_b64url(parts[1]))
        except (ValueError, binascii.Error, UnicodeDecodeError, RecursionError) as error:
            # RecursionError: JSON nested deeper than the decoder follows (still within the size limit).
            raise reject(
                "malformed_token",
                "Le jeton d'identité ne peut pas être décodé.",
                "The identity token cannot be decoded.",
                ASK_ADMIN,
            ) from error
        if not isinstance(header, dict) or not isinstance(body, dict):
            raise reject(
                "not_lti_message",
                "Le jeton reçu n'est pas un message LTI.",
                "The token received is not an LTI message.",
                ASK_ADMIN,
            )
        # Claims are stored as JSON and in text columns: a claim nested deeper than any LTI message
        # (json.dumps would recurse until RecursionError), a NUL or a lone surrogate (neither UTF-8 nor
        # PostgreSQL text can hold them) is refused here, before any of them reaches a query.
        if json_depth_exceeds(header) or json_depth_exceeds(body):
            raise reject(
                "malformed_claim",
                f"Le jeton d'identité est imbriqué trop profondément (plus de {MAX_JSON_DEPTH} niveaux).",
                f"The identity token is nested too deeply (over {MAX_JSON_DEPTH} levels).",
                ASK_ADMIN,
            )
        for name, value in (*header.items(), *body.items()):
            if json_strings_bad(name) or json_strings_bad(value):
                shown = name.rsplit("/", 1)[-1] if not bad_text(name) else "?"
                raise reject(
                    "malformed_claim",
                    f"Le claim « {shown} » du jeton contient un caractère invalide (NUL ou demi-caractère).",
                    f"The token's « {shown} » claim holds an invalid character (NUL or half a character).",
                    ASK_ADMIN,
                )
        self._header, self._claims = header, body
        # pylti1p3's own getters (deep linking, AGS, NRPS) read the decoded token from here.
        self._jwt = {"header": header, "body": body}  # type: ignore[typeddict-item]
        return self

    # -- registration and audience -------------------------------------------------------------------
    def validate_registration(self) -> StrictMessageLaunch:
        assert self._login is not None
        body = self._claims
        iss = body.get("iss")
        if not isinstance(iss, str) or not iss:
            raise reject(
                "missing_iss",
                "Le jeton ne dit pas quelle plateforme l'a émis (claim « iss » absent).",
                "The token does not say which platform issued it (no « iss » claim).",
                ASK_ADMIN,
            )
        platform = self._login.platform
        if platform is None or not platform.is_active or platform.issuer != iss:
            raise reject(
                "unknown_issuer",
                "Le jeton vient d'une plateforme qui n'est pas celle de la connexion, ou qui n'est pas "
                "enregistrée dans Socle.",
                "The token comes from a platform other than the login's, or one not registered in Socle.",
                ASK_ADMIN,
            )
        aud = body.get("aud")
        audiences = [aud] if isinstance(aud, str) else aud
        if not isinstance(audiences, list) or not audiences or not all(isinstance(a, str) for a in audiences):
            raise reject(
                "missing_aud",
                "Le jeton ne dit pas à quel outil il est destiné (claim « aud » absent ou invalide).",
                "The token does not say which tool it is for (« aud » claim missing or invalid).",
                ASK_ADMIN,
            )
        if platform.client_id not in audiences:
            raise reject(
                "unknown_client",
                "Le jeton est destiné à un autre outil (client_id inconnu de Socle pour cette plateforme).",
                "The token is meant for another tool (client_id unknown to Socle for this platform).",
                ASK_ADMIN,
            )
        if len(audiences) > 1:
            raise reject(
                "untrusted_audience",
                "Le jeton est aussi destiné à d'autres destinataires que Socle ; il est refusé.",
                "The token is also addressed to audiences other than Socle; it is refused.",
                ASK_ADMIN,
            )
        azp = body.get("azp")
        if azp is not None and azp != platform.client_id:
            raise reject(
                "azp_mismatch",
                "Le jeton a été émis pour un autre outil (claim « azp »).",
                "The token was issued for another tool (« azp » claim).",
                ASK_ADMIN,
            )
        self._platform = platform
        self._registration = registration_for(platform, self._keys)
        return self

    # -- signature -----------------------------------------------------------------------------------
    def validate_jwt_signature(self) -> StrictMessageLaunch:
        assert self._platform is not None
        header = self._header
        if header.get("alg") != "RS256":
            raise reject(
                "bad_algorithm",
                "Le jeton n'est pas signé en RS256, seul algorithme accepté.",
                "The token is not signed with RS256, the only algorithm accepted.",
                ASK_ADMIN,
            )
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise reject(
                "missing_kid",
                "L'en-tête du jeton ne nomme pas sa clé de signature (kid).",
                "The token header does not name its signing key (kid).",
                ASK_ADMIN,
            )
        try:
            key = find_key(
                self._platform, kid, engine=self._engine, http=self._http, policy=self._settings.jwks
            )
        except JwksUnavailable as error:
            raise reject(
                "jwks_unavailable",
                "Les clés publiques de la plateforme sont injoignables ; la signature ne peut être vérifiée.",
                "The platform's public keys cannot be fetched; the signature cannot be checked.",
                Message(
                    "Réessayez dans un instant ; si cela persiste, "
                    + ASK_ADMIN.fr[0].lower()
                    + ASK_ADMIN.fr[1:],
                    "Try again in a moment; if it persists, " + ASK_ADMIN.en[0].lower() + ASK_ADMIN.en[1:],
                ),
                status=400,
            ) from error
        if key is None:
            raise reject(
                "unknown_kid",
                "La clé qui a signé le jeton ne figure pas parmi les clés publiées par la plateforme.",
                "The key that signed the token is not among the platform's published keys.",
                ASK_ADMIN,
            )
        try:
            public_key = _public_key(json.dumps(key, sort_keys=True))
        except (jwt.PyJWTError, ValueError, TypeError) as error:
            # The platform publishes a key by that kid that is no RSA public key (no "n", a bad "e"…).
            raise reject(
                "bad_platform_key",
                "La clé publiée par la plateforme pour ce jeton est mal formée ; la signature ne peut être "
                "vérifiée.",
                "The key the platform publishes for this token is malformed; "
                "the signature cannot be checked.",
                ASK_ADMIN,
            ) from error
        try:
            jwt.decode(
                self._get_id_token(),
                public_key,
                algorithms=["RS256"],
                options={"verify_aud": False, "require": ["exp", "iat"]},
                leeway=self._settings.leeway_seconds,
            )
        except jwt.MissingRequiredClaimError as error:
            raise reject(
                "missing_time_claim",
                f"Le jeton n'indique pas sa date ({error.claim}) ; sa fraîcheur ne peut être vérifiée.",
                f"The token has no {error.claim} claim; its freshness cannot be checked.",
                ASK_ADMIN,
            ) from error
        except jwt.ExpiredSignatureError as error:
            raise reject(
                "token_expired",
                "Le jeton a expiré : le lancement est arrivé trop tard, ou l'horloge d'un serveur dérive.",
                "The token has expired: the launch arrived too late, or a server clock is off.",
            ) from error
        except jwt.ImmatureSignatureError as error:
            raise reject(
                "token_not_yet_valid",
                "Le jeton est daté du futur : l'horloge de la plateforme est en avance.",
                "The token is dated in the future: the platform's clock is ahead.",
                ASK_ADMIN,
            ) from error
        except jwt.exceptions.InvalidSubjectError as error:
            raise reject(
                "missing_sub",
                "Le jeton n'identifie pas l'utilisateur (claim « sub » absent ou vide).",
                "The token does not identify the user (« sub » claim missing or empty).",
                ASK_ADMIN,
            ) from error
        except jwt.InvalidSignatureError as error:
            raise reject(
                "bad_signature",
                "La signature du jeton est invalide : il a été modifié ou signé par une autre clé.",
                "The token's signature is invalid: it was altered or signed by another key.",
                ASK_ADMIN,
            ) from error
        except jwt.InvalidTokenError as error:
            raise reject(
                "invalid_token",
                "Le jeton d'identité est invalide.",
                "The identity token is invalid.",
                ASK_ADMIN,
            ) from error
        self._check_lifetime()
        return self

    def _check_lifetime(self) -> None:
        """exp and iat are numbers (PyJWT also takes "9999999999"), and exp is at most a few minutes past
        iat: a token valid for years would be a standing credential for whoever copies it."""
        exp, iat = self._claims.get("exp"), self._claims.get("iat")
        if not _is_number(exp) or not _is_number(iat):
            raise reject(
                "bad_time_claim",
                "Les dates du jeton (exp, iat) ne sont pas des nombres.",
                "The token's dates (exp, iat) are not numbers.",
                ASK_ADMIN,
            )
        if exp - iat > self._settings.max_token_lifetime_seconds + self._settings.leeway_seconds:
            raise reject(
                "token_lifetime",
                "Le jeton est valable bien trop longtemps (exp trop loin après iat) ; il est refusé.",
                "The token is valid for far too long (exp too far after iat); it is refused.",
                ASK_ADMIN,
            )

    # -- nonce: once, whatever the browser or worker ---------------------------------------------------
    def validate_nonce(self) -> StrictMessageLaunch:
        assert self._login is not None
        nonce = self._claims.get("nonce")
        if not isinstance(nonce, str) or nonce != self._login.nonce:
            raise reject(
                "unknown_nonce",
                "Le jeton ne porte pas le nonce émis par Socle pour cette connexion.",
                "The token does not carry the nonce Socle issued for this login.",
            )
        now = utcnow()
        consumed = self._db.connection().execute(
            _CONSUME_LOGIN, {"login_state": self._login.state, "now": now}
        )
        if consumed.rowcount != 1:
            raise reject(
                "replayed_launch",
                "Ce lancement a déjà été utilisé ; un lancement ne sert qu'une fois.",
                "This launch was already used; a launch can be used only once.",
            )
        return self

    # -- deployment ------------------------------------------------------------------------------------
    def validate_deployment(self) -> StrictMessageLaunch:
        assert self._platform is not None and self._login is not None
        deployment_id = self._claims.get(c.DEPLOYMENT_ID)
        if not isinstance(deployment_id, str) or not deployment_id:
            raise reject(
                "missing_deployment",
                "Le jeton ne précise pas le déploiement (deployment_id).",
                "The token carries no deployment_id.",
                ASK_ADMIN,
            )
        known = self._known_deployment
        if (
            known is not None
            and known.deployment_id == deployment_id
            and known.platform_id == self._platform.id
        ):
            deployment: Deployment | None = known
        else:
            deployment = learners.find_deployment(self._db, self._platform.id, deployment_id)
        if deployment is None:
            raise reject(
                "unknown_deployment",
                "Ce déploiement de l'outil n'est pas enregistré dans Socle pour cette plateforme.",
                "This deployment of the tool is not registered in Socle for this platform.",
                ASK_ADMIN,
                status=403,
            )
        login_deployment = self._login.login_params.get("lti_deployment_id")
        if login_deployment and login_deployment != deployment_id:
            raise reject(
                "deployment_mismatch",
                "Le déploiement du jeton diffère de celui annoncé à la connexion.",
                "The token's deployment differs from the one announced at login.",
                ASK_ADMIN,
            )
        self._deployment = deployment
        return self

    # -- message claims ----------------------------------------------------------------------------------
    def validate_message(self) -> StrictMessageLaunch:
        body = self._claims
        version = body.get(c.VERSION)
        if version is None:
            raise reject(
                "missing_version",
                "Le jeton ne précise pas la version LTI.",
                "The token does not state its LTI version.",
                ASK_ADMIN,
            )
        if version != "1.3.0":
            raise reject(
                "bad_version",
                "Socle n'accepte que LTI 1.3.0.",
                "Socle accepts LTI 1.3.0 only.",
                ASK_ADMIN,
            )
        message_type = body.get(c.MESSAGE_TYPE)
        if message_type not in SUPPORTED_MESSAGES:
            raise reject(
                "unsupported_message",
                "Type de message LTI absent ou non pris en charge.",
                "LTI message type missing or not supported.",
                ASK_ADMIN,
            )
        roles = body.get(c.ROLES)
        if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
            raise reject(
                "bad_roles",
                "Le jeton ne donne pas les rôles sous forme de liste (claim « roles »).",
                "The token does not give the roles as a list (« roles » claim).",
                ASK_ADMIN,
            )
        sub = body.get("sub")
        if not isinstance(sub, str) or not sub.strip():
            raise reject(
                "missing_sub",
                "Le jeton n'identifie pas l'utilisateur (claim « sub » absent ou vide).",
                "The token does not identify the user (« sub » claim missing or empty).",
                ASK_ADMIN,
            )
        if len(sub) > 255:  # OIDC's limit, and the column's: PostgreSQL would refuse it with a 500
            raise reject(
                "bad_sub",
                "L'identifiant de l'utilisateur (claim « sub ») dépasse 255 caractères.",
                "The user's identifier (« sub » claim) is over 255 characters.",
                ASK_ADMIN,
            )
        target = body.get(c.TARGET_LINK_URI)
        if not isinstance(target, str) or not self._settings.urls.is_ours(target):
            raise reject(
                "foreign_target",
                "Le lancement vise une adresse qui n'appartient pas à Socle (target_link_uri).",
                "The launch targets an address that is not Socle's (target_link_uri).",
                ASK_ADMIN,
            )
        for claim in (c.CONTEXT, c.CUSTOM, c.LAUNCH_PRESENTATION):
            if claim in body and not isinstance(body[claim], dict):
                raise reject(
                    "malformed_claim",
                    f"Le claim {claim.rsplit('/', 1)[-1]} du jeton est mal formé.",
                    f"The token's {claim.rsplit('/', 1)[-1]} claim is malformed.",
                    ASK_ADMIN,
                )
        context = body.get(c.CONTEXT)
        if context is not None and not (isinstance(context.get("id"), str) and context["id"]):
            raise reject(
                "malformed_claim",
                "Le claim context du jeton n'a pas d'identifiant.",
                "The token's context claim has no id.",
                ASK_ADMIN,
            )
        if message_type == RESOURCE_LINK_REQUEST:
            link = body.get(c.RESOURCE_LINK)
            if not isinstance(link, dict) or not isinstance(link.get("id"), str) or not link["id"]:
                raise reject(
                    "missing_resource_link",
                    "Le lancement ne nomme pas l'activité (resource_link.id absent).",
                    "The launch does not name its activity (no resource_link.id).",
                    ASK_ADMIN,
                )
        if message_type == DEEP_LINKING_REQUEST:
            settings = body.get(c.DEEP_LINKING_SETTINGS)
            return_url = settings.get("deep_link_return_url") if isinstance(settings, dict) else None
            accept = settings.get("accept_types") if isinstance(settings, dict) else None
            if not isinstance(return_url, str) or not return_url.startswith(("https://", "http://")):
                raise reject(
                    "missing_deep_link_return",
                    "La demande de sélection de contenu ne dit pas où renvoyer le choix "
                    "(deep_link_return_url).",
                    "The content selection request does not say where to return (deep_link_return_url).",
                    ASK_ADMIN,
                )
            if not isinstance(accept, list) or "ltiResourceLink" not in accept:
                raise reject(
                    "deep_link_types",
                    "La plateforme n'accepte pas de liens d'activité LTI "
                    "(accept_types sans ltiResourceLink).",
                    "The platform does not accept LTI resource links (accept_types lacks ltiResourceLink).",
                    ASK_ADMIN,
                )
        return self


# A pending login and its platform (joined), by state, with the registered deployment of that name.
_LOGIN = (
    select(LoginState, Deployment)
    .outerjoin(
        Deployment,
        (Deployment.platform_id == LoginState.platform_id)
        & (Deployment.deployment_id == bindparam("deployment_id")),
    )
    .where(LoginState.state == bindparam("login_state"))
)
# Consuming a login: atomic, so a state and its nonce serve one launch, whatever the worker.
_CONSUME_LOGIN = (
    update(LoginState)
    .where(
        LoginState.state == bindparam("login_state"),
        LoginState.used_at.is_(None),
        LoginState.expires_at > bindparam("now"),
    )
    .values(used_at=bindparam("now"))
)


class BoundStateCookies(FlaskCookieService):
    """pylti1p3's state cookie, whose value is not the state itself but a keyed digest of it.

    The state travels in the launch form; with the state as the cookie's value, anyone holding a token and
    its state could forge the cookie in another browser. The digest needs the app's secret key."""

    def __init__(self, request: FlaskRequest, secret_key: str) -> None:
        super().__init__(request)
        self._secret_key = secret_key

    def set_cookie(self, name: str, value: str | int, exp: int | None = 3600) -> None:
        # pylti1p3 calls set_cookie(state, state, 300) at login: keep the name, replace the value.
        super().set_cookie(name, state_cookie_value(self._secret_key, str(value)).decode("ascii"), exp)


def state_cookie_value(secret_key: str, state: str) -> bytes:
    digest = hmac.new(
        secret_key.encode("utf-8"), b"socle-state\x00" + state.encode("utf-8"), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=")


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


@functools.lru_cache(maxsize=256)
def _public_key(jwk_json: str) -> Any:
    """The key object for a platform JWK (parsed once per process; keys are immutable)."""
    return jwt.PyJWK(json.loads(jwk_json), algorithm="RS256").key


def _unverified_claim(token: str, name: str) -> str:
    """A string claim of a token not yet verified, or "" (to look something up early, never to trust)."""
    try:
        value = json.loads(_b64url(token.split(".")[1])).get(name)
    except (ValueError, IndexError, AttributeError, binascii.Error, UnicodeDecodeError, RecursionError):
        return ""
    return value if isinstance(value, str) and not bad_text(value) else ""


def _b64url(part: str) -> str:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode("utf-8")
