"""The dashboard's query string, read and checked: the filters (course, module, competence, activity period,
search, days without activity), the page and the alert reason. A bad value is a 400 that says what to fix; a
course outside the launch's scope is a 404. The pages take what comes out of here, never ``request.args``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from lti_tool import inputs
from lti_tool.content.loader import Content
from lti_tool.dashboard import cohort
from lti_tool.dashboard.cohort import Filters
from lti_tool.dashboard.scope import StaffScope
from lti_tool.db import DbSession
from lti_tool.errors import InvalidInput, refused

SEARCH_MAX = 100
MAX_PAGE = 100_000


@dataclass(frozen=True)
class Chosen:
    """The filters as parsed, and as they go back into links (only those given)."""

    filters: Filters
    args: dict[str, str]


def parse_filters(
    session: DbSession, args: Mapping[str, str], scope: StaffScope, content: Content, timezone: ZoneInfo
) -> Chosen:
    """Validate the dashboard's filters: a bad value answers 400 with what to fix, a course outside the
    launch's scope 404."""
    kept: dict[str, str] = {}
    context_pk = None
    raw = args.get("context", "").strip()
    if raw:
        context_pk = scope.context(session, inputs.identifier(raw, "context", code="bad_context")).id
        kept["context"] = raw
    module = args.get("module", "").strip() or None
    if module is not None:
        found = content.module(module)
        if found is None:
            raise refused(
                "bad_module",
                "Ce module n'existe pas : choisissez-le dans la liste (M1 à M8).",
                "This module does not exist: pick it from the list (M1 to M8).",
            )
        module = found.id
        kept["module"] = module
    competence = args.get("competence", "").strip().upper() or None
    if competence is not None:
        programme = content.programme
        codes = {c.code for c in programme.competences} | {b.code for b in programme.blocs}
        if competence not in codes:
            raise refused(
                "bad_competence",
                "Cette compétence n'existe pas : choisissez-la dans la liste (C1 à C9, B1 à B4).",
                "This competence does not exist: pick it from the list (C1 to C9, B1 to B4).",
            )
        kept["competence"] = competence
    since = _day(args, "since")
    until = _day(args, "until")
    if since and until and since > until:
        raise refused(
            "bad_dates",
            "La date de début de la période d'activité est après sa date de fin.",
            "The start of the activity period is after its end.",
        )
    for name, value in (("since", since), ("until", until)):
        if value is not None:
            kept[name] = value.isoformat()
    search = " ".join(args.get("q", "").split()) or None
    if search is not None:
        if len(search) > SEARCH_MAX:
            raise refused(
                "bad_search",
                f"La recherche dépasse {SEARCH_MAX} caractères : raccourcissez-la.",
                f"The search is over {SEARCH_MAX} characters: shorten it.",
            )
        kept["q"] = search
    days = _number(
        args,
        "days",
        1,
        365,
        cohort.DEFAULT_INACTIVE_DAYS,
        "Le nombre de jours sans activité doit être un entier de 1 à 365.",
        "The number of days without activity must be a whole number from 1 to 365.",
    )
    if days != cohort.DEFAULT_INACTIVE_DAYS:
        kept["days"] = str(days)
    return Chosen(
        Filters(
            context_pk=context_pk,
            module=module,
            competence=competence,
            active_from=_start_of(since, timezone),
            # The period includes its last day: activity before the midnight that ends it.
            active_until=_start_of(until + timedelta(days=1), timezone) if until else None,
            search=search,
            inactive_days=days,
        ),
        kept,
    )


def _day(args: Mapping[str, str], name: str) -> date | None:
    raw = args.get(name, "").strip()
    if not raw:
        return None
    try:
        if len(raw) == 10:  # fromisoformat also takes 20260331 and week dates: only AAAA-MM-JJ is offered
            day = date.fromisoformat(raw)
            # Year 1 cannot move to UTC, 9999-12-31 has no next day: both were a 500.
            if inputs.MIN_YEAR <= day.year <= inputs.MAX_YEAR:
                return day
    except ValueError:
        pass
    raise refused(
        "bad_date",
        "Une date de la période d'activité n'est pas au format AAAA-MM-JJ (par exemple 2026-03-31).",
        "A date of the activity period is not in the YYYY-MM-DD format (for example 2026-03-31).",
    )


def _start_of(day: date | None, timezone: ZoneInfo) -> datetime | None:
    """Midnight of that day where the programme runs (TIMEZONE), in UTC."""
    if day is None:
        return None
    return datetime.combine(day, time(0, 0), tzinfo=timezone).astimezone(UTC)


def _number(args: Mapping[str, str], name: str, low: int, high: int, default: int, fr: str, en: str) -> int:
    raw = args.get(name, "").strip()
    if not raw:
        return default
    try:
        return inputs.integer(raw, name, low=low, high=high)
    except InvalidInput as error:
        raise refused(f"bad_{name}", fr, en) from error


def page(args: Mapping[str, str]) -> int:
    return _number(
        args,
        "page",
        1,
        MAX_PAGE,
        1,
        "Le numéro de page doit être un entier positif.",
        "The page number must be a positive whole number.",
    )


def risk(args: Mapping[str, str]) -> str | None:
    chosen = args.get("risk", "").strip() or None
    if chosen is not None and chosen not in cohort.RISKS:
        raise refused(
            "bad_risk",
            "Ce motif d'alerte n'existe pas : choisissez-le dans la liste.",
            "This alert reason does not exist: pick it from the list.",
        )
    return chosen
