"""pylti1p3's extension points, backed by our database: registrations, and login state with its nonce.

pylti1p3 keeps launch data and nonces in the Flask session by default (per browser, never consumed);
here they live in shared tables so that every worker sees them and a nonce is used once.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from pylti1p3.deployment import Deployment as PyltiDeployment
from pylti1p3.registration import Registration
from pylti1p3.request import Request
from pylti1p3.session import SessionService
from pylti1p3.tool_config import ToolConfAbstract

from lti_tool.db import DbSession, insert_row, utcnow
from lti_tool.keys import KeyStore
from lti_tool.learners import services as learners
from lti_tool.learners.models import Platform
from lti_tool.lti.models import Launch, LoginState


def registration_for(platform: Platform, keys: KeyStore) -> Registration:
    """A pylti1p3 Registration for one of our platform rows (our active key signs service requests)."""
    active = keys.active()
    registration = (
        Registration()
        .set_issuer(platform.issuer)
        .set_client_id(platform.client_id)
        .set_auth_login_url(platform.auth_login_url)
        .set_auth_token_url(platform.auth_token_url)
        .set_key_set_url(platform.key_set_url)
        .set_tool_private_key(active.private_pem)
    )
    return registration


class DbToolConf(ToolConfAbstract[Request]):
    """Registrations from the ``platforms`` table; always "one issuer, many clients"."""

    def __init__(self, session: DbSession, keys: KeyStore) -> None:
        self._session = session
        self._keys = keys

    def check_iss_has_one_client(self, iss: str) -> bool:
        return False

    def check_iss_has_many_clients(self, iss: str) -> bool:
        return True

    def find_registration_by_issuer(self, iss: str, *args: Any, **kwargs: Any) -> Registration:
        platforms = learners.platforms_of_issuer(self._session, iss)
        if len(platforms) != 1:
            return None  # type: ignore[return-value]  # pylti1p3 reads None as "not found"
        return registration_for(platforms[0], self._keys)

    def find_registration_by_params(
        self, iss: str, client_id: str, *args: Any, **kwargs: Any
    ) -> Registration:
        platform = learners.find_platform(self._session, iss, client_id)
        if platform is None:
            return None  # type: ignore[return-value]
        return registration_for(platform, self._keys)

    def find_deployment(self, iss: str, deployment_id: str) -> PyltiDeployment | None:
        platforms = learners.platforms_of_issuer(self._session, iss)
        if len(platforms) != 1:
            return None
        return self._deployment(platforms[0], deployment_id)

    def find_deployment_by_params(
        self, iss: str, deployment_id: str, client_id: str, *args: Any, **kwargs: Any
    ) -> PyltiDeployment | None:
        platform = learners.find_platform(self._session, iss, client_id)
        return self._deployment(platform, deployment_id) if platform else None

    def _deployment(self, platform: Platform, deployment_id: str) -> PyltiDeployment | None:
        if learners.find_deployment(self._session, platform.id, deployment_id) is None:
            return None
        return PyltiDeployment().set_deployment_id(deployment_id)


class DbSessionService(SessionService):
    """Login state and nonce in ``lti_login_states``; launch data in ``lti_launches``.

    pylti1p3's login calls ``save_nonce`` then ``save_state_params(state, ...)``; the second writes the
    row with both, so the launch can later require the very nonce issued with its state.
    """

    def __init__(self, request: Request, session: DbSession, login_ttl_seconds: int) -> None:
        super().__init__(request)
        self._session = session
        self._login_ttl = timedelta(seconds=login_ttl_seconds)
        self._pending_nonce: str | None = None
        self.last_login: LoginState | None = None

    def save_nonce(self, nonce: str) -> None:
        self._pending_nonce = nonce

    def save_state_params(self, state: str, params: dict[str, object]) -> None:
        assert self._pending_nonce, "pylti1p3 saves the nonce before the state"
        now = utcnow()
        login_params: dict[str, Any] = params["login"]  # type: ignore[assignment]
        row = {
            "state": state,
            "nonce": self._pending_nonce,
            "platform_id": params["platform_id"],
            "login_params": login_params,
            # Only used when the platform offers client-side storage (cookie-less launches).
            "storage_secret": secrets.token_urlsafe(24) if login_params.get("lti_storage_target") else None,
            "created_at": now,
            "expires_at": now + self._login_ttl,
            "used_at": None,
        }
        self.last_login = insert_row(self._session, LoginState, row)

    def get_state_params(self, state: str) -> dict[str, object]:
        row = self._session.get(LoginState, state)
        return {"platform_id": row.platform_id, "login": row.login_params} if row else {}

    def check_nonce(self, nonce: str) -> bool:
        # Never reached: StrictMessageLaunch consumes the nonce itself, atomically.
        return False

    def get_launch_data(self, key: str) -> Any:
        launch = self._session.get(Launch, key)
        return launch.claims if launch and launch.expires_at > utcnow() else None

    def save_launch_data(self, key: str, jwt_body: Any) -> None:
        # Launches are stored by lti.services.record_launch, with what they reveal.
        pass

    def set_state_valid(self, state: str, id_token_hash: str) -> None:
        # pylti1p3 uses this to let the same id_token + state pass again: that is a replay.
        pass

    def check_state_is_valid(self, state: str, id_token_hash: str) -> bool:
        return False
