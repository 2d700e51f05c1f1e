"""Configuration in layers: defaults here, then ``instance/config.py``, then ``LTI_TOOL_*`` variables.

``check_config`` refuses to start on anything that would make the tool insecure or broken, and each
message says how to fix it.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from flask import Flask
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENVIRONMENTS = ("development", "testing", "production")
WEAK_SECRETS = {"", "dev", "secret", "changeme", "change-me", "please-change-me", "socle"}
MIN_SECRET_LENGTH = 32

DEFAULTS: dict[str, Any] = {
    # development | testing | production. The demo platform is refused in production.
    "ENV": "development",
    # Public URL of the tool, as platforms reach it (no trailing slash). Launch and login URLs derive from it.
    "BASE_URL": "http://127.0.0.1:5000",
    # None means: a SQLite file in the instance folder.
    "DATABASE_URL": None,
    "DEMO_PLATFORM": True,
    # Extra tools the demo platform knows (the benchmark registers the bare reference tool this way).
    "DEMO_EXTRA_TOOLS": [],
    # Number of reverse proxies in front of the tool whose X-Forwarded-* headers are trusted (0: none).
    "PROXY_HOPS": 0,
    # Clock skew allowed between the platform and the tool when checking iat/exp.
    "LEEWAY_SECONDS": 5,
    # How long a login (state + nonce) may wait for its launch.
    "LOGIN_TTL_SECONDS": 600,
    # How long a launch stays usable for follow-up requests, in the browser that made it (bound to its
    # cookie).
    "LAUNCH_TTL_SECONDS": 8 * 3600,
    # A launch made without cookies (through the platform's storage) is honoured on its id alone: it ends
    # after this many minutes without a request (each request pushes the limit forward).
    "LAUNCH_IDLE_MINUTES": 20,
    # An id_token whose exp lies further than this past its iat is refused (Moodle sends 60 seconds).
    "MAX_ID_TOKEN_LIFETIME_SECONDS": 600,
    # A platform's cached key set is refetched on an unknown kid, at most this often.
    "JWKS_REFETCH_MIN_SECONDS": 10,
    "JWKS_CACHE_SECONDS": 24 * 3600,
    "HTTP_TIMEOUT_SECONDS": 5,
    # Host names Socle may call although they resolve to a private or loopback address (an LRS or a
    # platform on the internal network). Every other outbound request must reach a public address; outside
    # production loopback is allowed too (the demo platform). A JSON list or a comma-separated string.
    "OUTBOUND_ALLOWED_HOSTS": [],
    # A platform's or an LRS's answer larger than this is refused, never held in memory.
    "OUTBOUND_MAX_RESPONSE_BYTES": 5 * 1024 * 1024,
    # How long an invitation to register by Dynamic Registration stays usable by default.
    "INVITE_TTL_HOURS": 48,
    # Scores go only to the gradebook columns of what the teachers placed in the course (Deep Linking items,
    # resource links; all modules and the autodiagnostic for the whole path). True: Socle also creates a
    # column for anything else that earns a score (a module not placed, a bloc, the certificate).
    "AGS_LINE_ITEMS_FOR_UNPLACED": False,
    # A real id_token is a few kilobytes; anything larger is refused before decoding.
    "MAX_ID_TOKEN_BYTES": 32 * 1024,
    "LTI_CONFIG_PATH": str(PROJECT_ROOT / "lti_config.json"),
    # The programme's content (modules, quizzes, autodiagnostic), validated at start.
    "CONTENT_PATH": str(PROJECT_ROOT / "modules"),
    "KEYS_DIR": None,  # None: instance/keys
    # The credentials' own Ed25519 key (the issuer's did:key), apart from the LTI keys: `keys rotate` and
    # `keys retire` never touch it. None: instance/credential_keys.
    "CREDENTIAL_KEYS_DIR": None,
    "LANGUAGES": ["fr", "en"],
    # Base of the IRIs of Socle's xAPI activities and extensions (default: BASE_URL). Keep it stable.
    "XAPI_IRI_BASE": None,
    # Dates of live sessions are entered and shown in this zone.
    "TIMEZONE": "Europe/Paris",
    # Who issues the certificates (the organisation running the programme) and the revocation list size
    # (131,072 entries at least, the Bitstring Status List minimum).
    "CERTIFICATE_ISSUER_NAME": "Socle — programme (Re)connaissance des modèles socio-économiques",
    # The issuer's contact address, in the credentials and the Open Badges 2.0 issuer profile (Open Badges 2.0
    # requires one). This placeholder is refused in production: set the real address.
    "CERTIFICATE_ISSUER_EMAIL": "certificats@socle.example",
    "CERTIFICATE_ISSUER_DESCRIPTION": (
        "Organisme qui porte le programme (Re)connaissance des modèles socio-économiques et délivre ses "
        "certificats d'aptitude et ses blocs de compétences."
    ),
    # Who signs the PDF certificates for the issuer (name and title); not shown when unset.
    "CERTIFICATE_SIGNATORY_NAME": None,
    "CERTIFICATE_SIGNATORY_TITLE": None,
    "STATUS_LIST_SIZE": 131_072,
    # `privacy purge` deletes launch rows (with the platform's claims) once expired, and in any case this
    # many days after the launch.
    "RETENTION_DAYS_LAUNCHES": 30,
    # `privacy purge` erases people with no activity for this many days (None: people are kept).
    "RETENTION_DAYS_INACTIVE_LEARNERS": None,
    "BABEL_DEFAULT_LOCALE": "fr",
    "LOG_LEVEL": "INFO",
}


class ConfigError(RuntimeError):
    """The configuration cannot run; the message lists every problem and its fix."""


class PlatformEntry(BaseModel):
    """One platform registration as written in lti_config.json (public data only, no keys)."""

    model_config = ConfigDict(extra="forbid")

    issuer: str = Field(min_length=1)
    client_id: str = Field(min_length=1)
    auth_login_url: HttpUrl
    auth_token_url: HttpUrl
    key_set_url: HttpUrl
    deployment_ids: list[str] = Field(min_length=1)
    name: str | None = None


class LtiConfigFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    platforms: list[PlatformEntry] = []


def load_config(app: Flask, overrides: dict[str, Any] | None) -> None:
    """Fill ``app.config`` from the layers, then check it."""
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("LTI_TOOL")
    if overrides:
        app.config.from_mapping(overrides)
    _load_instance_secret(app)
    app.config["BASE_URL"] = str(app.config["BASE_URL"]).rstrip("/")
    if not app.config.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = "sqlite:///" + str(Path(app.instance_path) / "socle.sqlite3")
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(app.config["DATABASE_URL"])
    # An empty variable (copied from .env.example) means the default, as for the other paths.
    app.config["CONTENT_PATH"] = app.config.get("CONTENT_PATH") or DEFAULTS["CONTENT_PATH"]
    for name in ("CERTIFICATE_ISSUER_NAME", "CERTIFICATE_ISSUER_EMAIL", "CERTIFICATE_ISSUER_DESCRIPTION"):
        app.config[name] = app.config.get(name) or DEFAULTS[name]
    if not app.config.get("KEYS_DIR"):
        app.config["KEYS_DIR"] = str(Path(app.instance_path) / "keys")
    if not app.config.get("CREDENTIAL_KEYS_DIR"):
        app.config["CREDENTIAL_KEYS_DIR"] = str(Path(app.instance_path) / "credential_keys")
    secure = app.config["BASE_URL"].startswith("https://")
    # Inside an LMS iframe the tool is a third party: its cookies need SameSite=None, which needs Secure.
    app.config["SESSION_COOKIE_SECURE"] = secure
    app.config["SESSION_COOKIE_SAMESITE"] = "None" if secure else "Lax"
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_ID_TOKEN_BYTES"] + 16 * 1024
    app.config["MAX_FORM_MEMORY_SIZE"] = app.config["MAX_ID_TOKEN_BYTES"] + 8 * 1024
    check_config(app.config)


def normalise_database_url(url: str) -> str:
    """Accept the usual PostgreSQL spellings and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _load_instance_secret(app: Flask) -> None:
    if app.config.get("SECRET_KEY"):
        return
    path = Path(app.instance_path) / "secret_key"
    if path.exists():
        app.config["SECRET_KEY"] = path.read_text(encoding="utf-8").strip()


