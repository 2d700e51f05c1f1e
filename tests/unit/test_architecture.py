"""The architecture as a test: the import contracts of pyproject.toml ([tool.importlinter]), run by import-linter.

The contracts state the architecture: pylti1p3 behind lti_tool.lti, xapi on its own, the demo platform beside
the tool, the features layered one way (every module of lti_tool placed in the order), no cycle between them.
Each contract is one test, which prints import-linter's explanation (the import chain) when it breaks.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = ROOT / "pyproject.toml"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _settings() -> dict[str, Any]:
    with PYPROJECT.open("rb") as file:
        settings: dict[str, Any] = tomllib.load(file)["tool"]["importlinter"]
    return settings


CONTRACTS = {contract["id"]: contract for contract in _settings()["contracts"]}


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One import graph for every contract of the run (import-linter caches it), kept out of the repository."""
    return tmp_path_factory.mktemp("import-linter-cache")


def _lint(contract_id: str, cache_dir: Path) -> tuple[bool, str]:
    """Whether import-linter finds the contract kept, and what it printed."""
    done = subprocess.run(  # noqa: S603 - our own virtualenv's lint-imports, with fixed arguments
        [str(LINT_IMPORTS), "--no-logo", "--cache-dir", str(cache_dir), "--contract", contract_id],
        cwd=ROOT,
        capture_output=True,
        text=True,
        # Wide enough that rich does not wrap a contract's name.
        env={**os.environ, "COLUMNS": "400", "NO_COLOR": "1"},
        timeout=120,
        check=False,
    )
    output = done.stdout + done.stderr
    name = CONTRACTS[contract_id]["name"]
    if done.returncode == 0 and f"{name} KEPT" in output:
        return True, output
    if done.returncode == 1 and f"{name} BROKEN" in output:
        return False, output
    raise AssertionError(f"lint-imports could not check contract {contract_id!r}:\n{output}")


@pytest.mark.parametrize("contract_id", sorted(CONTRACTS))
def test_import_contract(contract_id: str, cache_dir: Path) -> None:
    name = CONTRACTS[contract_id]["name"]
    kept, output = _lint(contract_id, cache_dir)
    assert kept, f"import contract broken: {contract_id!r} ({name})\n{output}"
