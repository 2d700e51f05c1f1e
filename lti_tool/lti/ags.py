"""Assignment and Grade Services: scores go to the platform's gradebook through a durable outbox.

A score is queued in the transaction of the event that earns it (quiz result, module completed,
autodiagnostic submitted); the worker finds or creates the gradebook column (line item), posts the score with
``FullyGraded`` and a timestamp strictly later than the previous one for that learner and column (Moodle
answers 409 otherwise, at second precision), retries with backoff while the platform is down, and keeps
what the platform refuses (a learner not enrolled, a revoked tool) visible to staff.
"""

from __future__ import annotations

import logging
import random
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from flask import current_app, has_app_context
from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from lti_tool import events, outbound
from lti_tool.content.loader import Module
from lti_tool.db import DbSession, utcnow
from lti_tool.keys import KeyStore
from lti_tool.learners.models import Learner, Platform, display_name
from lti_tool.lti import claims as c
from lti_tool.lti import placements
from lti_tool.lti.models import Launch, LineItem, ScoreOutbox
from lti_tool.lti.platform_services import AGS_LINEITEM, AGS_SCORE, PlatformServices, ServiceError
from lti_tool.scope import Scope

log = logging.getLogger(__name__)

SCORE_MEDIA_TYPE = "application/vnd.ims.lis.v1.score+json"
LINEITEM_MEDIA_TYPE = "application/vnd.ims.lis.v2.lineitem+json"
CONTAINER_MEDIA_TYPE = "application/vnd.ims.lis.v2.lineitemcontainer+json"
TAG = "socle"


def _activity_resource(activity: Any) -> str | None:
    """The resource id a link's custom ``activity`` names (``diagnostic`` is the autodiagnostic too)."""
    return "autodiagnostic" if activity in ("autodiagnostic", "diagnostic") else activity


@dataclass(frozen=True)
class Grade:
    resource_id: str  # M1…M8, autodiagnostic, B1…B4, certificate-fundraiser…
    label: str
    score_given: float | None
    activity_progress: str  # Initialized | Started | InProgress | Submitted | Completed
    grading_progress: str = "FullyGraded"
    score_maximum: float = 100.0
    # Part of the learning path (a module, the autodiagnostic): placed when the course holds the whole path.
    is_in_path: bool = True


def on_event(session: DbSession, recorded: events.Recorded) -> None:
    """The pipeline's gradebook handler: queue the score the event earns, if any."""
    grade = grade_for(recorded.event.type, recorded.event.payload, recorded.module)
    if grade is not None:
        enqueue(session, recorded.scope, grade)


def grade_for(event_type: str, payload: dict[str, Any], module: Module | None) -> Grade | None:
    """The gradebook score an event earns, if any."""
    if event_type in ("quiz_passed", "quiz_failed") and module is not None:
        # The module's rule counts the best attempt (as the learner's page says): a failed retake after a
        # pass must not replace the pass in the platform's gradebook, which keeps only the latest score.
        best = payload.get("best_score")
        score = max(float(payload["score"]), float(best)) if best is not None else float(payload["score"])
        return Grade(module.id, f"{module.id} · {module.meta.title}", round(score * 100, 2), "Submitted")
    if event_type == "module_completed" and module is not None and payload.get("score") is not None:
        return Grade(
            module.id,
            f"{module.id} · {module.meta.title}",
            round(float(payload["score"]) * 100, 2),
            "Completed",
        )
    if event_type == "credential_earned":
        # A bloc or the certificate in the gradebook: 100 when earned (the credential itself is the proof).
        return Grade(
            str(payload["achievement"]), str(payload["name"])[:255], 100.0, "Completed", is_in_path=False
        )
    if event_type == "diagnostic_submitted":
        return Grade(
            "autodiagnostic", "Autodiagnostic", round(float(payload["global_score"]), 2), "Completed"
        )
    return None


