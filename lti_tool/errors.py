"""One error hierarchy, turned into HTTP in one place.

Pages get an HTML answer that fits an LMS iframe and says, in French then English, what went wrong and
what to do; API routes get JSON. Nothing here ever answers 500 for bad input.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from lti_tool.content.typography import french

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    """A sentence in both languages."""

    fr: str
    en: str

    def __post_init__(self) -> None:
        # French spacing (narrow no-break space before ; : ! ? ») whatever the author typed
        object.__setattr__(self, "fr", french(self.fr))


class SocleError(Exception):
    """Base of every error the tool shows to a person or a client.

    A refusal that always says the same thing is a subclass with its ``what`` and ``todo`` (raised as
    ``LaunchGone()``), never a module-level instance: raising one instance again and again would chain
    every traceback onto it (memory grows per refused request, and one log line per frame ever raised)."""

    status = 400
    code = "error"
    title = Message("Une erreur est survenue", "Something went wrong")
    what: Message
    todo: Message

    def __init__(
        self,
        what: Message | None = None,
        todo: Message | None = None,
        *,
        code: str | None = None,
        status: int | None = None,
    ):
        what = what or type(self).what
        todo = todo or type(self).todo
        super().__init__(what.en)
        self.what = what
        self.todo = todo
        if code:
            self.code = code
        if status:
            self.status = status


class LaunchRejected(SocleError):
    """An LTI login or launch that fails validation; nothing is recorded."""

    status = 400
    code = "launch_rejected"
    title = Message("Lancement refusé", "Launch refused")


class CookiesBlocked(LaunchRejected):
    """The browser did not return our state cookie: offer to open the tool in a new window."""

    status = 401
    code = "cookies_blocked"
    title = Message("Votre navigateur bloque les cookies", "Your browser blocks cookies")

    def __init__(self, what: Message, todo: Message, *, retry_url: str):
        super().__init__(what, todo)
        self.retry_url = retry_url


class PlatformError(SocleError):
    """The platform itself reported an error instead of sending a launch."""

    status = 400
    code = "platform_error"
    title = Message("La plateforme a signalé une erreur", "The platform reported an error")


class AccessDenied(SocleError):
    status = 403
    code = "forbidden"
    title = Message("Accès refusé", "Access denied")


class NotFound(SocleError):
    status = 404
    code = "not_found"
    title = Message("Page introuvable", "Page not found")


HTTP_MESSAGES: dict[int, tuple[Message, Message, Message]] = {
    404: (
        Message("Page introuvable", "Page not found"),
        Message("Cette adresse n'existe pas.", "This address does not exist."),
        Message("Revenez à votre cours et relancez l'activité.", "Go back to your course and launch again."),
    ),
    405: (
        Message("Type de requête non accepté", "Method not allowed"),
        Message(
            "Cette adresse n'accepte pas ce type de requête.",
            "This address does not accept this kind of request.",
        ),
        Message(
            "Lancez l'activité depuis votre plateforme (Moodle…) plutôt que d'ouvrir l'adresse directement.",
            "Launch the activity from your platform (Moodle…) instead of opening the address directly.",
        ),
    ),
    413: (
        Message("Requête trop volumineuse", "Request too large"),
        Message("La requête est trop volumineuse.", "The request is too large."),
        Message(
            "Relancez l'activité ; si le problème persiste, contactez l'administrateur de la plateforme.",
            "Launch again; if it persists, contact the platform administrator.",
        ),
    ),
}


def _wants_json() -> bool:
    return request.path.startswith(("/xapi/", "/api/")) or request.path == "/health"


def _back_url() -> str | None:
    """The page the refused request came from, when it is one of ours: the error page offers a way back."""
    referrer = request.referrer
    if referrer and referrer.startswith(request.host_url) and referrer != request.url:
        return referrer
    return None


def _render(error: SocleError) -> tuple[Response | str, int]:
    if _wants_json():
        return jsonify(
            error=error.code, message=error.what.en, message_fr=error.what.fr, fix=error.todo.en
        ), (error.status)
    return render_template("error.html", error=error, back_url=_back_url()), error.status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(SocleError)
    def handle_socle_error(error: SocleError) -> tuple[Response | str, int]:
        # The code says which rule refused; never the token or the person.
        log.info("refused %s %s: %s", request.method, request.path, error.code)
        return _render(error)

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException) -> tuple[Response | str, int] | HTTPException:
        status = error.code or 500
        if status not in HTTP_MESSAGES:
            return error
        title, what, todo = HTTP_MESSAGES[status]
        wrapped = SocleError(what, todo, code=f"http_{status}", status=status)
        wrapped.title = title
        return _render(wrapped)

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception) -> tuple[Response | str, int]:
        log.exception("unexpected error on %s %s", request.method, request.path)
        wrapped = SocleError(
            Message(
                "Une erreur inattendue est survenue de notre côté.",
                "An unexpected error occurred on our side.",
            ),
            Message(
                "Réessayez dans un instant ; si elle persiste, signalez-la à l'équipe Socle.",
                "Try again in a moment; if it persists, report it to the Socle team.",
            ),
            code="internal",
            status=500,
        )
        return _render(wrapped)


class InvalidInput(SocleError):
    """A form that does not fit what the page offered (tampered, stale or for something else)."""

    status = 400
    code = "invalid_input"
    title = Message("Réponse refusée", "Answer refused")


class AlreadyRecorded(SocleError):
    """A submission that was already recorded (a replay, a double click): nothing changes."""

    status = 409
    code = "already_recorded"
    title = Message("Déjà enregistré", "Already recorded")


def not_found(what_fr: str, what_en: str) -> NotFound:
    return NotFound(
        Message(f"{what_fr} n'existe pas.", f"{what_en} does not exist."),
        Message(
            "Revenez à l'accueil de votre parcours et choisissez dans la liste.",
            "Go back to your learning home and pick from the list.",
        ),
    )


def refused(code: str, fr: str, en: str, status: int = 400) -> InvalidInput:
    return InvalidInput(
        Message(fr, en),
        Message(
            "Revenez à la page précédente (lien ci-dessous), corrigez et envoyez à nouveau.",
            "Go back to the previous page (link below), correct and send again.",
        ),
        code=code,
        status=status,
    )
