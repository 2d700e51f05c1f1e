"""What the autodiagnostic's content offers, read from the content alone (pure): the loader checks the routing
rules with it, and the diagnostic scores with it."""

from __future__ import annotations

from collections.abc import Mapping, Set

from lti_tool.content.schemas import Diagnostic


def all_question_ids(diagnostic: Diagnostic) -> list[str]:
    return [q.id for q in diagnostic.practice.questions] + [
        q.id for axis in diagnostic.axes for q in axis.questions
    ]


def formats_offered(
    diagnostic: Diagnostic, wanted: list[str], profile: Mapping[str, str], planned_modules: Set[str]
) -> list[str]:
    """The wanted formats this person can follow today: offered, not already followed (P4), and, for a
    live format, with a session planned in the course."""
    offers = {o.format: o for o in diagnostic.offers}
    followed = {
        f
        for question, by_option in diagnostic.routing.already_followed.items()
        for f in by_option.get(profile.get(question, ""), [])
    }
    return [
        f
        for f in wanted
        if f in offers
        and f not in followed
        and (not offers[f].needs_session or offers[f].module in planned_modules)
    ]
