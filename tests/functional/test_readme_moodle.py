"""The README's Moodle steps stay true: they cover 4.1–4.2 and 4.3+/5.x, the settings a teacher on 4.3+
cannot do without, a grade to pass that is the modules' own, and an invitation command that works."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from flask import Flask

from lti_tool.content.loader import Content

README = Path(__file__).resolve().parents[2] / "README.md"


def moodle_section() -> str:
    text = README.read_text(encoding="utf-8")
    return text.split("## Install Socle in Moodle", 1)[1].split("\n## ", 1)[0]


def test_the_moodle_steps_cover_each_version_and_the_settings_that_matter() -> None:
    section = moodle_section()
    for words in (
        "Moodle 4.1 and 4.2",
        "Moodle 4.3 and later, 5.x",
        "preconfigured tool",
        "Show in activity chooser and as a preconfigured tool",
        "More → LTI External tools",
        "Grade to pass",
        "Hide on course page",
        "Add LTI Advantage",
        "Activate",
        "Select content",
    ):
        assert words in section, words


def test_the_grade_to_pass_the_readme_gives_is_every_modules_mastery_score(content: Content) -> None:
    given = re.search(r"\*\*Grade → Grade to pass\*\*: `(\d+)` for a module", moodle_section())
    assert given is not None
    assert {round(m.meta.mastery_score * 100) for m in content.modules} == {int(given.group(1))}


def test_the_invitation_command_of_the_readme_prints_the_url_to_paste(app: Flask) -> None:
    command = re.search(r"\.venv/bin/flask --app lti_tool (platform invite [^\n#]+)", moodle_section())
    assert command is not None
    result = app.test_cli_runner().invoke(args=shlex.split(command.group(1)))
    assert result.exit_code == 0, result.output
    assert re.search(r"/lti/register\?token=\S+", result.output)