def write_instance_secret(instance_path: str) -> bool:
    """Create ``instance/secret_key`` if missing; return True when one was written."""
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(secrets.token_urlsafe(48), encoding="utf-8")
    path.chmod(0o600)
    return True


def check_config(config: dict[str, Any]) -> None:
    """Raise ConfigError listing every problem, each with what to do."""
    problems: list[str] = []
    env = config.get("ENV")
    if env not in ENVIRONMENTS:
        problems.append(f"ENV is {env!r}: set LTI_TOOL_ENV to one of {', '.join(ENVIRONMENTS)}.")
    secret = str(config.get("SECRET_KEY") or "")
    if not secret:
        problems.append(
            "No secret key: run `flask --app lti_tool setup` (it writes instance/secret_key) "
            "or set LTI_TOOL_SECRET_KEY to a random string of at least 32 characters."
        )
    elif secret.lower() in WEAK_SECRETS or len(secret) < MIN_SECRET_LENGTH:
        problems.append(
            "The secret key is weak: set LTI_TOOL_SECRET_KEY to a random string of at least "
            f"{MIN_SECRET_LENGTH} characters (for example: python -c 'import secrets; "
            "print(secrets.token_urlsafe(48))')."
        )
    base_url = str(config.get("BASE_URL", ""))
    if not base_url.startswith(("http://", "https://")):
        problems.append(f"BASE_URL is {base_url!r}: set LTI_TOOL_BASE_URL to the tool's public URL.")
    if env == "production":
        if config.get("DEMO_PLATFORM"):
            problems.append(
                "The built-in demo platform is for development only: unset LTI_TOOL_DEMO_PLATFORM "
                "or set it to false in production."
            )
        if not base_url.startswith("https://"):
            problems.append(
                "In production BASE_URL must be https:// (LMS iframes need Secure; SameSite=None "
                "cookies): set LTI_TOOL_BASE_URL, and LTI_TOOL_PROXY_HOPS behind a reverse proxy."
            )
        email = str(config.get("CERTIFICATE_ISSUER_EMAIL") or "")
        if "@" not in email or email.endswith(".example"):
            problems.append(
                "The certificates need the issuer's contact address (Open Badges 2.0 requires it): set "
                "LTI_TOOL_CERTIFICATE_ISSUER_EMAIL (for example certificats@your-organisation.fr)."
            )
    for key in (
        "PROXY_HOPS",
        "LEEWAY_SECONDS",
        "LOGIN_TTL_SECONDS",
        "LAUNCH_TTL_SECONDS",
        "LAUNCH_IDLE_MINUTES",
        "MAX_ID_TOKEN_LIFETIME_SECONDS",
        "MAX_ID_TOKEN_BYTES",
        "JWKS_REFETCH_MIN_SECONDS",
        "OUTBOUND_MAX_RESPONSE_BYTES",
        "INVITE_TTL_HOURS",
    ):
        value = config.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            problems.append(f"{key} is {value!r}: set LTI_TOOL_{key} to a whole number (0 or more).")
    idle = config.get("LAUNCH_IDLE_MINUTES")
    if isinstance(idle, int) and not 2 <= idle <= 120:
        problems.append(
            "LAUNCH_IDLE_MINUTES is the idle limit of a launch id used as a bearer token (cookies blocked): "
            "set LTI_TOOL_LAUNCH_IDLE_MINUTES between 2 and 120 (default 20)."
        )
    lifetime = config.get("MAX_ID_TOKEN_LIFETIME_SECONDS")
    if isinstance(lifetime, int) and not 60 <= lifetime <= 3600:
        problems.append(
            "MAX_ID_TOKEN_LIFETIME_SECONDS must be between 60 and 3600: set "
            "LTI_TOOL_MAX_ID_TOKEN_LIFETIME_SECONDS to a few minutes (default 600)."
        )
    hosts = config.get("OUTBOUND_ALLOWED_HOSTS") or []
    if isinstance(hosts, str):
        hosts = hosts.split(",")
    if not isinstance(hosts, list) or not all(
        isinstance(h, str) and h.strip() and "/" not in h and ":" not in h for h in hosts
    ):
        problems.append(
            f"OUTBOUND_ALLOWED_HOSTS is {config.get('OUTBOUND_ALLOWED_HOSTS')!r}: give host names only "
            "(no scheme, port or path), e.g. LTI_TOOL_OUTBOUND_ALLOWED_HOSTS='[\"lrs.internal.example\"]'."
        )
    if isinstance(config.get("LEEWAY_SECONDS"), int) and config["LEEWAY_SECONDS"] > 60:
        problems.append("LEEWAY_SECONDS above 60 would accept stale launches: use a few seconds (5).")
    try:
        read_lti_config(config["LTI_CONFIG_PATH"])
    except ConfigError as error:
        problems.append(str(error))
    if problems:
        raise ConfigError("Socle cannot start:\n- " + "\n- ".join(problems))


def read_lti_config(path: str) -> LtiConfigFile:
    """Parse and validate lti_config.json; a missing file means no platforms."""
    file = Path(path)
    if not file.exists():
        return LtiConfigFile()
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ConfigError(
            f"{file}: not valid JSON (line {error.lineno}, column {error.colno}: {error.msg}); fix the file."
        ) from error
    try:
        return LtiConfigFile.model_validate(data)
    except ValidationError as error:
        details = "; ".join(
            f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}" for item in error.errors()
        )
        raise ConfigError(
            f"{file}: {details}. Each platform needs issuer, client_id, auth_login_url, auth_token_url, "
            "key_set_url and a non-empty deployment_ids list (see the README)."
        ) from error
