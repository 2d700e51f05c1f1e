"""A bare pylti1p3 Flask tool: the reference that ``launch.py`` compares Socle's launch with.

It is what pylti1p3's README shows and nothing more: ``ToolConfDict`` (one issuer, many clients),
``FlaskOIDCLogin`` and ``FlaskMessageLaunch``, state and nonce in Flask's signed session cookie (shared by
every gunicorn worker that holds the same secret), and the platform's key set cached in process memory
(``set_public_key_caching``) so it is fetched once per worker, not at every launch.

Environment: BARE_ISSUER, BARE_CLIENT_ID, BARE_AUTH_LOGIN_URL, BARE_KEY_SET_URL, BARE_DEPLOYMENT_ID,
BARE_BASE_URL; optionally BARE_AUTH_TOKEN_URL and BARE_SECRET_KEY (give it when running several workers).
Run: ``gunicorn --chdir bench 'bare_tool:create_app()'``.
"""

from __future__ import annotations

import atexit
import math
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from markupsafe import escape
from pylti1p3.contrib.flask import FlaskCacheDataStorage, FlaskMessageLaunch, FlaskOIDCLogin, FlaskRequest
from pylti1p3.tool_config import ToolConfDict


class DictCache:
    """The ``get`` / ``set(key, value, exp)`` interface FlaskCacheDataStorage needs, in process memory."""

    def __init__(self) -> None:
        self._items: dict[str, tuple[float, Any]] = {}

    def get(self, key: str) -> Any:
        expires, value = self._items.get(key, (0.0, None))
        return value if expires > time.monotonic() else None

    def set(self, key: str, value: Any, exp: int | None = None) -> None:
        self._items[key] = (time.monotonic() + exp if exp else math.inf, value)


def _generated_private_key() -> str:
    """A fresh RSA key written to a temporary directory (removed at exit), read back as a tool would."""
    directory = Path(tempfile.mkdtemp(prefix="bare-tool-keys-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = directory / "private.key"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return path.read_text(encoding="ascii")


def create_app() -> Flask:
    env = os.environ
    issuer, client_id, base_url = env["BARE_ISSUER"], env["BARE_CLIENT_ID"], env["BARE_BASE_URL"].rstrip("/")
    tool_conf = ToolConfDict(
        {
            issuer: [
                {
                    "default": True,
                    "client_id": client_id,
                    "auth_login_url": env["BARE_AUTH_LOGIN_URL"],
                    "auth_token_url": env.get("BARE_AUTH_TOKEN_URL", issuer + "/token"),
                    "key_set_url": env["BARE_KEY_SET_URL"],
                    "deployment_ids": [env["BARE_DEPLOYMENT_ID"]],
                }
            ]
        }
    )
    tool_conf.set_private_key(issuer, _generated_private_key(), client_id=client_id)
    key_cache = FlaskCacheDataStorage(DictCache())
    app = Flask(__name__)
    app.secret_key = bytes.fromhex(env["BARE_SECRET_KEY"]) if env.get("BARE_SECRET_KEY") else os.urandom(32)

    @app.get("/")
    def index() -> str:
        return "bare pylti1p3 tool"

    @app.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        return FlaskOIDCLogin(FlaskRequest(), tool_conf).redirect(base_url + "/launch")

    @app.post("/launch")
    def launch() -> str:
        message_launch = FlaskMessageLaunch(FlaskRequest(), tool_conf)
        message_launch.set_public_key_caching(key_cache, cache_lifetime=7200)
        data = message_launch.get_launch_data()
        return (
            f'<!doctype html><p data-testid="bare-launch">Hello {escape(data.get("name", data["sub"]))}</p>'
        )

    return app
