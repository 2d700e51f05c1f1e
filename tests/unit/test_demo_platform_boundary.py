"""The demo platform is a neighbour of the tool: it takes only shared infrastructure from ``lti_tool``, and
the tool imports it in one place (create_app), like an LMS that knows the tool by its URLs only."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# What the demo platform may take from lti_tool (listed in demo_platform/__init__.py's docstring).
SHARED_INFRASTRUCTURE = {"lti_tool.db", "lti_tool.inputs", "lti_tool.keys"}


def imports(path: Path) -> set[str]:
    """Every module a file imports, at its top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_the_demo_platform_takes_only_shared_infrastructure_from_the_tool() -> None:
    taken = {
        (path.relative_to(ROOT).as_posix(), module)
        for path in sorted((ROOT / "demo_platform").rglob("*.py"))
        for module in imports(path)
        if module == "lti_tool" or module.startswith("lti_tool.")
    }
    assert taken, "the scan found no import of lti_tool at all: is the demo platform where it should be?"
    outside = {
        (file, module)
        for file, module in taken
        if not any(module == allowed or module.startswith(allowed + ".") for allowed in SHARED_INFRASTRUCTURE)
    }
    assert outside == set()


def test_the_tool_imports_the_demo_platform_only_in_create_app() -> None:
    importers = {
        path.relative_to(ROOT).as_posix()
        for path in sorted((ROOT / "lti_tool").rglob("*.py"))
        if any(module == "demo_platform" or module.startswith("demo_platform.") for module in imports(path))
    }
    assert importers == {"lti_tool/__init__.py"}
