"""The xapi package stands on its own: every one of its modules imports with Flask, lti_tool and demo_platform
unavailable (issue 18, step 4).

Each check runs in a fresh interpreter whose import system refuses those packages before anything is
imported, then walks the package with ``pkgutil.walk_packages`` and imports every module. It sees what a
module imports when it is loaded; an import hidden inside a function is the import contract's to catch
(``xapi-on-its-own`` in pyproject.toml, tests/unit/test_architecture.py).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
UNAVAILABLE = ("flask", "lti_tool", "demo_platform")

# Run as ``python -c CHECK PACKAGE``: prints each module it imported, one a line; stops with an error that
# names the first module that cannot be imported.
CHECK = textwrap.dedent(
    """
    import importlib, importlib.abc, pkgutil, sys

    UNAVAILABLE = {unavailable!r}


    class Unavailable(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in UNAVAILABLE:
                raise ImportError(f"{{name}} is unavailable in this check")
            return None


    sys.meta_path.insert(0, Unavailable())
    loaded = sorted(m for m in sys.modules if m.partition(".")[0] in UNAVAILABLE)
    assert not loaded, f"imported before the check started: {{loaded}}"
    package = importlib.import_module(sys.argv[1])
    print(package.__name__)
    for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        try:
            importlib.import_module(module.name)
        except ImportError as error:
            sys.exit(f"{{module.name}} cannot be imported: {{error}}")
        print(module.name)
    """
).format(unavailable=UNAVAILABLE)


def _check(package: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - this interpreter, with a fixed script
        [sys.executable, "-c", CHECK, package],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_every_xapi_module_imports_without_flask_lti_tool_or_demo_platform() -> None:
    done = _check("xapi", ROOT)
    assert done.returncode == 0, done.stderr
    modules = {f"xapi.{path.stem}" for path in (ROOT / "xapi").glob("*.py") if path.stem != "__init__"}
    assert set(done.stdout.split()) == {"xapi"} | modules, "the walk missed a module of the package"
    assert {"xapi.api", "xapi.cli"} <= modules


def test_the_check_fails_on_a_module_that_imports_flask(tmp_path: Path) -> None:
    """The same check on a package one of whose modules imports Flask (installed here) fails on it."""
    package = tmp_path / "leaky"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "fine.py").write_text("import json\n")
    (package / "web.py").write_text("from flask import Flask\n")
    done = _check("leaky", tmp_path)
    assert done.returncode != 0
    assert "leaky.web cannot be imported: flask is unavailable in this check" in done.stderr
    assert done.stdout.split() == ["leaky", "leaky.fine"]
