"""The small condition language of the routing rules (``when:`` in autodiagnostic.yaml). Pure functions.

A condition is a mapping with one key:
- ``level: [L2, L3]``: the organisation's maturity level (the five axes) is one of these;
- ``practice: [N1, N2]``: the person's practice level is one of these;
- ``priority: [D]``: the organisation's priority axis (its lowest score) is one of these;
- ``profile: {P1: [grantmaker], P3: [moins-2h]}``: every named profiling answer is one of its options;
- ``spread_at_least: 40``: max - min of the axis scores is at least this;
- ``all: [cond, …]`` / ``any: [cond, …]``.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Facts:
    level: str  # the organisation's maturity level
    profile: Mapping[str, str]
    spread: float
    practice: str = ""  # the person's practice level
    priority: str = ""  # the organisation's priority axis


def matches(condition: Mapping[str, Any], facts: Facts) -> bool:
    (key, value), *_ = condition.items()
    if key == "level":
        return facts.level in value
    if key == "practice":
        return facts.practice in value
    if key == "priority":
        return facts.priority in value
    if key == "profile":
        return all(facts.profile.get(question) in options for question, options in value.items())
    if key == "spread_at_least":
        return facts.spread >= float(value)
    if key == "all":
        return all(matches(part, facts) for part in value)
    if key == "any":
        return any(matches(part, facts) for part in value)
    raise ValueError(f"unknown condition {key!r}")  # check() refuses it at load time


KEYS = "level, practice, priority, profile, spread_at_least, all, any"


def check(
    condition: Any,
    levels: Set[str],
    profile: Mapping[str, Set[str]],
    where: str,
    practice: Set[str] = frozenset(),
    axes: Set[str] = frozenset(),
) -> list[str]:
    """Every problem in a condition, as 'where: what is wrong; what to write instead'."""
    if not isinstance(condition, Mapping) or len(condition) != 1:
        return [f"{where}: a condition is a mapping with exactly one key ({KEYS})"]
    (key, value), *_ = condition.items()
    known = {
        "level": (levels, "level", "level codes, e.g. [L2]"),
        "practice": (practice, "practice level", "practice level codes, e.g. [N1]"),
        "priority": (axes, "axis", "axis ids, e.g. [D]"),
    }
    if key in known:
        allowed, noun, example = known[key]
        if not isinstance(value, list) or not value:
            return [f"{where}.{key}: give a list of {example}"]
        return [
            f"{where}.{key}: unknown {noun} {v!r}; use one of {sorted(allowed)}"
            for v in value
            if v not in allowed
        ]
    if key == "profile":
        if not isinstance(value, Mapping) or not value:
            return [f"{where}.profile: give profiling answers, e.g. {{P1: [grantmaker]}}"]
        problems = []
        for question, options in value.items():
            if question not in profile:
                problems.append(
                    f"{where}.profile.{question}: unknown profiling question; use one of {sorted(profile)}"
                )
            elif not isinstance(options, list) or not options:
                problems.append(f"{where}.profile.{question}: give a list of options")
            else:
                problems += [
                    f"{where}.profile.{question}: unknown option {o!r}; "
                    f"use one of {sorted(profile[question])}"
                    for o in options
                    if o not in profile[question]
                ]
        return problems
    if key == "spread_at_least":
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
            return [f"{where}.spread_at_least: give a number between 0 and 100"]
        return []
    if key in ("all", "any"):
        if not isinstance(value, list) or not value:
            return [f"{where}.{key}: give a list of conditions"]
        return [
            p
            for i, part in enumerate(value)
            for p in check(part, levels, profile, f"{where}.{key}[{i}]", practice, axes)
        ]
    return [f"{where}: unknown condition {key!r}; use one of {KEYS}"]
