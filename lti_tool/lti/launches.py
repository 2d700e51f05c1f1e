"""Follow-up requests: find the launch from the id carried in the page (not from a third-party cookie)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import g, request

from lti_tool.db import db
from lti_tool.errors import AccessDenied, Message
from lti_tool.lti.context import LaunchContext
from lti_tool.lti.services import LAUNCH_GONE, load_launch

BROWSER_COOKIE = "socle_browser"
LAUNCH_PARAM = "launch"
LAUNCH_HEADER = "X-Socle-Launch"

F = TypeVar("F", bound=Callable[..., Any])

STAFF_ONLY = AccessDenied(
    Message(
        "Cette page est réservée aux formateurs et responsables de formation.",
        "This page is for trainers and training managers only.",
    ),
    Message(
        "Si vous encadrez ce cours, lancez l'activité avec votre rôle d'enseignant dans la plateforme.",
        "If you run this course, launch the activity with your teacher role on the platform.",
    ),
    code="staff_only",
    status=403,
)


def launch_id_from_request() -> str | None:
    return (
        request.args.get(LAUNCH_PARAM) or request.form.get(LAUNCH_PARAM) or request.headers.get(LAUNCH_HEADER)
    )


def current_launch() -> LaunchContext:
    """The launch this request belongs to; raises AccessDenied when there is none."""
    if "launch" not in g:
        launch_id = launch_id_from_request()
        if not launch_id:
            raise LAUNCH_GONE
        g.launch = load_launch(db.session, launch_id, browser_id=request.cookies.get(BROWSER_COOKIE))
    launch: LaunchContext = g.launch
    return launch


def require_launch(*, staff: bool = False) -> Callable[[F], F]:
    """Decorate a view that needs a launch (and, with ``staff=True``, a staff role in it)."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            launch = current_launch()
            if staff and not launch.is_staff:
                raise STAFF_ONLY
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator
