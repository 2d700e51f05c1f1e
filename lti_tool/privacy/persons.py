"""Finding the person a privacy request is about: by id or LTI identity, within an administrator's
registration, and every row and statement that is about them.

No Flask here: callers pass the session. Logs carry ids only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Integer, Table, func, or_, select

from lti_tool.dashboard.scope import StaffScope
from lti_tool.db import DbSession, db
from lti_tool.errors import Message, SocleError, not_found
from lti_tool.learners.models import Enrolment, Learner
from xapi import store

# A credential outlives its holder's erasure (revoked, its document deleted) so that its status-list bit
# stays set; it then belongs to a stand-in with a random sub, no name and no e-mail.
STAND_IN_PREFIX = "socle-erased:"

# Confirmation word of the erasure page, accepted beside the person's displayed name.
CONFIRM_WORD = "EFFACER"


class OtherRegistrations(SocleError):
    """The person also uses Socle through another registration: only the operator may act on them."""

    status = 409
    code = "other_registrations"
    title = Message("Personne présente ailleurs", "Person present elsewhere")


class OwnAccount(SocleError):
    status = 409
    code = "own_account"
    title = Message("Votre propre compte", "Your own account")


def ifi(learner: Learner) -> str:
    """The xAPI agent index key of a person (account on the platform's issuer, name = LTI sub)."""
    return f"account:{learner.issuer}|{learner.sub}"


def is_stand_in(learner: Learner) -> bool:
    return learner.sub.startswith(STAND_IN_PREFIX)


def find_learner(
    session: DbSession, learner_id: int | None = None, issuer: str | None = None, sub: str | None = None
) -> Learner:
    """A person by Socle's id, or by the platform's issuer and LTI sub (stand-ins are nobody)."""
    if learner_id is not None:
        learner = session.get(Learner, learner_id)
    else:
        learner = session.scalar(select(Learner).where(Learner.issuer == issuer, Learner.sub == sub))
    if learner is None or is_stand_in(learner):
        raise not_found("Cette personne", "This person")
    return learner


def registrations_of(session: DbSession, learner: Learner) -> set[int]:
    """The platform registrations a person came through (a person is one per issuer and sub)."""
    found = set(session.scalars(select(Enrolment.platform_id).where(Enrolment.learner_id == learner.id)))
    return found | {learner.platform_id}


def learner_of_registration(session: DbSession, scope: StaffScope, learner_id: int) -> Learner:
    """A person enrolled in a context the (administrator's) scope sees; 404 otherwise, as if unknown."""
    learner = session.get(Learner, learner_id)
    enrolled = session.scalar(
        select(Enrolment.id)
        .where(Enrolment.learner_id == learner_id, scope.contexts_clause(Enrolment.__table__.c.context_pk))
        .limit(1)
    )
    if learner is None or enrolled is None or is_stand_in(learner):
        raise not_found("Cette personne", "This person")
    return learner


def only_in(session: DbSession, learner: Learner, platform_id: int) -> None:
    """Refuse a person who also uses Socle through another registration of the same platform."""
    if registrations_of(session, learner) != {platform_id}:
        raise OtherRegistrations(
            Message(
                "Cette personne utilise aussi Socle par une autre inscription de votre plateforme.",
                "This person also uses Socle through another registration of your platform.",
            ),
            Message(
                "Demandez à l'exploitant de Socle d'exporter ou d'effacer ses données en ligne de commande.",
                "Ask the Socle operator to export or erase their data from the command line.",
            ),
        )


@dataclass(frozen=True)
class PersonRow:
    learner: Learner
    is_staff: bool


def people(
    session: DbSession, scope: StaffScope, context_pk: int, query: str | None, limit: int = 50
) -> list[PersonRow]:
    """People of this course, or of the whole registration whose name, e-mail or LTI id contains
    ``query``."""
    staff = func.max(Enrolment.is_staff.cast(Integer))
    statement = (
        select(Learner, staff)
        .join(Enrolment, Enrolment.learner_id == Learner.id)
        .group_by(Learner.id)
        .order_by(Learner.family_name, Learner.name, Learner.id)
        .limit(limit)
    )
    if query:
        text = query.strip()
        statement = statement.where(
            scope.contexts_clause(Enrolment.__table__.c.context_pk),
            or_(
                *(
                    column.icontains(text, autoescape=True)
                    for column in (
                        Learner.name,
                        Learner.given_name,
                        Learner.family_name,
                        Learner.email,
                        Learner.sub,
                    )
                )
            ),
        )
    else:
        scope.context(session, context_pk)
        statement = statement.where(Enrolment.context_pk == context_pk)
    return [PersonRow(learner, bool(is_staff)) for learner, is_staff in session.execute(statement)]


def confirms(learner: Learner, typed: str) -> bool:
    """The erasure form's confirmation: the person's displayed name, or the word EFFACER."""
    typed = " ".join(typed.split()).casefold()
    name = " ".join((learner.formal_name or "").split()).casefold()
    return bool(typed) and typed in {CONFIRM_WORD.casefold(), name}


def statement_ids(session: DbSession, learner: Learner) -> list[str]:
    """The statements whose actor (or agent object) is the person."""
    return store.actor_statement_ids(session, ifi(learner))


def learner_references() -> list[tuple[Table, Column[Any], bool]]:
    """Every column that points at a person, children tables first; True when the row goes with the
    person, False when only the reference is cleared (the facilitator who reviewed, planned…). Read from
    the metadata, so that a table added later is erased too (the models of every feature are imported
    by then: the export and erasure modules import them, and the app imports every blueprint)."""
    learners = Learner.__table__
    found = []
    for table in reversed(db.metadata.sorted_tables):
        for key in sorted(table.foreign_keys, key=lambda k: k.parent.name):
            if table is not learners and key.column is learners.c.id:
                found.append((table, key.parent, (key.ondelete or "").upper() != "SET NULL"))
    return found
