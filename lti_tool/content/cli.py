"""``flask --app lti_tool modules check``: validate modules/ and report every problem.

Registered as a Flask CLI plugin (pyproject's ``flask.commands`` entry point) so that it runs without
building the app: the app refuses to start on invalid content, and this is the command that says why.
"""

from __future__ import annotations

import os

import click

from lti_tool.config import DEFAULTS
from lti_tool.content.loader import ContentError, load_content
from lti_tool.content.routing import all_question_ids


@click.group()
def modules() -> None:
    """The programme's content in modules/."""


@modules.command("check")
@click.option(
    "--path", default=None, help="The content folder (default: LTI_TOOL_CONTENT_PATH or ./modules)."
)
def check(path: str | None) -> None:
    """Validate every file; print each problem with its file, place and fix; exit 1 if any. Warnings (a
    quiz that gives its answers away, a quiz without a bank) are printed but do not fail."""
    root = path or os.environ.get("LTI_TOOL_CONTENT_PATH") or DEFAULTS["CONTENT_PATH"]
    try:
        loaded = load_content(root)
    except ContentError as error:
        for problem in error.problems:
            click.echo(str(problem), err=True)
        click.echo(f"{len(error.problems)} problem(s) in {root}.", err=True)
        raise SystemExit(1) from error
    for warning in loaded.warnings:
        click.echo(f"warning: {warning}", err=True)
    pages = sum(len(m.pages) for m in loaded.modules)
    questions = sum(len(m.quiz.questions) for m in loaded.modules)
    click.echo(
        f"{root}: content version {loaded.version} is valid: {len(loaded.modules)} modules, {pages} pages, "
        f"{questions} quiz questions, "
        f"{len(all_question_ids(loaded.diagnostic))} diagnostic questions"
        + (f"; {len(loaded.warnings)} warning(s) to look at." if loaded.warnings else ".")
    )
