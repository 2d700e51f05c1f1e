"""Follow-up requests: find the launch from the id carried in the page, and guard what changes state.

A launch made in a browser that kept our cookie stays bound to that cookie: its id alone opens nothing.
Only a launch proven through the platform's storage (third-party cookies blocked) is honoured on its id
alone, as a bearer token with a short sliding idle limit. Every state-changing request carries the
launch's CSRF token and must come from one of our own pages (Origin / Sec-Fetch-Site).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import current_app, g, request, url_for
from markupsafe import Markup

from lti_tool.db import db
from lti_tool.errors import AccessDenied, Message
from lti_tool.lti.context import LaunchContext
from lti_tool.lti.services import LaunchGone, load_launch

BROWSER_COOKIE = "socle_browser"
LAUNCH_PARAM = "launch"
CSRF_FIELD = "csrf_token"
# For scripts of our pages that post without a form (none today); the form field is the usual carrier.
CSRF_HEADER = "X-Socle-CSRF"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# A browser's own navigation ("none": typed or bookmarked) or a page of ours; anything else is another site.
SAME_SITE_FETCHES = frozenset({"same-origin", "none"})

F = TypeVar("F", bound=Callable[..., Any])


class StaffOnly(AccessDenied):
    status = 403
    code = "staff_only"
    what = Message(
        "Cette page est réservée aux formateurs et responsables de formation.",
        "This page is for trainers and training managers only.",
    )
    todo = Message(
        "Si vous encadrez ce cours, lancez l'activité avec votre rôle d'enseignant dans la plateforme.",
        "If you run this course, launch the activity with your teacher role on the platform.",
    )


class AdminOnly(AccessDenied):
    """A page or an action for the platform's administrators only (staff alone is ``require_launch``'s)."""

    code = "admin_only"
    what = Message(
        "Cette page est réservée aux administrateurs de la plateforme.",
        "This page is for platform administrators.",
    )
    todo = Message("Lancez Socle avec un rôle d'administrateur.", "Launch Socle with an administrator role.")


class CsrfRefused(AccessDenied):
    """A state-changing request without this launch's CSRF token: not sent by a page of this launch."""

    status = 403
    code = "csrf_refused"
    title = Message("Formulaire refusé", "Form refused")
    what = Message(
        "Ce formulaire n'a pas été envoyé depuis une page de votre session Socle (jeton de sécurité absent "
        "ou invalide) ; rien n'a été modifié.",
        "This form was not sent from a page of your Socle session (security token missing or invalid); "
        "nothing was changed.",
    )
    todo = Message(
        "Rechargez la page, ou relancez l'activité depuis votre cours, puis recommencez.",
        "Reload the page, or launch the activity again from your course, then try again.",
    )


class CrossSiteRefused(CsrfRefused):
    """A state-changing request sent by another site's page."""

    code = "cross_site_refused"
    what = Message(
        "Cette demande vient d'un autre site que Socle ; elle a été refusée et rien n'a été modifié.",
        "This request comes from another site than Socle; it was refused and nothing was changed.",
    )


def launch_id_from_request() -> str | None:
    # Not from a header: a launch id is not a credential scripts or other clients can present on its own.
    return request.args.get(LAUNCH_PARAM) or request.form.get(LAUNCH_PARAM)


def current_launch() -> LaunchContext:
    """The launch this request belongs to; raises AccessDenied when there is none.

    A state-changing request must also come from our own pages and carry the launch's CSRF token."""
    if "launch" not in g:
        launch_id = launch_id_from_request()
        if not launch_id:
            raise LaunchGone()
        if request.method in UNSAFE_METHODS:
            check_same_origin()
            check_csrf(launch_id)
        g.launch = load_launch(
            db.session,
            launch_id,
            browser_id=request.cookies.get(BROWSER_COOKIE),
            idle_seconds=current_app.config["LAUNCH_IDLE_MINUTES"] * 60,
            max_age_seconds=current_app.config["LAUNCH_TTL_SECONDS"],
        )
    launch: LaunchContext = g.launch
    return launch


def loaded_launch() -> LaunchContext | None:
    """The launch already found for this request, if any (never raises: safe while an error renders)."""
    launch: LaunchContext | None = g.get("launch")
    return launch


def require_launch(*, staff: bool = False) -> Callable[[F], F]:
    """Decorate a view that needs a launch (and, with ``staff=True``, a staff role in it)."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            launch = current_launch()
            if staff and not launch.is_staff:
                raise StaffOnly()
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def require_admin(launch: LaunchContext, what: Message | None = None) -> None:
    """Refuse (403 ``admin_only``) a launch without an administrator role; ``what`` names what is refused."""
    if not launch.is_admin:
        raise AdminOnly(what)


def here(endpoint: str, **values: Any) -> str:
    """A URL in this launch (the launch id travels with every link and form, and so does a language the
    person chose with the switch: it lasts for the rest of the launch, not one page)."""
    chosen = request.args.get("lang")
    if chosen in current_app.config["LANGUAGES"]:
        values.setdefault("lang", chosen)
    return url_for(endpoint, launch=current_launch().launch_id, **values)


# -- CSRF ------------------------------------------------------------------------------------------------
def csrf_token_for(launch_id: str) -> str:
    """The launch's CSRF token: an HMAC of its id under the app's secret key.

    Bound to the launch rather than to a session cookie, which a cross-site LMS iframe may not keep; it
    needs no storage, and a page of one launch cannot post for another."""
    key = str(current_app.config["SECRET_KEY"]).encode("utf-8")
    digest = hmac.new(key, b"socle-csrf\x00" + launch_id.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def csrf_token() -> str:
    """For templates: this page's launch's CSRF token ("" on a page without a launch)."""
    launch = loaded_launch()
    return csrf_token_for(launch.launch_id) if launch is not None else ""


def csrf_field() -> Markup:
    """For templates: the hidden field every ``<form method="post">`` of a launch page carries."""
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, csrf_token())


def check_csrf(launch_id: str) -> None:
    offered = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    if not hmac.compare_digest(offered.encode("utf-8"), csrf_token_for(launch_id).encode("utf-8")):
        raise CsrfRefused()


def check_same_origin() -> None:
    """Refuse a request a page of another site sent (browsers say so in Sec-Fetch-Site and Origin).

    A client that sends neither (not a browser) still needs the CSRF token."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in SAME_SITE_FETCHES:
        raise CrossSiteRefused()
    origin = request.headers.get("Origin")
    if origin is not None and origin not in _own_origins():
        raise CrossSiteRefused()


def _own_origins() -> tuple[str, str]:
    base = urlsplit(current_app.config["BASE_URL"])
    return f"{base.scheme}://{base.netloc}", request.host_url.rstrip("/")
