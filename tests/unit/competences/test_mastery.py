"""The competence engine on the shipped rules (modules/thresholds.yaml, programme.yaml and the modules'
weights): what counts as evidence, the weighted quiz threshold (exactly at it, just under it), each kind of
judged work, blocs met and not met, waivers, and evidence withdrawn. A change of rule makes one of these fail.

``apply`` runs on an in-memory SQLite database holding only the engine's three tables: it is the function
every evidence-carrying request calls, and what it returns (what became met) is what certificates act on."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

import lti_tool.learners.models  # noqa: F401 - the tables the engine's foreign keys name
from lti_tool.competences.engine import Fact, Met, Owner, apply, facts_of_event, forget, to_ms
from lti_tool.competences.models import CompetenceState, EvidenceLink, LearnerFacts
from lti_tool.competences.rules import Rules, empty_facts, track_for
from lti_tool.content.loader import Content, load_content
from lti_tool.content.schemas import MasteryRule, Thresholds
from tests.unit.content.test_checker import ROOT

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
OWNER = Owner(platform_id=1, context_pk=1, learner_id=1)
# C1 (thresholds.yaml): quizzes M1 (weight 0.6) and M2 (0.4) at 70 %, M1 and M2 completed, M2's production.
C1_WORK = [("completed", "M1"), ("completed", "M2"), ("assessed", "M2")]


@pytest.fixture(scope="module")
def content() -> Content:
    return load_content(ROOT)


@pytest.fixture(scope="module")
def rules(content: Content) -> Rules:
    return Rules(content)


@pytest.fixture
def session() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    tables = [model.__table__ for model in (LearnerFacts, CompetenceState, EvidenceLink)]
    LearnerFacts.metadata.create_all(engine, tables=tables)
    with Session(engine) as session:
        yield session
    engine.dispose()


def facts(**changes: dict[str, Any]) -> dict[str, Any]:
    return empty_facts() | changes


def fact(kind: str, module: str, minutes: int = 0, **values: Any) -> Fact:
    return Fact(kind, module, T0 + timedelta(minutes=minutes), f"st-{kind}-{module}-{minutes}", **values)


def quiz(module: str, score: float, minutes: int = 0) -> Fact:
    return fact("quiz", module, minutes, value=score)


def work(pairs: list[tuple[str, str]], minutes: int = 0) -> list[Fact]:
    return [fact(kind, module, minutes, value=0.9 if kind == "assessed" else None) for kind, module in pairs]


def states(session: Session) -> dict[str, tuple[bool, float | None]]:
    rows = session.execute(select(CompetenceState.code, CompetenceState.is_met, CompetenceState.score))
    return {code: (bool(is_met), score) for code, is_met, score in rows}


def met_codes(found: list[Met]) -> list[tuple[str, str]]:
    return [(m.kind, m.code) for m in found]


# -- the rule itself (Rules.evaluate)
def test_c1_weights_m1_at_six_tenths_and_m2_at_four_tenths(rules: Rules) -> None:
    evaluation = rules.evaluate("C1", facts(best={"M1": 1.0, "M2": 0.0}))
    assert evaluation.score == 0.6 and evaluation.required == 0.7
    assert rules.quiz_share("M1", "C1") == 0.6 and rules.quiz_share("M2", "C1") == 0.4


def test_a_weighted_score_exactly_at_the_threshold_meets_it(rules: Rules) -> None:
    done = facts(
        best={"M1": 0.7, "M2": 0.7},
        completed={"M1": "t", "M2": "t"},
        assessed={"M2": 0.8},
    )
    evaluation = rules.evaluate("C1", done)
    assert (evaluation.score, evaluation.is_met, evaluation.missing) == (0.7, True, [])


def test_a_weighted_score_just_under_the_threshold_does_not_meet_it(rules: Rules) -> None:
    done = facts(best={"M1": 0.7, "M2": 0.68}, completed={"M1": "t", "M2": "t"}, assessed={"M2": 0.8})
    evaluation = rules.evaluate("C1", done)
    assert evaluation.score == 0.692 and not evaluation.is_met
    assert [en for _, en in evaluation.missing] == [
        "quiz score M1, M2: 69% of the 70% required (each module counts by its weight)"
    ]


def test_no_evidence_meets_nothing_and_lists_every_missing_piece(rules: Rules) -> None:
    evaluation = rules.evaluate("C1", empty_facts())
    assert evaluation.score == 0.0 and not evaluation.is_met
    assert [en.split(" (")[0] for _, en in evaluation.missing] == [
        "quiz score M1, M2: 0% of the 70% required",
        "complete module M1",
        "complete module M2",
        "have the production of M2",
    ]


def test_quizzes_alone_never_meet_a_competence(rules: Rules) -> None:
    perfect = facts(best={f"M{i}": 1.0 for i in range(1, 9)})
    assert not any(rules.evaluate(code, perfect).is_met for code in rules.rules)


@pytest.mark.parametrize(
    ("code", "kind", "module"),
    [("C6", "attended", "M5"), ("C6", "assessed", "M5"), ("C9", "attended", "M8"), ("C3", "assessed", "M4")],
)
def test_each_piece_of_judged_work_is_needed(rules: Rules, code: str, kind: str, module: str) -> None:
    rule = rules.rules[code]
    everything = facts(
        best={m: 1.0 for m in rule.quiz_modules},
        completed={m: "t" for m in rule.completed},
        attended={m: ["s1"] for m in rule.attended},
        accepted={m: True for m in rule.accepted},
        assessed={m: 0.9 for m in rule.assessed},
    )
    assert rules.evaluate(code, everything).is_met
    del everything[kind][module]
    assert not rules.evaluate(code, everything).is_met


def test_a_waived_quiz_module_leaves_the_score_to_the_others(rules: Rules) -> None:
    evaluation = rules.evaluate("C1", facts(best={"M1": 0.75}, waived={"M2": "VAE"}))
    assert evaluation.score == 0.75  # M1 alone, whatever its weight
    assert [en for _, en in evaluation.missing] == ["complete module M1"]  # M2's work is waived too


def test_a_competence_whose_every_quiz_is_waived_has_no_score(rules: Rules) -> None:
    evaluation = rules.evaluate("C3", facts(waived={"M3": "VAE", "M4": "VAE"}))
    assert (evaluation.score, evaluation.is_met) == (None, True)


def test_a_rule_with_a_lower_threshold_is_met_lower(content: Content) -> None:
    lowered = dict(content.thresholds.competences)
    lowered["C1"] = MasteryRule(quiz_modules=["M1", "M2"], min_score=50)
    changed = Rules(dataclasses.replace(content, thresholds=Thresholds(version=99, competences=lowered)))
    assert changed.version == 99
    assert changed.evaluate("C1", facts(best={"M1": 0.5, "M2": 0.5})).is_met
    assert not changed.evaluate("C1", facts(best={"M1": 0.5, "M2": 0.4})).is_met


def test_a_bloc_needs_every_one_of_its_competences(rules: Rules) -> None:
    assert rules.blocs_of("C1") == ["B1"] and rules.blocs_of("C4") == ["B2"]
    assert rules.bloc_met("B1", {"C1", "C2"})
    assert not rules.bloc_met("B1", {"C1"})
    assert not rules.bloc_met("B2", {"C3", "C4"})


def test_a_certificate_needs_every_bloc_of_the_track(rules: Rules) -> None:
    assert rules.certificate_met("grantmaker", {"B1", "B3", "B4"})
    assert not rules.certificate_met("grantmaker", {"B1", "B3"})
    assert not rules.certificate_met("fundraiser", {"B1", "B3", "B4"})  # it also needs B2
    assert not rules.certificate_met("no-such-track", {"B1", "B2", "B3", "B4"})


def test_the_track_follows_the_autodiagnostic_profile(content: Content) -> None:
    assert track_for(content.programme, {"P1": "grantmaker"}) == "grantmaker"
    assert track_for(content.programme, {"P1": "dirigeant", "P2": "fondation"}) == "grantmaker"
    assert track_for(content.programme, {"P1": "dirigeant", "P2": "association"}) == "fundraiser"
    assert track_for(content.programme, None) == "fundraiser"


# -- what counts as evidence (facts_of_event)
def test_only_evidence_events_about_a_module_make_facts() -> None:
    assert facts_of_event("page_viewed", "M1", {}, ["s"], T0) == []
    assert facts_of_event("question_answered", "M1", {"correct": True}, ["s"], T0) == []
    assert facts_of_event("quiz_passed", None, {"score": 1.0}, ["s"], T0) == []


def test_a_failed_quiz_still_brings_its_score() -> None:
    assert facts_of_event("quiz_failed", "M1", {"score": 0.4}, ["s1", "s2"], T0) == [
        Fact("quiz", "M1", T0, "s1", 0.4)
    ]


@pytest.mark.parametrize(
    ("type_", "payload", "kind"),
    [
        ("module_completed", {}, "completed"),
        ("attendance_recorded", {"present": True, "session": 4}, "attended"),
        ("attendance_recorded", {"present": False, "session": 4}, "absent"),
        ("deliverable_reviewed", {"accepted": True}, "accepted"),
        ("deliverable_reviewed", {"accepted": False}, "returned"),
        ("deliverable_reviewed", {"accepted": True, "rubric": {"score": 0.8}}, "assessed"),
        ("deliverable_reviewed", {"accepted": False, "rubric": {"score": 0.3}}, "below"),
        ("prior_learning_recognised", {"reason": "VAE"}, "waived"),
    ],
)
def test_each_evidence_event_makes_its_fact(type_: str, payload: dict[str, Any], kind: str) -> None:
    (made,) = facts_of_event(type_, "M5", payload, ["st"], T0)
    assert (made.kind, made.module_id) == (kind, "M5")
    # an absence is no statement of evidence: it only withdraws one
    assert made.statement_id == (None if kind == "absent" else "st")


def test_fact_times_keep_milliseconds_in_utc() -> None:
    at = datetime(2026, 3, 2, 10, 0, 0, 123_987, tzinfo=UTC)
    assert to_ms(at) == datetime(2026, 3, 2, 10, 0, 0, 123_000, tzinfo=UTC)
    naive = datetime(2026, 3, 2, 10, 0)  # noqa: DTZ001 - a naive time is read as UTC
    assert to_ms(naive) == datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


# -- the engine (apply): what becomes met, blocs, withdrawals
def test_no_fact_changes_nothing(session: Session, rules: Rules) -> None:
    assert apply(session, rules, OWNER, []) == []
    assert session.scalars(select(LearnerFacts)).all() == []


def test_the_best_quiz_score_counts_not_the_latest(session: Session, rules: Rules) -> None:
    apply(session, rules, OWNER, [quiz("M1", 0.9), quiz("M1", 0.3, 5)])
    stored = session.scalars(select(LearnerFacts.facts)).one()
    assert stored["best"] == {"M1": 0.9}
    assert states(session)["C1"] == (False, 0.54)  # 0.6 × 0.9; M2 still at 0


def test_a_competence_becomes_met_once_with_its_last_piece_of_evidence(
    session: Session, rules: Rules
) -> None:
    assert apply(session, rules, OWNER, [quiz("M1", 0.8), quiz("M2", 0.8), *work(C1_WORK[:2])]) == []
    found = apply(session, rules, OWNER, work(C1_WORK[2:], minutes=10))
    assert met_codes(found) == [("competence", "C1")]
    assert found[0].score == 0.8 and found[0].at == T0 + timedelta(minutes=10)
    assert states(session)["C1"] == (True, 0.8)
    # more evidence afterwards announces nothing again
    assert apply(session, rules, OWNER, [quiz("M1", 1.0, 20)]) == []


def test_a_bloc_is_met_with_its_last_competence_and_not_before(session: Session, rules: Rules) -> None:
    c1 = [quiz("M1", 0.8), quiz("M2", 0.8), *work(C1_WORK)]
    assert met_codes(apply(session, rules, OWNER, c1)) == [("competence", "C1")]
    assert states(session)["B1"] == (False, None)
    c2 = [quiz("M7", 0.8, 5), *work([("completed", "M7")], minutes=5)]  # C2: M1, M2, M7 quizzes; M1, M7; M2
    assert met_codes(apply(session, rules, OWNER, c2)) == [("competence", "C2"), ("bloc", "B1")]
    assert states(session)["B1"] == (True, None)


def test_every_link_of_evidence_names_its_statement_and_weight(session: Session, rules: Rules) -> None:
    apply(session, rules, OWNER, [quiz("M2", 0.8)])
    links = session.execute(
        select(EvidenceLink.code, EvidenceLink.kind, EvidenceLink.weight, EvidenceLink.statement_id)
    ).all()
    # M2's quiz counts for C1 (weight 0.4 of 1.0), C2 (0.3 of 1.1) and C8 (0.3 of 0.9)
    statement = "st-quiz-M2-0"
    assert sorted(links) == [
        ("C1", "quiz", 0.4, statement),
        ("C2", "quiz", 0.2727, statement),
        ("C8", "quiz", 0.3333, statement),
    ]


@pytest.fixture(scope="module")
def accepting_rules(content: Content) -> Rules:
    """The shipped rules, but C6 asks for M5's deliverable accepted (no shipped rule asks for one since
    thresholds version 3, the engine still supports it)."""
    rules = dict(content.thresholds.competences)
    rules["C6"] = MasteryRule(
        quiz_modules=["M5", "M6"], min_score=70, completed=["M5"], attended=["M5"], accepted=["M5"]
    )
    return Rules(dataclasses.replace(content, thresholds=Thresholds(version=99, competences=rules)))


def test_a_returned_deliverable_withdraws_the_competence_it_had_met(
    session: Session, accepting_rules: Rules
) -> None:
    rules = accepting_rules
    c6 = [quiz("M5", 0.9), quiz("M6", 0.9), *work([("completed", "M5"), ("accepted", "M5")])]
    apply(session, rules, OWNER, [*c6, fact("attended", "M5", ref="12")])
    assert states(session)["C6"] == (True, 0.9)
    assert apply(session, rules, OWNER, [fact("returned", "M5", 30)]) == []
    assert states(session)["C6"] == (False, 0.9)
    assert session.scalar(select(CompetenceState.met_at).where(CompetenceState.code == "C6")) is None
    kinds = session.scalars(select(EvidenceLink.kind).where(EvidenceLink.code == "C6")).all()
    assert "accepted" not in kinds and "attended" in kinds


def test_an_absence_withdraws_only_that_session(session: Session, rules: Rules) -> None:
    apply(session, rules, OWNER, [fact("attended", "M5", ref="12"), fact("attended", "M5", 1, ref="13")])
    apply(session, rules, OWNER, [fact("absent", "M5", 2, ref="12")])
    assert session.scalars(select(LearnerFacts.facts)).one()["attended"] == {"M5": ["13"]}
    refs = session.scalars(select(EvidenceLink.ref).where(EvidenceLink.kind == "attended")).all()
    assert sorted({r for r in refs if r}) == ["13"]
    apply(session, rules, OWNER, [fact("absent", "M5", 3, ref="13")])
    assert session.scalars(select(LearnerFacts.facts)).one()["attended"] == {}


def test_an_assessment_below_the_grid_withdraws_the_production(session: Session, rules: Rules) -> None:
    apply(session, rules, OWNER, [quiz("M1", 0.8), quiz("M2", 0.8), *work(C1_WORK)])
    assert states(session)["C1"][0] is True
    apply(session, rules, OWNER, [fact("below", "M2", 40, value=0.2)])
    assert states(session)["C1"][0] is False


def test_a_recognised_prior_learning_counts_for_the_whole_module(session: Session, rules: Rules) -> None:
    found = apply(session, rules, OWNER, [fact("waived", "M3", ref="VAE"), fact("waived", "M4", ref="VAE")])
    # C3, C4 and C5 rest on M3 and M4 only: waived, they are met with no score, and so is their bloc
    assert met_codes(found) == [
        ("competence", "C3"),
        ("competence", "C4"),
        ("competence", "C5"),
        ("bloc", "B2"),
    ]
    assert states(session)["C4"] == (True, None)


def test_forget_drops_the_learners_mastery_in_the_context(session: Session, rules: Rules) -> None:
    apply(session, rules, OWNER, [quiz("M1", 0.8)])
    other = dataclasses.replace(OWNER, learner_id=2)
    apply(session, rules, other, [quiz("M1", 0.8)])
    forget(session, OWNER)
    assert session.scalars(select(LearnerFacts.learner_id)).all() == [2]
    assert set(session.scalars(select(CompetenceState.learner_id))) == {2}
