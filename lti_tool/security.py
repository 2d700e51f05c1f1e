"""HTTP-level protection: proxy headers, framing by registered platforms only, safe defaults. The access
checks of a launch (staff, administrator) are in ``lti_tool.lti.launches``."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import Flask, Response
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.middleware.proxy_fix import ProxyFix

from lti_tool.db import db
from lti_tool.learners.models import Platform

ORIGINS_CACHE_SECONDS = 30
# A year of HTTPS only (browsers ignore the header on plain HTTP); not includeSubDomains, which would bind
# the operator's other hosts too.
HSTS = "max-age=31536000"


def init_app(app: Flask) -> None:
    hops = app.config["PROXY_HOPS"]
    if hops:
        # Trust X-Forwarded-* from exactly this many proxies, so https is seen and cookies get Secure.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops
        )
    cache: dict[str, tuple[float, str]] = {}
    # Production runs on https only (check_config): tell browsers never to use plain HTTP, where a launch id
    # in a URL could be read on the way.
    hsts = app.config["ENV"] == "production"

    def frame_ancestors() -> str:
        """'self' and the origins of active platforms (re-read every few seconds, shared via the DB)."""
        cached = cache.get("value")
        if cached and time.monotonic() - cached[0] < ORIGINS_CACHE_SECONDS:
            return cached[1]
        origins: set[str] = set()
        try:
            rows = db.session.execute(
                select(Platform.issuer, Platform.auth_login_url).where(Platform.is_active.is_(True))
            ).all()
        except SQLAlchemyError:
            # The database is down (/health says so): frame only ourselves meanwhile. The request's
            # transaction is not ended here (that would drop what the view wrote behind a page that says it
            # was saved): the commit point decides, and a transaction that failed becomes an error page.
            return "'self'"
        for issuer, login_url in rows:
            for url in (issuer, login_url):
                parts = urlsplit(url)
                if parts.scheme in ("http", "https") and parts.netloc:
                    origins.add(f"{parts.scheme}://{parts.netloc}")
        value = " ".join(["'self'", *sorted(origins)])
        cache["value"] = (time.monotonic(), value)
        return value

    @app.after_request
    def secure_headers(response: Response) -> Response:
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            f"object-src 'none'; base-uri 'self'; frame-ancestors {frame_ancestors()}",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        # Launch ids travel in our URLs: never send them to another site.
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if hsts:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response

    app.extensions["socle_frame_ancestors_cache"] = cache
