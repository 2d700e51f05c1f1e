"""What the LTI edge needs per process: the tool's keys, the guarded HTTP client, the settings."""

from __future__ import annotations

from dataclasses import dataclass

import requests
from flask import Flask, current_app

from lti_tool import outbound
from lti_tool.keys import KeyStore
from lti_tool.lti.jwks import JwksPolicy
from lti_tool.lti.launch import LaunchSettings
from lti_tool.lti.urls import ToolUrls

USER_AGENT = "Socle-LTI-Tool/0.1"


@dataclass
class LtiRuntime:
    keys: KeyStore
    http: requests.Session
    settings: LaunchSettings
    launch_ttl_seconds: int
    login_ttl_seconds: int

    @property
    def urls(self) -> ToolUrls:
        return self.settings.urls


def init_app(app: Flask) -> None:
    config = app.config
    # Every call to a platform (configuration, registration, key sets, tokens, NRPS, AGS) goes through it.
    http = outbound.from_config(config, headers={"User-Agent": USER_AGENT})
    app.extensions["socle_lti"] = LtiRuntime(
        keys=KeyStore(config["KEYS_DIR"]),
        http=http,
        settings=LaunchSettings(
            urls=ToolUrls(config["BASE_URL"]),
            leeway_seconds=config["LEEWAY_SECONDS"],
            max_token_bytes=config["MAX_ID_TOKEN_BYTES"],
            jwks=JwksPolicy(
                cache_seconds=config["JWKS_CACHE_SECONDS"],
                refetch_min_seconds=config["JWKS_REFETCH_MIN_SECONDS"],
                timeout_seconds=config["HTTP_TIMEOUT_SECONDS"],
            ),
            secret_key=str(config["SECRET_KEY"]),
            max_token_lifetime_seconds=config["MAX_ID_TOKEN_LIFETIME_SECONDS"],
        ),
        launch_ttl_seconds=config["LAUNCH_TTL_SECONDS"],
        login_ttl_seconds=config["LOGIN_TTL_SECONDS"],
    )


def runtime() -> LtiRuntime:
    lti: LtiRuntime = current_app.extensions["socle_lti"]
    return lti