def enqueue(session: DbSession, scope: Scope, grade: Grade) -> ScoreOutbox | None:
    """Queue a score if the learner's launch offers AGS with the score scope and the teachers placed the
    resource in the course (or ``AGS_LINE_ITEMS_FOR_UNPLACED`` is set); None otherwise."""
    claim = _ags_claim(session, scope)
    if claim is None or AGS_SCORE not in claim.get("scope", []):
        return None
    if not is_placed(session, scope.context_pk, grade):
        # No column the teacher did not ask for: it would change every learner's course total.
        return None
    if claim.get("_for_resource") == grade.resource_id and claim.get("_sends_no_score"):
        # The teacher chose, on this activity, that it sends no score (an autodiagnostic's 38/100 reads as
        # a failing grade).
        return None
    now = utcnow().replace(microsecond=0)
    last = session.scalar(
        select(func.max(ScoreOutbox.timestamp)).where(
            ScoreOutbox.learner_id == scope.learner_id,
            ScoreOutbox.context_pk == scope.context_pk,
            ScoreOutbox.resource_id == grade.resource_id,
        )
    )
    timestamp = max(now, last + timedelta(seconds=1)) if last else now
    row = ScoreOutbox(
        platform_id=scope.platform_id,
        context_pk=scope.context_pk,
        learner_id=scope.learner_id,
        sub=scope.sub,
        resource_link_id=claim.get("_resource_link_id") or "",
        resource_id=grade.resource_id,
        label=grade.label,
        lineitems_url=claim.get("lineitems"),
        lineitem_url=claim.get("lineitem") if claim.get("_for_resource") == grade.resource_id else None,
        score_given=grade.score_given,
        score_maximum=grade.score_maximum,
        activity_progress=grade.activity_progress,
        grading_progress=grade.grading_progress,
        timestamp=timestamp,
        status="pending",
        attempts=0,
        next_attempt_at=utcnow(),
    )
    session.add(row)
    return row


def is_placed(session: DbSession, context_pk: int, grade: Grade) -> bool:
    """Whether this grade belongs in the course's gradebook: its resource was placed by the teachers."""
    if has_app_context() and current_app.config.get("AGS_LINE_ITEMS_FOR_UNPLACED"):
        return True
    resources = placements.placed(session, context_pk)
    return placements.is_graded(resources, grade.resource_id, is_in_path=grade.is_in_path)


def _ags_claim(session: DbSession, scope: Scope) -> dict[str, Any] | None:
    """The AGS claim of this launch, or else of the learner's latest launch in the course."""
    query = select(Launch.claims, Launch.resource_link_id)
    if scope.launch_id:
        query = query.where(Launch.id == scope.launch_id)
    else:
        query = query.where(Launch.learner_id == scope.learner_id, Launch.context_pk == scope.context_pk)
    row = session.execute(query.order_by(Launch.created_at.desc()).limit(1)).first()
    if row is None or not isinstance(row.claims.get(c.AGS_ENDPOINT), dict):
        return None
    claim = dict(row.claims[c.AGS_ENDPOINT])
    custom = row.claims.get(c.CUSTOM) or {}
    claim["_resource_link_id"] = row.resource_link_id
    module = str(custom.get("module", "")).upper()
    claim["_for_resource"] = module or _activity_resource(custom.get("activity"))
    claim["_sends_no_score"] = placements.sends_no_score(custom)
    return claim


# -- delivery (the worker)
@dataclass(frozen=True)
class Policy:
    batch_size: int = 50
    lease_seconds: int = 60
    base_delay_seconds: float = 5.0
    max_delay_seconds: float = 3600.0
    max_attempts: int = 15


