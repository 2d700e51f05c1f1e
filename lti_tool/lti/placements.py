"""What the teachers placed in a course: only that shows on the learner home and gets a gradebook column.

A placement is learnt from a Deep Linking selection (each item chosen) and from every resource-link launch
(its custom ``module`` or ``activity``). A link with neither is Socle itself placed as a whole, and so is the
« Parcours complet » item (custom ``activity=path``): "the whole path", every module and the autodiagnostic.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import bindparam, select

from lti_tool.db import DbSession, insert_once
from lti_tool.lti.models import Placement

WHOLE_PATH = "path"
# A resource placed by a link that sends no score (custom ``score=none``) is recorded as ``<id>:sans-note``.
UNGRADED = ":sans-note"
# Values of a link's custom ``score`` parameter meaning: this activity sends no score to the gradebook.
NO_SCORE = frozenset({"none", "no", "non", "aucune", "false", "0"})


def resource_of(custom: Mapping[str, str], module_id: str | None) -> str | None:
    """The resource a link places: its module (``module_id``, resolved from custom ``module``),
    ``autodiagnostic``, ``path`` for the whole path (or a link naming nothing), or None (a staff area, an
    unknown module)."""
    resource: str | None = None
    activity = str(custom.get("activity", "")).strip().lower()
    if custom.get("module"):
        resource = module_id
    elif activity in ("autodiagnostic", "diagnostic"):
        resource = "autodiagnostic"
    elif activity in ("", WHOLE_PATH):
        return WHOLE_PATH
    if resource is not None and sends_no_score(custom):
        return resource + UNGRADED
    return resource


def sends_no_score(custom: Mapping[str, str]) -> bool:
    """The teacher chose, on this link, that it sends no score (custom ``score=none``)."""
    return str(custom.get("score", "")).strip().lower() in NO_SCORE


def is_graded(resources: set[str], resource_id: str, *, is_in_path: bool) -> bool:
    """Whether a score for this resource belongs in the course's gradebook: a link placed it with a grade,
    or it is part of the whole path and no link placed it without one."""
    if resource_id in resources:
        return True
    return is_in_path and WHOLE_PATH in resources and resource_id + UNGRADED not in resources


def place(session: DbSession, context_pk: int, resource_id: str) -> None:
    """Remember that the course holds this resource (idempotent, safe under concurrent launches)."""
    insert_once(
        session,
        Placement,
        {"context_pk": context_pk, "resource_id": resource_id},
        ("context_pk", "resource_id"),
    )


def placed(session: DbSession, context_pk: int) -> set[str]:
    return set(session.scalars(_PLACED, {"context_pk": context_pk}))


# Built once: every learner home asks it.
_PLACED = select(Placement.resource_id).where(Placement.context_pk == bindparam("context_pk"))


def offered(session: DbSession, context_pk: int, module_ids: Iterable[str]) -> set[str]:
    """The resources learners of this course are offered: what was placed, or all of them for the whole
    path."""
    resources = {resource.removesuffix(UNGRADED) for resource in placed(session, context_pk)}
    if WHOLE_PATH in resources:
        return {*module_ids, "autodiagnostic", WHOLE_PATH}
    return resources
