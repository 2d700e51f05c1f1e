"""A course's roster, read from the platform (LTI Names and Role Provisioning Services) and recorded in the
caller's transaction, which the request commits."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from lti_tool.db import DbSession
from lti_tool.learners.models import Context, Deployment, Platform
from lti_tool.lti import nrps
from lti_tool.lti.platform_services import PlatformServices, ServiceError
from lti_tool.lti.runtime import LtiRuntime

# A staff launch refreshes the roster from the platform when it is older than this.
ROSTER_MAX_AGE_SECONDS = 600


def refresh(session: DbSession, engine: Engine, lti: LtiRuntime, context: Context) -> str | None:
    """Read the course roster from the platform now and record it (flushed; committed with the request).

    On failure, keep what is known and say why (never a 500): the roster is read whole before anything is
    recorded, so a refusal leaves nothing half-written."""
    platform = session.get(Platform, context.platform_id)
    deployment = session.get(Deployment, context.deployment_pk)
    if platform is None or deployment is None:
        return None
    try:
        nrps.sync_roster(session, PlatformServices(platform, lti.keys, lti.http, engine), context, deployment)
    except ServiceError as error:
        return str(error)
    return None


def refresh_if_stale(session: DbSession, engine: Engine, lti: LtiRuntime, context: Context) -> str | None:
    """Refresh the roster when the platform offers one and the last reading is older than
    ``ROSTER_MAX_AGE_SECONDS``; None, or why it could not be read."""
    if not context.memberships_url or not nrps.roster_stale(context, ROSTER_MAX_AGE_SECONDS):
        return None
    return refresh(session, engine, lti, context)