def claim(session: DbSession, policy: Policy) -> list[ScoreOutbox]:
    now = utcnow()
    token = secrets.token_hex(16)
    due = (
        select(ScoreOutbox.id)
        .where(
            ScoreOutbox.status == "pending",
            ScoreOutbox.next_attempt_at <= now,
            (ScoreOutbox.locked_until.is_(None)) | (ScoreOutbox.locked_until < now),
        )
        .order_by(ScoreOutbox.id)
        .limit(policy.batch_size)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    session.execute(
        update(ScoreOutbox)
        .where(
            ScoreOutbox.id.in_(due.scalar_subquery()),
            (ScoreOutbox.locked_until.is_(None)) | (ScoreOutbox.locked_until < now),
        )
        .values(claim_token=token, locked_until=now + timedelta(seconds=policy.lease_seconds))
        .execution_options(synchronize_session=False)
    )
    session.commit()
    # Older scores of a learner and column first: their timestamps must reach the platform in order.
    return list(
        session.scalars(
            select(ScoreOutbox)
            .where(ScoreOutbox.claim_token == token)
            .order_by(ScoreOutbox.timestamp, ScoreOutbox.id)
        )
    )


def run_once(
    session: DbSession, http: requests.Session, keys: KeyStore, engine: Engine, policy: Policy
) -> dict[str, int]:
    """Deliver one batch. No database transaction stays open while the platform is called: each row's
    outcome (and a newly created line item) is written in its own short transaction afterwards."""
    rows = claim(session, policy)
    counts: dict[str, int] = {}
    services: dict[int, PlatformServices] = {}
    for row in rows:
        token = row.claim_token
        platform = session.get(Platform, row.platform_id)
        known = session.scalar(
            select(LineItem.url).where(
                LineItem.context_pk == row.context_pk, LineItem.resource_id == row.resource_id
            )
        )
        session.commit()  # end the read transaction before any network call
        new_line_item: str | None = None
        if platform is None or not platform.is_active:
            outcome = _settle(row, "refused", "la plateforme a été désactivée dans Socle")
        else:
            service = services.setdefault(row.platform_id, PlatformServices(platform, keys, http, engine))
            try:
                url = row.lineitem_url or known
                if url is None:
                    url = new_line_item = _find_or_create_line_item(service, row)
                _post_score(service, row, url)
                outcome = _settle(row, "delivered", None)
            except ServiceError as error:
                outcome = (
                    _retry(row, str(error), policy)
                    if error.retryable
                    else _settle(row, "refused", str(error))
                )
        if (
            new_line_item is not None
            and session.scalar(
                select(LineItem.id).where(
                    LineItem.context_pk == row.context_pk, LineItem.resource_id == row.resource_id
                )
            )
            is None
        ):
            session.add(
                LineItem(
                    platform_id=row.platform_id,
                    context_pk=row.context_pk,
                    resource_link_id="",
                    resource_id=row.resource_id,
                    url=new_line_item,
                    score_maximum=row.score_maximum,
                )
            )
        # Only if the row is still ours: a lease that expired mid-delivery handed it to another worker.
        session.execute(
            update(ScoreOutbox)
            .where(ScoreOutbox.id == row.id, ScoreOutbox.claim_token == token)
            .values(**outcome, claim_token=None, locked_until=None)
            .execution_options(synchronize_session=False)
        )
        session.commit()
        counts[outcome["status"]] = counts.get(outcome["status"], 0) + 1
    return counts


def _post_score(service: PlatformServices, row: ScoreOutbox, url: str) -> None:
    body = {
        "userId": row.sub,
        "scoreMaximum": row.score_maximum,
        "activityProgress": row.activity_progress,
        "gradingProgress": row.grading_progress,
        "timestamp": row.timestamp.isoformat(timespec="seconds"),
    }
    if row.score_given is not None:
        body["scoreGiven"] = row.score_given
    response = service.call(
        "POST", _scores_url(url), [AGS_SCORE], json_body=body, content_type=SCORE_MEDIA_TYPE
    )
    if response.status_code in (200, 201, 202, 204):
        return
    reason = _reason(response)
    if response.status_code == 409:
        raise ServiceError(409, f"la plateforme a déjà une note plus récente ({reason})", retryable=False)
    if response.status_code in (400, 403, 404, 422):
        raise ServiceError(
            response.status_code, f"note refusée par la plateforme : {reason}", retryable=False
        )
    raise ServiceError(response.status_code, f"HTTP {response.status_code} : {reason}", retryable=True)


def _find_or_create_line_item(service: PlatformServices, row: ScoreOutbox) -> str:
    """The platform's column for this resource in this course, or a new one."""
    if not row.lineitems_url:
        raise ServiceError(0, "la plateforme n'offre pas de carnet de notes pour ce cours", retryable=False)
    response = service.call(
        "GET",
        row.lineitems_url,
        [AGS_LINEITEM],
        accept=CONTAINER_MEDIA_TYPE,
        params={"resource_id": row.resource_id, "tag": TAG},
    )
    if response.status_code == 200:
        items = [i for i in response.json() if isinstance(i, dict) and i.get("resourceId") == row.resource_id]
        if items:
            return str(items[0]["id"])
    elif response.status_code >= 500:
        raise ServiceError(
            response.status_code,
            f"carnet de notes indisponible (HTTP {response.status_code})",
            retryable=True,
        )
    created = service.call(
        "POST",
        row.lineitems_url,
        [AGS_LINEITEM],
        accept=LINEITEM_MEDIA_TYPE,
        content_type=LINEITEM_MEDIA_TYPE,
        json_body={
            "scoreMaximum": row.score_maximum,
            "label": row.label,
            "resourceId": row.resource_id,
            "tag": TAG,
        },
    )
    if created.status_code not in (200, 201):
        raise ServiceError(
            created.status_code,
            f"colonne de notes non créée : {_reason(created)}",
            retryable=created.status_code >= 500,
        )
    return str(created.json()["id"])


def _scores_url(lineitem_url: str) -> str:
    """``…/lineitems/7?type_id=3`` → ``…/lineitems/7/scores?type_id=3`` (Moodle keeps a query)."""
    parts = urlsplit(lineitem_url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/scores"))


def _reason(response: requests.Response) -> str:
    """The platform's stated reason, for staff: only its JSON reason fields, short and token-free (never a
    raw page, which could carry anything)."""
    try:
        body = response.json()
        reason = body.get("reason") or body.get("error_description") or body.get("error")
    except (ValueError, AttributeError, RecursionError):
        reason = None
    return outbound.excerpt(str(reason), 200) if reason else f"HTTP {response.status_code}"


def _settle(row: ScoreOutbox, status: str, error: str | None) -> dict[str, Any]:
    """The row's final values: delivered, refused by the platform, or given up."""
    if error:
        log.warning("score %s %s: %s", row.id, status, error[:200])
    values: dict[str, Any] = {
        "status": status,
        "last_error": error[:1000] if error else None,
        "attempts": row.attempts + 1,
    }
    if status == "delivered":
        values["delivered_at"] = utcnow()
    return values


def _retry(row: ScoreOutbox, error: str, policy: Policy) -> dict[str, Any]:
    """The row's values for another try later (exponential backoff), or given up after the last one."""
    if row.attempts + 1 >= policy.max_attempts:
        return _settle(row, "dead", f"abandonné après {row.attempts + 1} essais : {error}")
    delay = min(policy.base_delay_seconds * 2**row.attempts, policy.max_delay_seconds)
    return {
        "status": "pending",
        "last_error": error[:1000],
        "attempts": row.attempts + 1,
        "next_attempt_at": utcnow() + timedelta(seconds=delay * random.uniform(0.8, 1.2)),  # noqa: S311
    }


def context_scores(session: DbSession, context_pk: int) -> list[tuple[ScoreOutbox, str | None]]:
    """The course's latest score sends, each with the learner's name as the platform gave it (None if it
    gave none)."""
    rows = session.execute(
        select(ScoreOutbox, Learner.name, Learner.given_name, Learner.family_name)
        .join(Learner, Learner.id == ScoreOutbox.learner_id)
        .where(ScoreOutbox.context_pk == context_pk)
        .order_by(ScoreOutbox.created_at.desc(), ScoreOutbox.id.desc())
        .limit(500)
    )
    return [(row[0], display_name(row[1], row[2], row[3])) for row in rows]
