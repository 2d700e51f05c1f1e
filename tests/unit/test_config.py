"""Configuration layers and the start-up checks that refuse an unsafe or broken configuration."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lti_tool import create_app
from lti_tool.config import ConfigError
from tests.conftest import standalone_config as config


def test_production_refuses_the_demo_platform(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="demo platform is for development only"):
        create_app(
            config(tmp_path, ENV="production", BASE_URL="https://socle.example.org", DEMO_PLATFORM=True)
        )


def test_production_needs_https(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="must be https"):
        create_app(
            config(tmp_path, ENV="production", BASE_URL="http://socle.example.org", DEMO_PLATFORM=False)
        )


@pytest.mark.parametrize("email", [None, "", "certificats@socle.example", "not-an-address"])
def test_production_needs_the_certificate_issuers_email(tmp_path: Path, email: str | None) -> None:
    settings = config(tmp_path, ENV="production", BASE_URL="https://socle.example.org", DEMO_PLATFORM=False)
    with pytest.raises(ConfigError, match="LTI_TOOL_CERTIFICATE_ISSUER_EMAIL"):
        create_app({**settings, "CERTIFICATE_ISSUER_EMAIL": email})
    settings["CERTIFICATE_ISSUER_EMAIL"] = "certificats@socle.example.org"
    assert create_app(settings).config["CERTIFICATE_ISSUER_EMAIL"] == "certificats@socle.example.org"


def test_production_without_a_secret_refuses_to_start_and_says_how(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LTI_TOOL_SECRET_KEY", raising=False)
    settings = config(tmp_path, ENV="production", BASE_URL="https://socle.example.org", DEMO_PLATFORM=False)
    settings.pop("SECRET_KEY")
    monkeypatch.setenv("LTI_TOOL_ENV", "production")
    with pytest.raises(ConfigError, match="LTI_TOOL_SECRET_KEY"):
        create_app(settings)
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize("secret", ["dev", "changeme", "short-secret"])
def test_weak_secret_is_refused(tmp_path: Path, secret: str) -> None:
    with pytest.raises(ConfigError, match="secret key is weak"):
        create_app(config(tmp_path, SECRET_KEY=secret))


def test_development_writes_a_secret_on_first_run_and_keeps_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LTI_TOOL_SECRET_KEY", raising=False)
    settings = config(tmp_path, ENV="development")
    settings.pop("SECRET_KEY")
    first = create_app(settings).config["SECRET_KEY"]
    assert len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert create_app(settings).config["SECRET_KEY"] == first


def test_invalid_lti_config_is_reported_with_file_place_and_fix(tmp_path: Path) -> None:
    (tmp_path / "lti_config.json").write_text(
        json.dumps(
            {"platforms": [{"issuer": "https://moodle.example", "client_id": "abc", "deployment_ids": []}]}
        )
    )
    with pytest.raises(ConfigError) as error:
        create_app(config(tmp_path))
    message = str(error.value)
    assert "lti_config.json" in message
    assert "platforms.0.auth_login_url" in message
    assert "platforms.0.deployment_ids" in message
    assert "see the README" in message


def test_lti_config_that_is_not_json_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "lti_config.json").write_text('{"platforms": [\n  oops\n]}')
    with pytest.raises(ConfigError, match=r"line 2"):
        create_app(config(tmp_path))


def test_environment_variables_override_instance_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config.py").write_text("LEEWAY_SECONDS = 7\nLAUNCH_TTL_SECONDS = 60\n")
    monkeypatch.setenv("LTI_TOOL_LEEWAY_SECONDS", "3")
    app = create_app(config(tmp_path))
    assert app.config["LEEWAY_SECONDS"] == 3  # environment beats instance/config.py
    assert app.config["LAUNCH_TTL_SECONDS"] == 60  # instance/config.py beats the defaults


def test_bad_numbers_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LTI_TOOL_PROXY_HOPS", "two")
    with pytest.raises(ConfigError, match="LTI_TOOL_PROXY_HOPS"):
        create_app(config(tmp_path))


def test_postgres_urls_use_psycopg3(tmp_path: Path) -> None:
    app = create_app(config(tmp_path, DATABASE_URL="postgres://u@127.0.0.1:5432/socle"))
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@127.0.0.1:5432/socle"


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("LAUNCH_IDLE_MINUTES", 480, "LAUNCH_IDLE_MINUTES"),  # a bearer launch id must not live for hours
        ("LAUNCH_IDLE_MINUTES", 0, "LAUNCH_IDLE_MINUTES"),
        ("MAX_ID_TOKEN_LIFETIME_SECONDS", 10 * 365 * 24 * 3600, "MAX_ID_TOKEN_LIFETIME_SECONDS"),
        ("MAX_ID_TOKEN_LIFETIME_SECONDS", "600", "MAX_ID_TOKEN_LIFETIME_SECONDS"),
    ],
)
def test_launch_lifetimes_out_of_bounds_are_refused(
    tmp_path: Path, setting: str, value: object, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        create_app(config(tmp_path, **{setting: value}))
