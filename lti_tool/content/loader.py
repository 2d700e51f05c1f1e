"""Load ``modules/`` into one read-only ``Content``, or report every problem with file, place and fix."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any, TypeVar

import yaml
from markdown_it import MarkdownIt
from pydantic import BaseModel, ValidationError

from lti_tool.content import rules
from lti_tool.content.routing import formats_offered
from lti_tool.content.schemas import (
    ChoiceQuestion,
    Diagnostic,
    MasteryRule,
    MatchingQuestion,
    ModuleMeta,
    OrderingQuestion,
    Programme,
    Question,
    Quiz,
    Rubric,
    Theme,
    Thresholds,
    TrueFalseQuestion,
)
from lti_tool.content.typography import apply_to_data, check_text, render_markdown

MIN_QUESTIONS = 10  # asked in each attempt
BANK_FACTOR = 2  # a bank holds at least twice the questions an attempt draws
SITUATION_SHARE = 0.5  # at least half of a bank are situations that ask for a decision
# `modules check` warns when a quiz gives its answers away (share of the questions concerned, and the
# number of questions below which a share says nothing)
LONGEST_SHARE, MIN_SINGLE = 0.5, 4  # the correct option is the longest in more than half
TRUE_FALSE_SHARE, MIN_TRUE_FALSE = 2 / 3, 4  # more than two thirds of the keys are the same
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Problem:
    file: str
    location: str
    message: str

    def __str__(self) -> str:
        return (
            f"{self.file}: {self.location}: {self.message}"
            if self.location
            else f"{self.file}: {self.message}"
        )


class ContentError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(
            f"modules/ has {len(problems)} problem(s):\n"
            + "\n".join(f"- {p}" for p in problems)
            + "\nFix them, then run `flask --app lti_tool modules check`."
        )


@dataclass(frozen=True)
class Page:
    number: int  # 1-based
    title: str
    html: str


@dataclass(frozen=True)
class Module:
    meta: ModuleMeta
    pages: tuple[Page, ...]
    quiz: Quiz
    folder: str

    @property
    def id(self) -> str:
        return self.meta.id

    @property
    def slug(self) -> str:
        return self.meta.slug

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.quiz.questions if q.id == question_id), None)

    @property
    def draw(self) -> int:
        """How many questions an attempt asks."""
        return self.quiz.draw or len(self.quiz.questions)

    def theme(self, theme_id: str | None) -> Theme | None:
        return next((t for t in self.quiz.themes if t.id == theme_id), None)

    def theme_pages(self, theme: Theme) -> list[Page]:
        """The pages that teach a theme, in the order the theme lists them."""
        files = [ref.file for ref in self.meta.pages]
        return [self.pages[files.index(f)] for f in theme.pages if f in files]


@dataclass(frozen=True)
class Content:
    version: int
    programme: Programme
    modules: tuple[Module, ...]
    diagnostic: Diagnostic
    thresholds: Thresholds
    _by_id: dict[str, Module] = field(default_factory=dict, repr=False)
    # What `modules check` reports without refusing the content (a quiz that gives its answers away…)
    warnings: tuple[Problem, ...] = ()

    def module(self, key: str) -> Module | None:
        """A module by id (``M1``, ``m1``) or slug (``fondamentaux``)."""
        return self._by_id.get(key.lower())


def load_content(root: str | Path) -> Content:
    """Read and check everything; raise ContentError listing every problem found."""
    root = Path(root)
    problems: list[Problem] = []
    warnings: list[Problem] = []
    programme = _model(root / "programme.yaml", Programme, problems, root)
    diagnostic = _model(root / "autodiagnostic.yaml", Diagnostic, problems, root)
    thresholds = _model(root / "thresholds.yaml", Thresholds, problems, root)
    folders = sorted(p for p in root.iterdir() if (p / "module.yaml").exists())
    modules = [m for folder in folders if (m := _load_module(folder, problems, warnings, root)) is not None]
    if not folders:
        problems.append(Problem("modules/", "", "no module folder found; each needs a module.yaml"))
    # Cross-file checks need every module: while one is broken, its own problems are what to fix first.
    if programme is not None and len(modules) == len(folders):
        _check_programme(programme, modules, problems)
        _check_repeats(modules, problems)
        # A learner who takes every quiz learns the habits of the whole programme, not of one module.
        every = [(f"{m.id} {q.id}", q) for m in modules for q in m.quiz.questions]
        warnings.extend(giveaways("modules/*/quiz.yaml", every))
        if diagnostic is not None:
            _check_diagnostic(diagnostic, programme, modules, problems)
            _check_track_profiles(programme, diagnostic, problems)
        if thresholds is not None:
            _check_thresholds(thresholds, programme, modules, problems)
    if problems or programme is None or diagnostic is None or thresholds is None:
        raise ContentError(problems)
    by_id: dict[str, Module] = {}
    for module in modules:
        by_id[module.id.lower()] = module
        by_id[module.slug] = module
    return Content(
        programme.version, programme, tuple(modules), diagnostic, thresholds, by_id, tuple(warnings)
    )


# -- reading
def _relative(path: Path, root: Path) -> str:
    return "modules/" + str(path.relative_to(root))


def _read_yaml(path: Path, problems: list[Problem], root: Path) -> Any:
    name = _relative(path, root)
    if not path.exists():
        problems.append(Problem(name, "", "file missing; create it (see modules/README.md)"))
        return None
    text = path.read_text(encoding="utf-8")
    _check_wording(name, text, problems)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problems.append(
            Problem(
                name,
                where,
                f"not valid YAML ({getattr(error, 'problem', error)}); "
                "quote texts that contain ': ' or start with a special character",
            )
        )
        return None


def _model(path: Path, model: type[M], problems: list[Problem], root: Path) -> M | None:
    data = _read_yaml(path, problems, root)
    if data is None:
        return None
    data = apply_to_data(data)  # French spacing in what learners read (typography.py)
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems += [_pydantic_problem(_relative(path, root), item, data) for item in error.errors()]
        return None


def _pydantic_problem(file: str, item: Mapping[str, Any], data: Any) -> Problem:
    location = _location(item["loc"], data)
    kind, field_name = item["type"], str(item["loc"][-1]) if item["loc"] else ""
    fixes = {
        "missing": f"add `{field_name}`",
        "extra_forbidden": f"remove `{field_name}` or check its spelling (see modules/README.md)",
        "union_tag_invalid": "use one of: single, multiple, true_false, matching, ordering",
        "union_tag_not_found": "add `type` (single, multiple, true_false, matching, ordering)",
    }
    fix = fixes.get(kind, "see modules/README.md for the expected form")
    return Problem(file, location, f"{item['msg']}; {fix}")


def _location(loc: tuple[Any, ...], data: Any) -> str:
    """A readable path, naming list items by their id where they have one (questions[q03].choices[1])."""
    parts: list[str] = []
    node = data
    for key in loc:
        if isinstance(key, int):
            item = node[key] if isinstance(node, list) and key < len(node) else None
            label = item.get("id") or item.get("code") if isinstance(item, dict) else None
            parts[-1:] = [(parts[-1] if parts else "") + f"[{label or key}]"]
            node = item
        elif isinstance(node, dict) and key in node:
            parts.append(str(key))
            node = node[key]
        elif isinstance(node, dict):
            parts.append(str(key))
            node = None
        # pydantic adds the union tag name to the path: skip it
    return ".".join(parts)


_markdown = MarkdownIt("commonmark", {"html": False}).enable("table")


def _check_wording(file: str, text: str, problems: list[Problem]) -> None:
    """What typography cannot fix by itself (« de Le RAMEAU », inclusive writing forms)."""
    problems += [
        Problem(file, f"line {line}", f"« {excerpt} »: {message}")
        for line, excerpt, message in check_text(text)
    ]


def _render(text: str) -> str:
    """Markdown to HTML with French spacing in its text (never in code, URLs or link targets); wide
    tables scroll in their own box (keyboard-focusable) instead of the page."""
    html = render_markdown(_markdown, text)
    return html.replace(
        "<table>", '<div class="table-wrap" role="region" aria-label="Tableau" tabindex="0"><table>'
    ).replace("</table>", "</table></div>")


def _load_module(folder: Path, problems: list[Problem], warnings: list[Problem], root: Path) -> Module | None:
    meta = _model(folder / "module.yaml", ModuleMeta, problems, root)
    quiz = _model(folder / "quiz.yaml", Quiz, problems, root)
    if meta is None or quiz is None:
        return None
    name = _relative(folder / "module.yaml", root)
    expected = f"{meta.id.lower()}-{meta.slug}"
    if folder.name != expected:
        problems.append(
            Problem(
                name,
                "slug",
                f"the folder is {folder.name!r} but id and slug make {expected!r}; rename one so they agree",
            )
        )
    pages = []
    seen: set[str] = set()
    for number, ref in enumerate(meta.pages, start=1):
        path = folder / "pages" / ref.file
        if ref.file in seen:
            problems.append(
                Problem(name, f"pages[{number - 1}]", f"{ref.file} is listed twice; list each page once")
            )
        seen.add(ref.file)
        if not path.exists():
            problems.append(
                Problem(
                    name,
                    f"pages[{number - 1}].file",
                    f"{_relative(path, root)} does not exist; create it or fix the name",
                )
            )
            continue
        text = path.read_text(encoding="utf-8").strip()
        _check_wording(_relative(path, root), text, problems)
        if not text:
            problems.append(
                Problem(_relative(path, root), "", "the page is empty; write it or remove it from pages")
            )
        pages.append(Page(number, ref.title, _render(text)))
    _check_quiz(_relative(folder / "quiz.yaml", root), quiz, problems)
    _check_bank(_relative(folder / "quiz.yaml", root), quiz, meta, problems, warnings)
    return Module(meta, tuple(pages), quiz, folder.name)


# -- checks across files
def _check_quiz(file: str, quiz: Quiz, problems: list[Problem]) -> None:
    if quiz.draw is None and len(quiz.questions) < MIN_QUESTIONS:  # with a draw, _check_bank sizes the bank
        problems.append(
            Problem(
                file,
                "questions",
                f"{len(quiz.questions)} question(s); a module needs at least {MIN_QUESTIONS}",
            )
        )
    ids = [q.id for q in quiz.questions]
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        problems.append(
            Problem(file, f"questions[{dup}]", "this id is used twice; give each question its own id")
        )
    for q in quiz.questions:
        where = f"questions[{q.id}]"
        if isinstance(q, ChoiceQuestion):
            correct = sum(c.correct for c in q.choices)
            choice_ids = [c.id for c in q.choices]
            if len(set(choice_ids)) != len(choice_ids):
                problems.append(
                    Problem(file, f"{where}.choices", "two choices share an id; make them unique")
                )
            if q.type == "single" and correct != 1:
                problems.append(
                    Problem(
                        file,
                        f"{where}.choices",
                        f"a single-choice question needs exactly one "
                        f"correct choice, it has {correct}; mark one `correct: true`",
                    )
                )
            if q.type == "multiple" and correct < 1:
                problems.append(
                    Problem(
                        file,
                        f"{where}.choices",
                        "a multiple-choice question needs at least one "
                        "correct choice; mark some `correct: true`",
                    )
                )
        if isinstance(q, MatchingQuestion) and len({p.right for p in q.pairs}) != len(q.pairs):
            problems.append(
                Problem(
                    file,
                    f"{where}.pairs",
                    "two pairs have the same right-hand text; make them "
                    "distinct so each left item has one match",
                )
            )
        if isinstance(q, OrderingQuestion) and len(set(q.items)) != len(q.items):
            problems.append(Problem(file, f"{where}.items", "two items are identical; make them distinct"))


def _check_bank(
    file: str, quiz: Quiz, meta: ModuleMeta, problems: list[Problem], warnings: list[Problem]
) -> None:
    """The draw, the themes, and the cues that give answers away (warnings: the content still loads)."""
    bank = len(quiz.questions)
    if quiz.draw is None:
        warnings.append(
            Problem(
                file,
                "draw",
                f"no `draw`: every attempt asks the same {bank} questions; write a bank of at least "
                f"{BANK_FACTOR} × {MIN_QUESTIONS} questions and set `draw: {MIN_QUESTIONS}` or more",
            )
        )
    elif quiz.draw < MIN_QUESTIONS:
        problems.append(
            Problem(file, "draw", f"an attempt draws {quiz.draw}; draw at least {MIN_QUESTIONS} questions")
        )
    elif bank < BANK_FACTOR * quiz.draw:
        problems.append(
            Problem(
                file,
                "questions",
                f"{bank} question(s) for {quiz.draw} drawn; the bank needs at least "
                f"{BANK_FACTOR * quiz.draw} so that a second attempt asks new questions, or draw fewer",
            )
        )
    pages = {ref.file for ref in meta.pages}
    theme_ids = [t.id for t in quiz.themes]
    for dup in sorted({t for t in theme_ids if theme_ids.count(t) > 1}):
        problems.append(Problem(file, f"themes[{dup}]", "this id is used twice; give each theme its own id"))
    for theme in quiz.themes:
        for page in theme.pages:
            if page not in pages:
                problems.append(
                    Problem(
                        file,
                        f"themes[{theme.id}].pages",
                        f"{page} is not a page of module.yaml; use one of {sorted(pages)}",
                    )
                )
    untagged = [q.id for q in quiz.questions if q.theme is None]
    for q in quiz.questions:
        if q.theme is not None and q.theme not in theme_ids:
            problems.append(
                Problem(
                    file,
                    f"questions[{q.id}].theme",
                    f"unknown theme {q.theme!r}; use one of {theme_ids} or add it to `themes`",
                )
            )
    if untagged:
        warnings.append(
            Problem(
                file,
                "questions",
                f"{len(untagged)} question(s) without `theme` ({', '.join(untagged[:5])}"
                f"{'…' if len(untagged) > 5 else ''}): a wrong answer cannot send the learner to the page "
                "that teaches it; give each question a theme",
            )
        )
    situations = sum(q.situation for q in quiz.questions)
    if quiz.draw is not None and situations < SITUATION_SHARE * bank:
        warnings.append(
            Problem(
                file,
                "questions",
                f"{situations} of {bank} questions are situations that ask for a decision "
                "(`situation: true`); write at least half so",
            )
        )
    warnings.extend(giveaways(file, [(q.id, q) for q in quiz.questions]))


def giveaways(file: str, questions: Sequence[tuple[str, Question]]) -> list[Problem]:
    """Cues that answer a quiz without reading: the correct option is the longest in most single-choice
    questions; the true/false keys are mostly one way. `questions` are (name to report, question)."""
    found: list[Problem] = []
    singles = [(n, q) for n, q in questions if isinstance(q, ChoiceQuestion) and q.type == "single"]
    longest = [n for n, q in singles if _correct_is_longest(q)]
    if len(singles) >= MIN_SINGLE and len(longest) > LONGEST_SHARE * len(singles):
        found.append(
            Problem(
                file,
                "questions",
                f"the correct option is the longest in {len(longest)} of {len(singles)} single-choice "
                f"questions ({', '.join(longest)}): learners can pick it without reading; "
                "shorten it or lengthen a wrong option",
            )
        )
    keys = [q.answer for _, q in questions if isinstance(q, TrueFalseQuestion)]
    if len(keys) >= MIN_TRUE_FALSE:
        trues = sum(keys)
        major, word = max((trues, "true"), (len(keys) - trues, "false"))
        if major > TRUE_FALSE_SHARE * len(keys):
            found.append(
                Problem(
                    file,
                    "questions",
                    f"{major} of {len(keys)} true/false questions are `{word}`: learners can guess the key; "
                    "balance them",
                )
            )
    return found


def _correct_is_longest(question: ChoiceQuestion) -> bool:
    correct = next(c for c in question.choices if c.correct)
    return all(len(correct.text) > len(c.text) for c in question.choices if c is not correct)


def _normalised(text: str) -> str:
    return " ".join("".join(ch if ch.isalnum() else " " for ch in text.lower()).split())


def _check_repeats(modules: list[Module], problems: list[Problem]) -> None:
    """A question asked in two modules assesses nothing new in the second."""
    seen: dict[str, tuple[str, str]] = {}
    for module in modules:
        for q in module.quiz.questions:
            key = _normalised(q.prompt)
            if key in seen and seen[key][0] != module.id:
                first, first_id = seen[key]
                problems.append(
                    Problem(
                        f"modules/{module.folder}/quiz.yaml",
                        f"questions[{q.id}]",
                        f"the same question as {first} {first_id}; ask something this module teaches",
                    )
                )
            seen.setdefault(key, (module.id, q.id))


def _check_programme(programme: Programme, modules: list[Module], problems: list[Problem]) -> None:
    file = "modules/programme.yaml"
    competences = {c.code for c in programme.competences}
    formats = {f.code for f in programme.formats}
    activity_formats = {f.code: f for f in programme.activity_formats}
    module_ids = {m.id for m in modules}
    blocs = {b.code for b in programme.blocs}
    for bloc in programme.blocs:
        for code in bloc.competences:
            if code not in competences:
                problems.append(
                    Problem(
                        file,
                        f"blocs[{bloc.code}].competences",
                        f"unknown competence {code}; use one of {sorted(competences)}",
                    )
                )
    for activity in programme.activity_formats:
        if activity.programme_format not in formats:
            problems.append(
                Problem(
                    file,
                    f"activity_formats[{activity.code}].programme_format",
                    f"unknown format {activity.programme_format!r}; use one of {sorted(formats)}",
                )
            )
    tracks = {t.code for t in programme.tracks}
    for track in programme.tracks:
        problems += [
            Problem(
                file, f"tracks[{track.code}].modules", f"unknown module {m}; use one of {sorted(module_ids)}"
            )
            for m in track.modules
            if m not in module_ids
        ]
        problems += [
            Problem(file, f"tracks[{track.code}].blocs", f"unknown bloc {b}; use one of {sorted(blocs)}")
            for b in track.blocs
            if b not in blocs
        ]
    seen: dict[str, str] = {}
    for module in modules:
        file_m, meta = f"modules/{module.folder}/module.yaml", module.meta
        for key in (meta.id, meta.slug):
            if key in seen:
                problems.append(
                    Problem(file_m, "id", f"{key} is also used by modules/{seen[key]}; make it unique")
                )
            seen[key] = module.folder
        module_format = activity_formats.get(meta.format)
        if module_format is None:
            problems.append(
                Problem(
                    file_m, "format", f"unknown format {meta.format!r}; use one of {sorted(activity_formats)}"
                )
            )
        elif module_format.live and not (meta.completion.attendance and meta.completion.deliverable):
            problems.append(
                Problem(
                    file_m,
                    "completion",
                    f"{meta.format} is a live format: set attendance: true and deliverable: true",
                )
            )
        if meta.completion.deliverable and meta.deliverable is None:
            problems.append(
                Problem(
                    file_m,
                    "deliverable",
                    "completion asks for a deliverable: add `deliverable: {prompt: …, min_words: …}`",
                )
            )
        if meta.deliverable is not None and meta.deliverable.rubric is not None:
            problems += _check_rubric(file_m, meta.deliverable.rubric)
        if meta.deliverable is not None and meta.deliverable.bloc not in (None, *blocs):
            problems.append(
                Problem(
                    file_m,
                    "deliverable.bloc",
                    f"unknown bloc {meta.deliverable.bloc}; use one of {sorted(blocs)}",
                )
            )
        problems += [
            Problem(file_m, "tracks", f"unknown track {t!r}; use one of {sorted(tracks)}")
            for t in meta.tracks
            if t not in tracks
        ]
        for code, weight in meta.competences.items():
            if code not in competences:
                problems.append(
                    Problem(
                        file_m, f"competences.{code}", f"unknown competence; use one of {sorted(competences)}"
                    )
                )
            if weight <= 0:
                problems.append(
                    Problem(
                        file_m, f"competences.{code}", "a weight must be above 0; remove the line instead"
                    )
                )
        total = sum(meta.competences.values())
        if abs(total - 1) > 0.001:
            problems.append(
                Problem(file_m, "competences", f"the weights add up to {total:g}; make them add up to 1")
            )


def _check_diagnostic(
    diagnostic: Diagnostic, programme: Programme, modules: list[Module], problems: list[Problem]
) -> None:
    file = "modules/autodiagnostic.yaml"
    if diagnostic.since_version > programme.version:
        problems.append(
            Problem(
                file,
                "since_version",
                f"since_version {diagnostic.since_version} is after the content version "
                f"{programme.version} (programme.yaml): set it to the version that changed the questionnaire",
            )
        )
    if sorted(level.value for level in diagnostic.scale) != [1, 2, 3, 4]:
        problems.append(Problem(file, "scale", "the scale needs the values 1, 2, 3 and 4, once each"))
    module_ids = {m.id for m in modules}
    formats = {f.code for f in programme.formats}
    axes = [a.id for a in diagnostic.axes]
    question_ids: list[str] = []
    groups = [("practice", diagnostic.practice.questions)] + [
        (f"axes[{a.id}]", a.questions) for a in diagnostic.axes
    ]
    for axis in diagnostic.axes:
        problems += [
            Problem(file, f"axes[{axis.id}].modules", f"unknown module {m}; use one of {sorted(module_ids)}")
            for m in axis.modules
            if m not in module_ids
        ]
    for where, group in groups:
        for q in group:
            question_ids.append(q.id)
            if sorted(q.levels) != [1, 2, 3, 4]:
                problems.append(
                    Problem(
                        file, f"{where}.questions[{q.id}].levels", "describe each of the levels 1, 2, 3 and 4"
                    )
                )
    for dup in sorted({q for q in question_ids if question_ids.count(q) > 1}):
        problems.append(Problem(file, "axes", f"question id {dup} is used twice; make it unique"))
    profile = {p.id: {o.id for o in p.options} for p in diagnostic.profiling}
    levels = {level.code for level in diagnostic.scoring.levels}
    practice = {level.code for level in diagnostic.practice.levels}
    if levels & practice:
        problems.append(
            Problem(
                file, "practice.levels", f"use codes apart from the organisation's levels {sorted(levels)}"
            )
        )

    def condition_problems(condition: Any, where: str) -> list[str]:
        return rules.check(condition, levels, profile, where, practice, set(axes))

    for variant in diagnostic.variants:
        problems += [
            Problem(file, f"variants[{variant.id}]", p) for p in condition_problems(variant.when, "when")
        ]
        problems += [
            Problem(
                file,
                f"variants[{variant.id}].replace.{q}",
                "no such question; use a question id of the practice or the axes",
            )
            for q in variant.replace
            if q not in question_ids
        ]
        problems += [
            Problem(
                file,
                f"variants[{variant.id}].replace.{q}.levels",
                "describe each of the levels 1, 2, 3 and 4",
            )
            for q, text in variant.replace.items()
            if sorted(text.levels) != [1, 2, 3, 4]
        ]
    scoring = diagnostic.scoring
    if sorted(scoring.weights) != sorted(axes):
        problems.append(Problem(file, "scoring.weights", f"give one weight per axis: {axes}"))
    if any(w <= 0 for w in scoring.weights.values()):
        problems.append(Problem(file, "scoring.weights", "weights must be above 0"))
    for where, level_rules in (
        ("scoring.levels", scoring.levels),
        ("practice.levels", diagnostic.practice.levels),
    ):
        starts = [level.from_ for level in level_rules]
        if starts != sorted(starts) or len(set(starts)) != len(starts) or starts[0] != 0:
            problems.append(
                Problem(file, where, "levels must start at 0 and go up strictly (from: 0, 25, …)")
            )
    if sorted(scoring.priority_tie_order) != sorted(axes):
        problems.append(Problem(file, "scoring.priority_tie_order", f"list every axis once: {axes}"))
    live = {a.code for a in programme.activity_formats if a.live}
    module_format = {m.id: m.meta.format for m in modules}
    offered = set()
    for offer in diagnostic.offers:
        where = f"offers[{offer.format}]"
        offered.add(offer.format)
        if offer.format not in formats:
            problems.append(Problem(file, where, f"unknown format; use one of {sorted(formats)}"))
        if offer.module is not None and offer.module not in module_ids:
            problems.append(
                Problem(
                    file, f"{where}.module", f"unknown module {offer.module}; use one of {sorted(module_ids)}"
                )
            )
        if offer.needs_session and module_format.get(offer.module or "") not in live:
            problems.append(
                Problem(
                    file,
                    f"{where}.needs_session",
                    "a live format needs `module:` naming a module whose format is live (atelier, "
                    "co-developpement); its sessions decide when it is offered",
                )
            )
    routing = diagnostic.routing
    for name, table in (
        ("already_followed", routing.already_followed),
        ("modules_by_profile", routing.modules_by_profile),
    ):
        for question, by_option in table.items():
            if question not in profile:
                problems.append(
                    Problem(
                        file,
                        f"routing.{name}.{question}",
                        f"unknown profiling question; use one of {sorted(profile)}",
                    )
                )
                continue
            for option, values in by_option.items():
                known = formats if name == "already_followed" else module_ids
                if option not in profile[question]:
                    problems.append(
                        Problem(
                            file,
                            f"routing.{name}.{question}.{option}",
                            f"unknown option; use one of {sorted(profile[question])}",
                        )
                    )
                problems += [
                    Problem(
                        file,
                        f"routing.{name}.{question}.{option}",
                        f"unknown {v!r}; use one of {sorted(known)}",
                    )
                    for v in values
                    if v not in known
                ]
    for rule in routing.rules:
        where = f"routing.rules[{rule.id}]"
        problems += [Problem(file, where, p) for p in condition_problems(rule.when, "when")]
        for f in rule.formats:
            if f not in formats:
                problems.append(
                    Problem(file, f"{where}.formats", f"unknown format {f!r}; use one of {sorted(formats)}")
                )
            elif f not in offered:
                problems.append(
                    Problem(
                        file,
                        f"{where}.formats",
                        f"format {f!r} is not offered today (no entry in offers): recommend only what a "
                        "learner can join, or add its offer with how to join",
                    )
                )
        wanted = [*rule.modules, *(m for ms in rule.modules_by_role.values() for m in ms)]
        problems += [
            Problem(file, f"{where}.modules", f"unknown module {m}; use one of {sorted(module_ids)}")
            for m in wanted
            if m not in module_ids
        ]
        roles = profile.get("P1", set())
        problems += [
            Problem(file, f"{where}.modules_by_role.{r}", f"unknown role; use one of {sorted(roles)}")
            for r in rule.modules_by_role
            if r not in roles
        ]
    problems += _unreachable_rules(diagnostic, levels, practice, profile, axes, file)
    if not any(p.file == file for p in problems):  # a malformed condition is reported on its own
        _check_routing_covers_everyone(diagnostic, levels, practice, profile, axes, problems, file)


def _named_questions(condition: Any) -> set[str]:
    (key, value), *_ = condition.items()
    if key == "profile":
        return set(value)
    if key in ("all", "any"):
        return {q for part in value for q in _named_questions(part)}
    return set()


def _cases(
    diagnostic: Diagnostic,
    levels: set[str],
    practice: set[str],
    profile: dict[str, set[str]],
    axes: list[str],
) -> Iterator[rules.Facts]:
    """Every combination routing can tell apart (spread: none or full; profiling questions that no
    condition and no `already_followed` names take their first option)."""
    named = {q for r in diagnostic.routing.rules for q in _named_questions(r.when)}
    named |= set(diagnostic.routing.already_followed)
    answers = [sorted(options) if q in named else sorted(options)[:1] for q, options in profile.items()]
    for level, person, axis, spread in product(sorted(levels), sorted(practice), axes, (0.0, 100.0)):
        for combination in product(*answers):
            yield rules.Facts(level, dict(zip(profile, combination, strict=True)), spread, person, axis)


def _unreachable_rules(
    diagnostic: Diagnostic,
    levels: set[str],
    practice: set[str],
    profile: dict[str, set[str]],
    axes: list[str],
    file: str,
) -> list[Problem]:
    """A rule that no case reaches, because the rules above it catch every case it names, is dead."""
    conditions = [(r.id, r.when) for r in diagnostic.routing.rules]
    if any(rules.check(when, levels, profile, "", practice, set(axes)) for _, when in conditions):
        return []
    reached = set()
    for facts in _cases(diagnostic, levels, practice, profile, axes):
        first = next((rid for rid, when in conditions if rules.matches(when, facts)), None)
        if first:
            reached.add(first)
    return [
        Problem(
            file,
            f"routing.rules[{rid}]",
            "never applies: the rules above it catch every case it names; move it up or narrow them",
        )
        for rid, _ in conditions
        if rid not in reached
    ]


def _check_routing_covers_everyone(
    diagnostic: Diagnostic,
    levels: set[str],
    practice: set[str],
    profile: dict[str, set[str]],
    axes: list[str],
    problems: list[Problem],
    file: str,
) -> None:
    """Every case reaches a rule that keeps two formats the person can follow, whatever they have already
    followed and with no live session planned, or a learner would get no recommendation."""
    for facts in _cases(diagnostic, levels, practice, profile, axes):
        rule = next((r for r in diagnostic.routing.rules if rules.matches(r.when, facts)), None)
        if rule is None:
            problems.append(
                Problem(
                    file,
                    "routing.rules",
                    f"no rule matches level {facts.level}, practice {facts.practice} with profile "
                    f"{dict(facts.profile)}; end the rules with one rule per level",
                )
            )
            return
        if len(formats_offered(diagnostic, rule.formats, facts.profile, frozenset())) < 2:
            problems.append(
                Problem(
                    file,
                    f"routing.rules[{rule.id}].formats",
                    f"fewer than two formats remain for profile {dict(facts.profile)} when no live session "
                    "is planned; list more formats, in order of preference",
                )
            )
            return


def _check_thresholds(
    thresholds: Thresholds, programme: Programme, modules: list[Module], problems: list[Problem]
) -> None:
    """Every competence has a rule that names real modules, and every track can reach its certificate."""
    file = "modules/thresholds.yaml"
    by_id = {m.id: m for m in modules}
    codes = [c.code for c in programme.competences]
    problems += [
        Problem(file, "competences", f"{code} has no mastery rule; add one")
        for code in codes
        if code not in thresholds.competences
    ]
    for code, rule in thresholds.competences.items():
        where = f"competences.{code}"
        if code not in codes:
            problems.append(Problem(file, where, f"unknown competence; use one of {codes}"))
            continue
        for part in ("quiz_modules", "completed", "attended", "accepted", "assessed"):
            for module_id in getattr(rule, part):
                module = by_id.get(module_id)
                if module is None:
                    problems.append(
                        Problem(
                            file, f"{where}.{part}", f"unknown module {module_id}; use one of {sorted(by_id)}"
                        )
                    )
                elif part == "quiz_modules" and code not in module.meta.competences:
                    problems.append(
                        Problem(
                            file,
                            f"{where}.quiz_modules",
                            f"{module_id} carries no weight for {code}; add it to the module's competences "
                            "or remove it here",
                        )
                    )
                elif part == "attended" and not module.meta.completion.attendance:
                    problems.append(
                        Problem(file, f"{where}.attended", f"{module_id} has no live session to attend")
                    )
                elif part == "accepted" and module.meta.deliverable is None:
                    problems.append(Problem(file, f"{where}.accepted", f"{module_id} has no deliverable"))
                elif (
                    part == "accepted"
                    and module.meta.deliverable is not None
                    and module.meta.deliverable.rubric is not None
                ):
                    problems.append(
                        Problem(
                            file,
                            f"{where}.accepted",
                            f"{module_id}'s production has a marking grid: name it under `assessed`",
                        )
                    )
                elif part == "assessed" and (
                    module.meta.deliverable is None or module.meta.deliverable.rubric is None
                ):
                    problems.append(
                        Problem(
                            file,
                            f"{where}.assessed",
                            f"{module_id} has no production with a marking grid; add `deliverable.rubric` "
                            "to its module.yaml",
                        )
                    )
    blocs = {b.code: b for b in programme.blocs}
    # A bloc certifies competence only if a person judged some work of the learner's: quizzes and pages
    # alone must not reach it.
    for bloc in programme.blocs:
        rules = [thresholds.competences[c] for c in bloc.competences if c in thresholds.competences]
        if rules and not any(r.accepted or r.assessed or r.attended for r in rules):
            problems.append(
                Problem(
                    file,
                    f"competences ({bloc.code})",
                    f"bloc {bloc.code} is reachable on quizzes and pages alone; require an assessed "
                    "production (`assessed`), a deliverable (`accepted`) or attendance for one of "
                    f"{', '.join(bloc.competences)}",
                )
            )
    for track in programme.tracks:
        needed = {
            module_id
            for bloc in track.blocs
            if bloc in blocs
            for code in blocs[bloc].competences
            if code in thresholds.competences
            for module_id in _modules_of(thresholds.competences[code])
        }
        missing = sorted(needed - set(track.modules))
        if missing:
            problems.append(
                Problem(
                    "modules/programme.yaml",
                    f"tracks[{track.code}].modules",
                    f"its blocs need {', '.join(missing)} (thresholds.yaml); add them to the track",
                )
            )


def _modules_of(rule: MasteryRule) -> tuple[str, ...]:
    return (*rule.quiz_modules, *rule.completed, *rule.attended, *rule.accepted, *rule.assessed)


def _check_rubric(file: str, rubric: Rubric) -> list[Problem]:
    """Criterion ids unique, levels unique, and the required level one of the criterion's levels."""
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, criterion in enumerate(rubric.criteria):
        where = f"deliverable.rubric.criteria[{i}]"
        if criterion.id in seen:
            problems.append(Problem(file, f"{where}.id", f"{criterion.id} is used twice; make it unique"))
        seen.add(criterion.id)
        levels = [level.level for level in criterion.levels]
        if len(set(levels)) != len(levels):
            problems.append(Problem(file, f"{where}.levels", "two levels have the same number; renumber"))
        if levels != sorted(levels):
            problems.append(Problem(file, f"{where}.levels", "list the levels from lowest to highest"))
        if criterion.required not in levels:
            problems.append(
                Problem(
                    file, f"{where}.required", f"{criterion.required} is not a level; use one of {levels}"
                )
            )
        elif criterion.required == min(levels):
            problems.append(
                Problem(file, f"{where}.required", "the lowest level cannot be the one required; raise it")
            )
    return problems


def _check_track_profiles(programme: Programme, diagnostic: Diagnostic, problems: list[Problem]) -> None:
    """A track's `from_profiles` names profiling questions and options the autodiagnostic asks."""
    options = {q.id: {o.id for o in q.options} for q in diagnostic.profiling}
    for track in programme.tracks:
        for i, condition in enumerate(track.from_profiles):
            where = f"tracks[{track.code}].from_profiles[{i}]"
            for question, picked in condition.items():
                if question not in options:
                    problems.append(
                        Problem(
                            "modules/programme.yaml",
                            where,
                            f"unknown profiling question {question}; use one of {sorted(options)}",
                        )
                    )
                    continue
                problems += [
                    Problem(
                        "modules/programme.yaml",
                        f"{where}.{question}",
                        f"unknown option {o!r}; use one of {sorted(options[question])}",
                    )
                    for o in picked
                    if o not in options[question]
                ]
