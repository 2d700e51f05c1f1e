"""The IRIs of Socle's statements: standard verbs and activity types, and Socle's own activities and
extensions under a base IRI the deployment controls (its public URL by default)."""

from __future__ import annotations

from dataclasses import dataclass

ADL = "http://adlnet.gov/expapi/verbs/"
LAUNCHED = ADL + "launched"
EXPERIENCED = ADL + "experienced"
PROGRESSED = ADL + "progressed"
ANSWERED = ADL + "answered"
PASSED = ADL + "passed"
FAILED = ADL + "failed"
COMPLETED = ADL + "completed"
ATTENDED = ADL + "attended"
SCORED = ADL + "scored"
VOIDED = ADL + "voided"
SUBMITTED = "http://activitystrea.ms/schema/1.0/submit"
SATISFIED = "https://w3id.org/xapi/adl/verbs/satisfied"
WAIVED = "https://w3id.org/xapi/adl/verbs/waived"
EARNED = "http://id.tincanapi.com/verb/earned"

VERB_DISPLAY = {
    LAUNCHED: {"fr": "a lancé", "en": "launched"},
    EXPERIENCED: {"fr": "a consulté", "en": "experienced"},
    PROGRESSED: {"fr": "a progressé dans", "en": "progressed"},
    ANSWERED: {"fr": "a répondu à", "en": "answered"},
    PASSED: {"fr": "a réussi", "en": "passed"},
    FAILED: {"fr": "n'a pas réussi", "en": "failed"},
    COMPLETED: {"fr": "a terminé", "en": "completed"},
    ATTENDED: {"fr": "a participé à", "en": "attended"},
    SCORED: {"fr": "a obtenu une évaluation pour", "en": "scored"},
    VOIDED: {"fr": "a annulé", "en": "voided"},
    SUBMITTED: {"fr": "a déposé", "en": "submitted"},
    SATISFIED: {"fr": "a satisfait", "en": "satisfied"},
    WAIVED: {"fr": "a été dispensé·e de", "en": "waived"},
    EARNED: {"fr": "a obtenu", "en": "earned"},
}

ACTIVITY_TYPES = {
    "module": "http://adlnet.gov/expapi/activities/module",
    "page": "http://activitystrea.ms/schema/1.0/page",
    "question": "http://adlnet.gov/expapi/activities/cmi.interaction",
    "assessment": "http://adlnet.gov/expapi/activities/assessment",
    "meeting": "http://adlnet.gov/expapi/activities/meeting",
    "course": "http://adlnet.gov/expapi/activities/course",
    "file": "http://adlnet.gov/expapi/activities/file",
    "profile": "http://adlnet.gov/expapi/activities/profile",
    "objective": "http://adlnet.gov/expapi/activities/objective",
    "badge": "http://activitystrea.ms/schema/1.0/badge",
}

CMI5_MASTERY_SCORE = "https://w3id.org/xapi/cmi5/context/extensions/masteryscore"
CMI5_PROGRESS = "https://w3id.org/xapi/cmi5/result/extensions/progress"


@dataclass(frozen=True)
class Vocabulary:
    """Socle's own IRIs, under ``base`` (e.g. https://socle.example.org)."""

    base: str

    def activity(self, *path: str) -> str:
        return self.base.rstrip("/") + "/xapi/activities/" + "/".join(path)

    def extension(self, name: str) -> str:
        return self.base.rstrip("/") + "/xapi/extensions/" + name

    @property
    def programme(self) -> str:
        return self.activity("programme")

    @property
    def profile(self) -> str:
        return self.activity("profile")
