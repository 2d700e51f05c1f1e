"""The content checker on broken copies of modules/: each problem names its file, its place and the fix."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from lti_tool import create_app
from lti_tool.content.cli import modules as modules_cli
from lti_tool.content.loader import ContentError, load_content
from tests.conftest import standalone_config

ROOT = Path(__file__).resolve().parents[3] / "modules"


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    target = tmp_path / "modules"
    shutil.copytree(ROOT, target)
    return target


def edit_yaml(path: Path, change: Callable[[dict], None]) -> None:  # type: ignore[type-arg]
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def problems(root: Path) -> list[str]:
    with pytest.raises(ContentError) as error:
        load_content(root)
    return [str(p) for p in error.value.problems]


def test_the_shipped_content_is_valid() -> None:
    content = load_content(ROOT)
    assert [m.id for m in content.modules] == [f"M{i}" for i in range(1, 9)]
    for module in content.modules:
        assert 4 <= len(module.pages) <= 8, module.id
        assert len(module.quiz.questions) >= 10, module.id
        types = {q.type for q in module.quiz.questions}
        assert {"single", "multiple", "true_false"} <= types, module.id
        assert module.pages[-1].title == "Pour aller plus loin", module.id
        assert "https://" in module.pages[-1].html, module.id  # the sources are cited
    assert len(content.diagnostic.axes) == 5
    assert all(len(axis.questions) == 4 for axis in content.diagnostic.axes)


def test_yaml_syntax_error_names_the_line(copy: Path) -> None:
    path = copy / "m1-fondamentaux" / "quiz.yaml"
    path.write_text(
        path.read_text(encoding="utf-8") + "\n  - id: broken\n   type: [single\n", encoding="utf-8"
    )
    found = problems(copy)
    assert len(found) == 1
    assert found[0].startswith("modules/m1-fondamentaux/quiz.yaml: line ")
    assert "not valid YAML" in found[0]


def test_missing_field_says_what_to_add(copy: Path) -> None:
    edit_yaml(copy / "m2-diagnostic" / "module.yaml", lambda d: d.pop("mastery_score"))
    assert problems(copy) == [
        "modules/m2-diagnostic/module.yaml: mastery_score: Field required; add `mastery_score`"
    ]


def test_misspelt_field_is_named(copy: Path) -> None:
    edit_yaml(copy / "m3-richesses-humaines" / "module.yaml", lambda d: d.update(objectifs=["x"]))
    found = problems(copy)
    assert found == [
        "modules/m3-richesses-humaines/module.yaml: objectifs: Extra inputs are not permitted; "
        "remove `objectifs` or check its spelling (see modules/README.md)"
    ]


def test_single_choice_with_two_correct_answers(copy: Path) -> None:
    def two_correct(data: dict) -> None:  # type: ignore[type-arg]
        question = next(q for q in data["questions"] if q["type"] == "single")
        for choice in question["choices"][:2]:
            choice["correct"] = True

    edit_yaml(copy / "m4-strategie-ressources" / "quiz.yaml", two_correct)
    (found,) = problems(copy)
    assert found.startswith("modules/m4-strategie-ressources/quiz.yaml: questions[")
    assert "exactly one correct choice, it has 2; mark one `correct: true`" in found


def test_unknown_question_type_lists_the_known_ones(copy: Path) -> None:
    edit_yaml(copy / "m5-alliances" / "quiz.yaml", lambda d: d["questions"][0].update(type="essay"))
    (found,) = problems(copy)
    assert "modules/m5-alliances/quiz.yaml: questions[" in found
    assert "use one of: single, multiple, true_false, matching, ordering" in found


def test_too_few_questions(copy: Path) -> None:
    edit_yaml(copy / "m6-financeurs" / "quiz.yaml", lambda d: d.update(questions=d["questions"][:9]))
    assert problems(copy) == [
        "modules/m6-financeurs/quiz.yaml: questions: 9 question(s) for 10 drawn; the bank needs at least 20 "
        "so that a second attempt asks new questions, or draw fewer"
    ]
    # a quiz without a draw asks every question: at least 10
    edit_yaml(copy / "m6-financeurs" / "quiz.yaml", lambda d: d.pop("draw"))
    assert problems(copy) == [
        "modules/m6-financeurs/quiz.yaml: questions: 9 question(s); a module needs at least 10"
    ]


def test_competence_weights_are_checked(copy: Path) -> None:
    edit_yaml(
        copy / "m7-trajectoire" / "module.yaml", lambda d: d.update(competences={"C8": 0.6, "C99": 0.2})
    )
    found = problems(copy)
    assert "modules/m7-trajectoire/module.yaml: competences.C99: unknown competence; use one of " in found[0]
    assert (
        found[1]
        == "modules/m7-trajectoire/module.yaml: competences: the weights add up to 0.8; make them add up to 1"
    )


def test_missing_page_file(copy: Path) -> None:
    (copy / "m8-transmettre" / "pages" / "03-ressources-communes.md").unlink()
    (found,) = problems(copy)
    assert found == (
        "modules/m8-transmettre/module.yaml: pages[2].file: modules/m8-transmettre/pages/03-ressources-communes.md "
        "does not exist; create it or fix the name"
    )


def test_live_format_needs_attendance_and_deliverable(copy: Path) -> None:
    edit_yaml(copy / "m5-alliances" / "module.yaml", lambda d: d["completion"].update(attendance=False))
    assert problems(copy) == [
        "modules/m5-alliances/module.yaml: completion: atelier is a live format: set attendance: true and "
        "deliverable: true",
        "modules/thresholds.yaml: competences.C6.attended: M5 has no live session to attend",
    ]


def test_routing_rule_with_unknown_format_and_level(copy: Path) -> None:
    def break_rule(data: dict) -> None:  # type: ignore[type-arg]
        data["routing"]["rules"][1]["formats"][0] = "podcast"
        data["routing"]["rules"][1]["when"] = {"level": ["L9"]}

    edit_yaml(copy / "autodiagnostic.yaml", break_rule)
    found = problems(copy)
    assert (
        "modules/autodiagnostic.yaml: routing.rules[transmission]: when.level: unknown level 'L9'; use one of "
        in found[0]
    )
    assert any("routing.rules[transmission].formats: unknown format 'podcast'" in p for p in found)


def test_routing_must_cover_every_level(copy: Path) -> None:
    edit_yaml(copy / "autodiagnostic.yaml", lambda d: d["routing"].update(rules=d["routing"]["rules"][:-1]))
    (found,) = problems(copy)
    assert found.startswith(
        "modules/autodiagnostic.yaml: routing.rules: no rule matches level L4, practice N3 with profile"
    )
    assert found.endswith("end the rules with one rule per level")


def test_routing_conditions_on_practice_and_priority_are_checked(copy: Path) -> None:
    def break_rule(data: dict) -> None:  # type: ignore[type-arg]
        data["routing"]["rules"][2]["when"] = {"all": [{"practice": ["N9"]}, {"priority": ["Z"]}]}

    edit_yaml(copy / "autodiagnostic.yaml", break_rule)
    found = problems(copy)
    where = "modules/autodiagnostic.yaml: routing.rules[debutant-structure-avancee]: "
    assert (
        f"{where}when.all[0].practice: unknown practice level 'N9'; use one of ['N1', 'N2', 'N3', 'N4']"
        in found
    )
    assert f"{where}when.all[1].priority: unknown axis 'Z'; use one of ['A', 'B', 'C', 'D', 'E']" in found


def test_routing_refuses_a_format_that_is_not_offered_today(copy: Path) -> None:
    # the monthly webinar cycle ended in October 2021: it has no offer, so no rule may recommend it
    edit_yaml(
        copy / "autodiagnostic.yaml", lambda d: d["routing"]["rules"][3]["formats"].insert(0, "webinaires")
    )
    assert problems(copy) == [
        "modules/autodiagnostic.yaml: routing.rules[debutant].formats: format 'webinaires' is not offered "
        "today (no entry in offers): recommend only what a learner can join, or add its offer with how to join"
    ]


def test_a_questionnaire_version_after_the_content_version_is_a_problem(copy: Path) -> None:
    edit_yaml(copy / "autodiagnostic.yaml", lambda d: d.update(since_version=99))
    assert any(
        p.startswith(
            "modules/autodiagnostic.yaml: since_version: since_version 99 is after the content version"
        )
        for p in problems(copy)
    )


def test_routing_reports_a_rule_that_never_applies(copy: Path) -> None:
    def shadow(data: dict) -> None:  # type: ignore[type-arg]
        rules = data["routing"]["rules"]
        rules.insert(0, rules.pop(-1) | {"when": {"practice": ["N1", "N2", "N3", "N4"]}})

    edit_yaml(copy / "autodiagnostic.yaml", shadow)
    found = problems(copy)
    assert (
        "modules/autodiagnostic.yaml: routing.rules[debutant]: never applies: the rules above it catch "
        "every case it names; move it up or narrow them" in found
    )
    assert "modules/autodiagnostic.yaml: routing.rules[recherche]: never applies" in " ".join(found)


def test_routing_keeps_two_formats_for_someone_who_did_the_mooc(copy: Path) -> None:
    edit_yaml(
        copy / "autodiagnostic.yaml", lambda d: d["routing"]["rules"][3].update(formats=["mooc", "parcours"])
    )
    (found,) = problems(copy)
    assert found.startswith(
        "modules/autodiagnostic.yaml: routing.rules[debutant].formats: fewer than two formats"
    )
    assert "'P4': 'mooc'" in found


def test_a_live_offer_must_name_a_live_module(copy: Path) -> None:
    edit_yaml(copy / "autodiagnostic.yaml", lambda d: d["offers"][3].update(module="M1"))
    assert problems(copy) == [
        "modules/autodiagnostic.yaml: offers[ateliers].needs_session: a live format needs `module:` naming a "
        "module whose format is live (atelier, co-developpement); its sessions decide when it is offered"
    ]


def test_diagnostic_question_without_its_four_levels(copy: Path) -> None:
    edit_yaml(copy / "autodiagnostic.yaml", lambda d: d["axes"][2]["questions"][1]["levels"].pop(4))
    assert problems(copy) == [
        "modules/autodiagnostic.yaml: axes[C].questions[C2].levels: describe each of the levels 1, 2, 3 and 4"
    ]


def test_cli_check_reports_and_fails_on_broken_content(copy: Path) -> None:
    edit_yaml(copy / "m1-fondamentaux" / "module.yaml", lambda d: d.update(format="podcast"))
    result = CliRunner().invoke(modules_cli, ["check", "--path", str(copy)])
    assert result.exit_code == 1
    assert (
        "modules/m1-fondamentaux/module.yaml: format: unknown format 'podcast'; use one of" in result.output
    )
    assert "1 problem(s) in" in result.output


def test_cli_check_passes_on_the_shipped_content() -> None:
    result = CliRunner().invoke(modules_cli, ["check", "--path", str(ROOT)])
    assert result.exit_code == 0, result.output
    assert "content version 8 is valid: 8 modules" in result.output


def test_invalid_content_stops_start_up_with_the_report(copy: Path, tmp_path: Path) -> None:
    edit_yaml(copy / "m1-fondamentaux" / "module.yaml", lambda d: d.update(mastery_score=1.5))
    with pytest.raises(ContentError) as error:
        create_app(standalone_config(tmp_path, CONTENT_PATH=str(copy)))
    assert (
        "modules/m1-fondamentaux/module.yaml: mastery_score: Input should be less than or equal to 1"
        in str(error.value)
    )
    assert "flask --app lti_tool modules check" in str(error.value)
