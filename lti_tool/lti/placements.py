"""What the teachers placed in a course: only that shows on the learner home and gets a gradebook column.

A placement is learnt from a Deep Linking selection (each item chosen) and from every resource-link launch
(its custom ``module`` or ``activity``). A link with neither is Socle itself placed as a whole, and so is the
« Parcours complet » item (custom ``activity=path``): "the whole path", every module and the autodiagnostic.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from lti_tool.db import DbSession
from lti_tool.lti.models import Placement

WHOLE_PATH = "path"


def resource_of(custom: Mapping[str, str], module_id: str | None) -> str | None:
    """The resource a link places: its module (``module_id``, resolved from custom ``module``),
    ``autodiagnostic``, ``path`` for the whole path (or a link naming nothing), or None (a staff area, an
    unknown module)."""
    if custom.get("module"):
        return module_id
    activity = str(custom.get("activity", "")).strip().lower()
    if activity in ("autodiagnostic", "diagnostic"):
        return "autodiagnostic"
    if activity in ("", WHOLE_PATH):
        return WHOLE_PATH
    return None


def place(session: DbSession, context_pk: int, resource_id: str) -> None:
    """Remember that the course holds this resource (idempotent, safe under concurrent launches)."""
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(Placement)
        .values(context_pk=context_pk, resource_id=resource_id)
        .on_conflict_do_nothing(index_elements=["context_pk", "resource_id"])
    )


def placed(session: DbSession, context_pk: int) -> set[str]:
    return set(session.scalars(select(Placement.resource_id).where(Placement.context_pk == context_pk)))


def offered(session: DbSession, context_pk: int, module_ids: Iterable[str]) -> set[str]:
    """The resources learners of this course are offered: what was placed, or all of them for the whole
    path."""
    resources = placed(session, context_pk)
    if WHOLE_PATH in resources:
        return {*module_ids, "autodiagnostic", WHOLE_PATH}
    return resources
