"""Socle: the LTI 1.3 tool for the AFF training modules and the autodiagnostic."""

from __future__ import annotations

import gc
import logging
import os
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit
from zoneinfo import ZoneInfo

from flask import Flask, current_app, g, request
from flask_babel import Babel, Domain, get_locale, get_translations
from markupsafe import Markup
from sqlalchemy import event

import lti_tool.db as database
from lti_tool import cli, errors, inputs, security
from lti_tool.config import load_config, write_instance_secret
from lti_tool.content.typography import FrenchCatalogue, french, french_markup

MIGRATIONS = str(Path(__file__).parent / "migrations")


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the application: config, database, LTI edge, features, errors. Nothing runs at import."""
    instance_path = os.environ.get("LTI_TOOL_INSTANCE_PATH") or (config or {}).get("INSTANCE_PATH")
    app = Flask(__name__, instance_path=instance_path, instance_relative_config=True)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    _ensure_development_secret(app, config)
    load_config(app, config)
    _configure_logging(app)

    database.db.init_app(app)
    database.migrate.init_app(app, database.db, directory=MIGRATIONS, render_as_batch=True)
    database.end_requests_with_commit(app)
    with app.app_context():
        engine = database.db.engine
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            database.ping_when_idle(engine)
    _Babel(app, locale_selector=_select_locale)
    # Templates call gettext a few dozen times a page: look the request's catalogue up once, not each time.
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: _catalogue().ugettext(s),
        ngettext=lambda s, p, n: _catalogue().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: _catalogue().upgettext(c, s),
        npgettext=lambda c, s, p, n: _catalogue().unpgettext(c, s, p, n),
    )

    from lti_tool import events, lrs, records
    from lti_tool.certificates import issuing
    from lti_tool.certificates.achievements_blueprint import bp as achievements_bp
    from lti_tool.certificates.blueprint import bp as certificates_bp
    from lti_tool.certificates.credentials_blueprint import bp as credentials_bp
    from lti_tool.competences import mastery
    from lti_tool.competences.blueprint import bp as competences_bp
    from lti_tool.content import runtime as content_runtime
    from lti_tool.dashboard.blueprint import bp as dashboard_bp
    from lti_tool.diagnostic import services as diagnostic_services
    from lti_tool.diagnostic.blueprint import bp as diagnostic_bp
    from lti_tool.exports.blueprint import bp as exports_bp
    from lti_tool.home.blueprint import bp as home_bp
    from lti_tool.lti import ags, launches, runtime
    from lti_tool.lti.advantage_blueprint import bp as advantage_bp
    from lti_tool.lti.blueprint import bp as lti_bp
    from lti_tool.privacy.blueprint import bp as privacy_bp
    from lti_tool.training import blueprint as training_blueprint

    inputs.init_app(app)  # before any blueprint: its converter bounds every <int:…> id
    content_runtime.init_app(app)
    runtime.init_app(app)
    # The event pipeline: each recorded event goes to these handlers, in this order (see lti_tool.events).
    pipeline = events.init_app(app)
    pipeline.register(records.on_event)  # its xAPI statements (their ids are mastery's evidence)
    pipeline.register(ags.on_event)  # the gradebook score it earns
    pipeline.register(mastery.on_event)  # the mastery it changes, announced to the features below
    issuing.init_app(app)  # certificates: a bloc met issues what it earns
    # The module page offers first what the learner's autodiagnostic suggested (diagnostic is above training).
    training_blueprint.recommend_with(app, diagnostic_services.recommended_modules)
    app.register_blueprint(home_bp)
    app.register_blueprint(lti_bp)
    app.register_blueprint(advantage_bp)
    app.register_blueprint(training_blueprint.bp)
    app.register_blueprint(diagnostic_bp)
    app.register_blueprint(competences_bp)
    app.register_blueprint(certificates_bp)
    app.register_blueprint(credentials_bp)
    app.register_blueprint(achievements_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(privacy_bp)
    app.register_blueprint(exports_bp)
    lrs.init_app(app)  # the LRS (xapi.api) at /xapi/…
    if app.config["DEMO_PLATFORM"]:
        # The demo LMS (development and tests) is a neighbour package, not a feature: this is the only place
        # lti_tool imports it. It reaches the tool through its public URLs only, keeps its own tables
        # (created here), and leaves its platform object in app.extensions["socle_demo_platform"].
        import demo_platform

        demo_platform.init_app(app)
    security.init_app(app)
    errors.register_error_handlers(app)
    cli.init_app(app)
    app.jinja_env.globals["demo_enabled"] = bool(app.config["DEMO_PLATFORM"])
    app.jinja_env.globals["switch_language_url"] = _switch_language_url
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.globals["here"] = launches.here
    app.jinja_env.globals["csrf_field"] = launches.csrf_field
    app.jinja_env.globals["csrf_token"] = launches.csrf_token
    app.jinja_env.filters["localtime"] = _localtime
    app.jinja_env.filters["french"] = _french_filter
    if app.config["ENV"] != "testing":
        # What the app built (routes, templates, models, content) lives as long as the process: keep it out
        # of the cyclic garbage collector, whose full passes otherwise walk it all and stall a request for
        # around 100 ms under load. The test suite builds many apps, which must stay collectable.
        gc.freeze()
    return app


class _FrenchDomain(Domain):
    """French is the source language: its catalogue hands the UI's strings out with French spacing
    (narrow no-break space before ; : ! ? », after «), so templates and messages need not type it."""

    def get_translations(self) -> Any:
        translations = super().get_translations()
        locale = get_locale()
        if locale is not None and locale.language == "fr":
            return FrenchCatalogue(translations)
        return translations


class _Babel(Babel):
    @cached_property
    def domain_instance(self) -> Domain:
        return _FrenchDomain(domain=self.domain)


def _french_filter(value: Any) -> Any:
    """French spacing for a template's own text: ``{% filter french %}…{% endfilter %}`` (safe markup: only
    the text between tags changes) or ``value|french`` (plain text, escaped afterwards as usual)."""
    if isinstance(value, Markup):
        # already-safe markup: french_markup only spaces the text between tags, never tags or references
        return Markup(french_markup(str(value)))  # noqa: S704
    return french(str(value))


def _catalogue() -> Any:
    """The request's translations (Flask-Babel's, looked up once per request)."""
    catalogue = g.get("translations")
    if catalogue is None:
        catalogue = g.translations = get_translations()
    return catalogue


def _switch_language_url(code: str) -> str:
    """This page in another language (the launch id and other parameters kept)."""
    # After a launch the page answers a POST: switch from the GET address it gives itself.
    page_url = g.get("page_url")
    path, args = (request.path, request.args.to_dict())
    if page_url:
        parts = urlsplit(page_url)
        path, args = parts.path, dict(parse_qsl(parts.query))
    args["lang"] = code
    return path + "?" + urlencode(args)


def _ensure_development_secret(app: Flask, config: dict[str, Any] | None) -> None:
    """Outside production, the first run writes a random secret into instance/ (never into git)."""
    env = (config or {}).get("ENV") or os.environ.get("LTI_TOOL_ENV", "development")
    if (
        env != "production"
        and not (config or {}).get("SECRET_KEY")
        and not os.environ.get("LTI_TOOL_SECRET_KEY")
    ):
        write_instance_secret(app.instance_path)


def _localtime(value: datetime) -> str:
    """A date and time as people of the programme read it (TIMEZONE, default Europe/Paris)."""
    local = value.astimezone(ZoneInfo(current_app.config["TIMEZONE"]))
    return local.strftime("%d/%m/%Y %H:%M")


def _select_locale() -> str:
    """?lang=, then the launch's locale (launch_presentation.locale), then the browser's, then French."""
    languages: list[str] = current_app.config["LANGUAGES"]
    asked = request.args.get("lang")
    if asked in languages:
        return asked
    launch = g.get("launch")
    if launch is not None and launch.locale and launch.locale[:2].lower() in languages:
        return str(launch.locale[:2].lower())
    return request.accept_languages.best_match(languages) or "fr"


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    # WAL lets readers and one writer work at once (gunicorn workers); wait rather than fail on a lock.
    cursor.execute("PRAGMA journal_mode=WAL")
    # With WAL, NORMAL syncs at checkpoints: safe against corruption and process crashes; only a power
    # loss may drop the last commits. PostgreSQL is the choice where that matters.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _configure_logging(app: Flask) -> None:
    level = app.config.get("LOG_LEVEL", "INFO")
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Werkzeug's access log prints whole URLs, launch ids included: keep it to warnings.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
