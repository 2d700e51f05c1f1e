"""The competence framework in Moodle's ``tool_lpimportcsv`` format. No Flask here."""

from __future__ import annotations

import json
from html import escape

from lti_tool.certificates import evidence
from lti_tool.competences.services import rules_of
from lti_tool.content.loader import Content
from lti_tool.exports.writing import csv_bytes

# Moodle's tool_lpimportcsv: the columns of framework_importer::list_required_headers(), in that order (the
# importer reads them by position; the labels are its English strings, as its own exporter writes them).
MOODLE_HEADERS = (
    "Parent ID number",
    "ID number",
    "Short name",
    "Description",
    "Description format",
    "Scale values",
    "Scale configuration",
    "Rule type (optional)",
    "Rule outcome (optional)",
    "Rule config (optional)",
    "Cross-referenced competency ID numbers",
    "Exported ID (optional)",
    "Is framework",
    "Taxonomy",
)
MOODLE_FORMAT_HTML = "1"
MOODLE_SCALE = ("Non acquis", "Acquis")
# Item 2 ("Acquis") is both the default rating and the proficient one; the importer replaces the scale id.
MOODLE_SCALE_CONFIGURATION = json.dumps(
    [{"scaleid": "0"}, {"id": 2, "scaledefault": 1, "proficient": 1}], separators=(",", ":")
)
MOODLE_RULE_ALL = "core_competency\\competency_rule_all"  # "complete when all children are complete"
MOODLE_OUTCOME_COMPLETE = "2"  # core_competency\competency::OUTCOME_COMPLETE
MOODLE_TAXONOMIES = "domain,competency"  # level 1: the blocs, level 2: the competences
MOODLE_SHORTNAME_MAX = 100


# -- the competence framework for Moodle ---------------------------------------------------------------------
def framework_idnumber(content: Content) -> str:
    """The framework's Moodle ID number: unique on a Moodle site, so it carries the content version (a new
    version imports as a new framework, as its meaning may have changed)."""
    return f"socle-mse-v{content.version}"


def _html(*paragraphs: str) -> str:
    return "".join(f"<p>{escape(text, quote=False)}</p>" for text in paragraphs if text)


def moodle_framework_rows(content: Content) -> list[list[str]]:
    """The rows of a ``tool_lpimportcsv`` file (header excluded): the framework first (with its scale, "Non
    acquis" / "Acquis", the latter proficient), then each bloc (rule: complete when all its competences are,
    as Socle's own rule) followed by its competences, whose parent is the bloc."""
    programme = content.programme
    rules = rules_of(content)
    competences = {c.code: c for c in programme.competences}

    def row(parent: str, idnumber: str, shortname: str, description: str, **extra: str) -> list[str]:
        cells = {
            "scalevalues": "",
            "scaleconfiguration": "",
            "ruletype": "",
            "ruleoutcome": "0",
            "ruleconfig": "null",
            "isframework": "",
            "taxonomy": "",
        } | extra
        return [
            parent,
            idnumber,
            shortname[:MOODLE_SHORTNAME_MAX],
            description,
            MOODLE_FORMAT_HTML,
            cells["scalevalues"],
            cells["scaleconfiguration"],
            cells["ruletype"],
            cells["ruleoutcome"],
            cells["ruleconfig"],
            "",  # related competences: none
            "",  # exported id: only for rules that point at other competences (none here)
            cells["isframework"],
            cells["taxonomy"],
        ]

    rows = [
        row(
            "",
            framework_idnumber(content),
            programme.title.fr,
            _html(
                "Référentiel du certificat d'aptitude : blocs de compétences et compétences, exporté de "
                f"Socle (contenu version {content.version}, règles de maîtrise version {rules.version}).",
                "Un bloc est acquis quand toutes ses compétences le sont.",
            ),
            scalevalues=",".join(MOODLE_SCALE),
            scaleconfiguration=MOODLE_SCALE_CONFIGURATION,
            ruleoutcome="",
            ruleconfig="",
            isframework="1",
            taxonomy=MOODLE_TAXONOMIES,
        )
    ]
    for bloc in programme.blocs:
        rows.append(
            row(
                "",
                bloc.code,
                bloc.name.fr,
                _html(
                    f"Évaluation : {bloc.assessment.fr}",
                    f"Acquis quand toutes ses compétences le sont : {', '.join(bloc.competences)}.",
                ),
                ruletype=MOODLE_RULE_ALL,
                ruleoutcome=MOODLE_OUTCOME_COMPLETE,
            )
        )
        for code in bloc.competences:
            competence = competences[code]
            rule = rules.rules.get(code)
            rows.append(
                row(
                    bloc.code,
                    code,
                    competence.name.fr,
                    _html(
                        competence.description.fr,
                        f"Règle de maîtrise : {evidence.rule_text(rule)}." if rule is not None else "",
                    ),
                )
            )
    return rows


def moodle_framework(content: Content) -> bytes:
    """The competence framework as a Moodle competency-framework CSV (``tool_lpimportcsv``), in the same CSV
    convention as every other export (choose the ";" delimiter in Moodle's import form)."""
    return csv_bytes(MOODLE_HEADERS, moodle_framework_rows(content))
