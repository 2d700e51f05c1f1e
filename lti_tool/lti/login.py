"""OIDC login initiation (``/lti/login``), on top of pylti1p3's OIDCLogin.

pylti1p3 builds the redirect to the platform and sets the state cookie; this subclass checks the request
first (known issuer and client, our own target, a known deployment) and stores state + nonce in the
database for the launch to consume.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Response, make_response, render_template
from pylti1p3.contrib.flask import FlaskOIDCLogin, FlaskRequest
from pylti1p3.registration import Registration

from lti_tool.db import DbSession
from lti_tool.errors import LaunchRejected, Message
from lti_tool.keys import KeyStore
from lti_tool.learners import services as learners
from lti_tool.lti.adapters import DbSessionService, DbToolConf, registration_for
from lti_tool.lti.launch import ASK_ADMIN, BoundStateCookies, reject
from lti_tool.lti.urls import ToolUrls

# What we keep of the login request: enough to check the launch and to restart in a new window.
KEPT_PARAMS = (
    "iss",
    "login_hint",
    "target_link_uri",
    "lti_message_hint",
    "lti_deployment_id",
    "client_id",
    "lti_storage_target",
)
MAX_PARAM_LENGTH = 2048


class StrictOIDCLogin(FlaskOIDCLogin):
    def __init__(
        self, session: DbSession, keys: KeyStore, urls: ToolUrls, login_ttl_seconds: int, *, secret_key: str
    ) -> None:
        request = FlaskRequest()
        self._db = session
        self._keys = keys
        self._urls = urls
        super().__init__(
            request,
            DbToolConf(session, keys),
            session_service=DbSessionService(request, session, login_ttl_seconds),
            cookie_service=BoundStateCookies(request, secret_key),
        )

    def start(self) -> Response:
        """Check the login request and send the browser to the platform's authorization endpoint.

        When the platform offers its client-side storage (``lti_storage_target``), a small page first puts a
        per-login secret there, so that the launch can prove it comes from this browser even if the browser
        drops our cookie (third-party cookies blocked in the LMS iframe)."""
        target = self._get_request_param("lti_storage_target")
        if not target:
            response: Response = self.redirect(self._urls.launch)
            return response
        redirect = self.get_redirect_object(self._urls.launch)
        login = self._session_service.last_login
        auth_url = redirect.get_redirect_url()
        page = make_response(
            render_template(
                "lti/storage_login.html",
                auth_url=auth_url,
                target=target,
                platform_origin=origin_of(auth_url),
                key=storage_key(login.state),
                value=login.storage_secret,
            )
        )
        self._cookie_service.update_response(page)  # the cookie too, for browsers that keep it
        return page

    def validate_oidc_login(self) -> Registration:
        params = {key: self._get_request_param(key) for key in KEPT_PARAMS}
        if any(value and len(value) > MAX_PARAM_LENGTH for value in params.values()):
            raise reject(
                "login_too_large",
                "La demande de connexion contient un paramètre anormalement long.",
                "The login request carries an abnormally long parameter.",
                ASK_ADMIN,
            )
        iss, client_id = params["iss"], params["client_id"]
        if not iss:
            raise reject(
                "login_missing_iss",
                "La demande de connexion ne dit pas de quelle plateforme elle vient (paramètre iss).",
                "The login request does not say which platform it comes from (iss parameter).",
                ASK_ADMIN,
            )
        if not params["login_hint"]:
            raise reject(
                "login_missing_hint",
                "La demande de connexion ne contient pas de login_hint.",
                "The login request carries no login_hint.",
                ASK_ADMIN,
            )
        target = params["target_link_uri"]
        if not target or not self._urls.is_ours(target):
            raise reject(
                "login_foreign_target",
                "La demande de connexion vise une adresse qui n'appartient pas à Socle (target_link_uri).",
                "The login request targets an address that is not Socle's (target_link_uri).",
                ASK_ADMIN,
            )
        deployment_id = params["lti_deployment_id"]
        platform, deployment = learners.find_registration(self._db, iss, client_id, deployment_id)
        if platform is None:
            raise LaunchRejected(
                Message(
                    "Cette plateforme (ou ce client_id) n'est pas enregistrée dans Socle.",
                    "This platform (or this client_id) is not registered in Socle.",
                ),
                Message(
                    "L'administrateur de Socle doit enregistrer cette plateforme avec son client_id "
                    "(voir « Install Socle in Moodle » dans le README de Socle).",
                    "Socle's administrator must register this platform with its client_id "
                    "(see « Install Socle in Moodle » in Socle's README).",
                ),
                code="unknown_platform",
                status=400,
            )
        if deployment_id and deployment is None:
            raise reject(
                "unknown_deployment",
                "Ce déploiement de l'outil n'est pas enregistré dans Socle pour cette plateforme.",
                "This deployment of the tool is not registered in Socle for this platform.",
                ASK_ADMIN,
                status=403,
            )
        kept: dict[str, Any] = {key: value for key, value in params.items() if value}
        kept.setdefault("client_id", platform.client_id)
        self.pass_params_to_launch({"platform_id": platform.id, "login": kept})
        return registration_for(platform, self._keys)


def storage_key(state: str) -> str:
    """The key of a login's secret in the platform's client-side storage."""
    return "socle_" + state


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
