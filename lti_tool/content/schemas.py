"""The shape of the files under ``modules/``, as pydantic models (read-only once loaded)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(Strict):
    """A text in French, and in English where the UI needs it."""

    fr: str = Field(min_length=1)
    en: str = Field(min_length=1)


# -- programme.yaml -----------------------------------------------------------------------------------
class Competence(Strict):
    code: str = Field(pattern=r"^C[0-9]+$")
    name: Text
    description: Text


class Bloc(Strict):
    code: str = Field(pattern=r"^B[0-9]+$")
    name: Text
    competences: list[str] = Field(min_length=1)
    assessment: Text


class Format(Strict):
    code: str
    name: Text
    description: Text


class ActivityFormat(Strict):
    code: str
    name: Text
    programme_format: str
    live: bool


class Track(Strict):
    code: str
    name: Text
    modules: list[str]
    blocs: list[str]
    # The autodiagnostic answers that put a person on this track: any one condition, each a profiling
    # question -> the options that match. A person no track claims follows the first track.
    from_profiles: list[dict[str, list[str]]] = Field(default_factory=list)


class Programme(Strict):
    version: int = Field(ge=1)
    title: Text
    competences: list[Competence] = Field(min_length=1)
    blocs: list[Bloc] = Field(min_length=1)
    formats: list[Format] = Field(min_length=1)
    activity_formats: list[ActivityFormat] = Field(min_length=1)
    tracks: list[Track] = Field(min_length=1)


# -- a module: module.yaml + quiz.yaml ----------------------------------------------------------------------
class Retry(Strict):
    max_attempts: int = Field(ge=0)
    wait_minutes: int = Field(ge=0)


class Completion(Strict):
    pages: Literal["all"] = "all"
    quiz: Literal["passed"] | None = "passed"
    attendance: bool = False
    deliverable: bool = False


class RubricLevel(Strict):
    """One level of a criterion: its number (higher is better), a short label and what the work shows."""

    level: int = Field(ge=0, le=9)
    label: str = Field(min_length=1, max_length=80)
    descriptor: str = Field(min_length=1)


class Criterion(Strict):
    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=32)
    title: str = Field(min_length=1, max_length=200)
    levels: list[RubricLevel] = Field(min_length=2, max_length=6)
    required: int = Field(ge=0, le=9)  # the level the work must reach on this criterion


class Rubric(Strict):
    """A marking grid: the production meets it when every criterion reaches its required level."""

    criteria: list[Criterion] = Field(min_length=1, max_length=12)


class Deliverable(Strict):
    title: str | None = None  # an assessed production's name, e.g. « Diagnostic d'une organisation réelle »
    bloc: str | None = None  # the bloc whose assessment this production is (programme.yaml)
    prompt: str = Field(min_length=1)
    min_words: int = Field(ge=1)
    rubric: Rubric | None = None  # a production assessed criterion by criterion (else accept / return)


class Replay(Strict):
    title: str
    date_label: str | None = None
    duration_minutes: int | None = None


class PageRef(Strict):
    file: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*\.md$")
    title: str = Field(min_length=1)


class ModuleMeta(Strict):
    id: str = Field(pattern=r"^M[0-9]+$")
    slug: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    title: str = Field(min_length=1)
    summary: str = Field(min_length=1)
    objectives: list[str] = Field(min_length=1)
    format: str
    duration_minutes: int = Field(ge=1)
    tracks: list[str]
    competences: dict[str, float] = Field(min_length=1)
    mastery_score: float = Field(gt=0, le=1)
    retry: Retry
    completion: Completion
    deliverable: Deliverable | None = None
    replay: Replay | None = None
    pages: list[PageRef] = Field(min_length=1)


class Choice(Strict):
    id: str = Field(pattern=r"^[a-z0-9]+$")
    text: str = Field(min_length=1)
    correct: bool
    feedback: str = Field(min_length=1)


class Feedback(Strict):
    correct: str = Field(min_length=1)
    incorrect: str = Field(min_length=1)


class ChoiceQuestion(Strict):
    id: str = Field(pattern=r"^[a-z0-9_-]+$")
    theme: str | None = None  # a theme id of the quiz: what a wrong answer sends back to
    situation: bool = False  # a situation that asks the learner for a decision (not recall)
    type: Literal["single", "multiple"]
    prompt: str = Field(min_length=1)
    choices: list[Choice] = Field(min_length=2)


class TrueFalseQuestion(Strict):
    id: str = Field(pattern=r"^[a-z0-9_-]+$")
    theme: str | None = None  # a theme id of the quiz: what a wrong answer sends back to
    situation: bool = False  # a situation that asks the learner for a decision (not recall)
    type: Literal["true_false"]
    prompt: str = Field(min_length=1)
    answer: bool
    feedback: Feedback


class Pair(Strict):
    left: str = Field(min_length=1)
    right: str = Field(min_length=1)


class MatchingQuestion(Strict):
    id: str = Field(pattern=r"^[a-z0-9_-]+$")
    theme: str | None = None  # a theme id of the quiz: what a wrong answer sends back to
    situation: bool = False  # a situation that asks the learner for a decision (not recall)
    type: Literal["matching"]
    prompt: str = Field(min_length=1)
    pairs: list[Pair] = Field(min_length=2, max_length=8)
    feedback: Feedback


class OrderingQuestion(Strict):
    id: str = Field(pattern=r"^[a-z0-9_-]+$")
    theme: str | None = None  # a theme id of the quiz: what a wrong answer sends back to
    situation: bool = False  # a situation that asks the learner for a decision (not recall)
    type: Literal["ordering"]
    prompt: str = Field(min_length=1)
    items: list[str] = Field(min_length=2, max_length=8)
    feedback: Feedback


Question = Annotated[
    ChoiceQuestion | TrueFalseQuestion | MatchingQuestion | OrderingQuestion, Field(discriminator="type")
]


class Theme(Strict):
    """What a group of questions assesses, and the pages that teach it (shown after a failed attempt)."""

    id: str = Field(pattern=r"^[a-z0-9_-]+$")
    title: str = Field(min_length=1)
    pages: list[str] = Field(min_length=1)  # files of module.yaml's pages


class Quiz(Strict):
    # Questions drawn for each attempt from the bank below; None: every question, in order (the bank
    # should then be at least twice the draw, which `modules check` asks for).
    draw: int | None = Field(default=None, ge=1)
    themes: list[Theme] = Field(default_factory=list)
    questions: list[Question] = Field(min_length=1)


# -- autodiagnostic.yaml -------------------------------------------------------------------------------------
class ScaleLevel(Strict):
    value: int = Field(ge=1, le=4)
    code: str
    label: Text
    meaning: Text


class DontKnow(Strict):
    label: Text
    counts_as: int = Field(ge=1, le=4)


class Option(Strict):
    id: str
    label: Text


class ProfilingQuestion(Strict):
    id: str = Field(pattern=r"^P[0-9]+$")
    prompt: Text
    options: list[Option] = Field(min_length=2)


class AxisQuestion(Strict):
    id: str
    prompt: str = Field(min_length=1)
    levels: dict[int, str]


class QuestionText(Strict):
    prompt: str = Field(min_length=1)
    levels: dict[int, str]


class Axis(Strict):
    id: str = Field(pattern=r"^[A-Z]$")
    name: Text
    modules: list[str]
    questions: list[AxisQuestion] = Field(min_length=1)


class Variant(Strict):
    id: str
    when: dict[str, Any]
    note: Text | None = None  # shown above the organisation's axes: which organisation to answer for
    replace: dict[str, QuestionText]


class LevelRule(Strict):
    code: str
    from_: float = Field(alias="from", ge=0, le=100)
    label: Text
    explanation: Text


class Practice(Strict):
    """The questions on the person's own practice, scored apart from the organisation's five axes."""

    name: Text
    intro: Text
    questions: list[AxisQuestion] = Field(min_length=1)
    levels: list[LevelRule] = Field(min_length=1)


class Offer(Strict):
    """A format as it can be followed today: how to join it, and where."""

    format: str
    how_to_join: Text
    url: str | None = Field(default=None, pattern=r"^https://")  # an outside page
    module: str | None = None  # the Socle module that delivers it (its page is linked)
    # Offered only while a live session of `module` is planned in the course (ateliers, co-développement).
    needs_session: bool = False


class Scoring(Strict):
    weights: dict[str, float]
    levels: list[LevelRule] = Field(min_length=1)
    priority_tie_order: list[str]


class RoutingRule(Strict):
    id: str
    when: dict[str, Any]
    # Formats in order of preference; the first two the person can follow are recommended (one already
    # followed, or a live format with no session planned, is passed over).
    formats: list[str] = Field(min_length=2)
    modules: list[str] = []
    modules_by_role: dict[str, list[str]] = {}
    explanation: Text


class Routing(Strict):
    max_suggested_modules: int = Field(ge=1, le=3)
    # profiling question -> option -> formats already followed (P4: mooc -> [mooc])
    already_followed: dict[str, dict[str, list[str]]] = {}
    # profiling question -> option -> modules suggested whatever the rule (P2: fondation -> [M6])
    modules_by_profile: dict[str, dict[str, list[str]]] = {}
    rules: list[RoutingRule] = Field(min_length=1)


class Diagnostic(Strict):
    # The content version whose questions and rules these are: a result scored under an earlier version
    # shows its scores without today's explanations (raise it with the questionnaire or its routing, not
    # for a change elsewhere in modules/).
    since_version: int = Field(ge=1)
    scale: list[ScaleLevel] = Field(min_length=4, max_length=4)
    dont_know: DontKnow
    profiling: list[ProfilingQuestion] = Field(min_length=1)
    practice: Practice
    axes: list[Axis] = Field(min_length=1)
    variants: list[Variant] = []
    scoring: Scoring
    offers: list[Offer] = Field(min_length=1)
    routing: Routing


# -- thresholds.yaml ---------------------------------------------------------------------------------------
class MasteryRule(Strict):
    """When one competence is mastered. Each list names modules; a module whose prior learning a facilitator
    recognised counts as done for every part of the rule."""

    # Weighted quiz evidence: the best quiz score of each module, weighted by the module's weight for the
    # competence (module.yaml), must reach `min_score` percent.
    quiz_modules: list[str] = Field(min_length=1)
    min_score: int = Field(ge=0, le=100)
    completed: list[str] = Field(default_factory=list)
    attended: list[str] = Field(default_factory=list)  # a live session of the module attended
    accepted: list[str] = Field(default_factory=list)  # the module's deliverable accepted by a facilitator
    # the module's production assessed on its marking grid, every criterion at its required level
    assessed: list[str] = Field(default_factory=list)


class Thresholds(Strict):
    version: int = Field(ge=1)
    competences: dict[str, MasteryRule] = Field(min_length=1)
