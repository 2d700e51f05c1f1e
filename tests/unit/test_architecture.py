"""The architecture as a test: the import contracts of pyproject.toml ([tool.importlinter]), run by import-linter.

The contracts state where issue 18 takes the code (pylti1p3 behind lti_tool.lti, xapi on its own, the demo
platform beside the tool, features layered one way, no cycle between them). Parallel branches bring today's
code there; until they are merged, the contracts they fix are listed in KNOWN_BROKEN_UNTIL_MERGE and skipped
with the reason. A listed contract that holds fails the test, so the list only shrinks.
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

# Contract id -> why today's code breaks it, and which piece of issue 18 mends it.
KNOWN_BROKEN_UNTIL_MERGE: dict[str, str] = {
    "feature-layers": (
        "events calls competences.services and competences.services calls certificates.issuing (the event "
        "pipeline, step 1, turns both into subscriptions); competences' blueprint and cli import certificates "
        "(the certificates CLI and pages move to certificates, step 3); learners.blueprint reaches events "
        "through training and diagnostic (the learner home moves out of learners, step 3)"
    ),
    "no-feature-cycle": (
        "cycles certificates<->competences, competences<->events, events<->lti (the event pipeline), "
        "learners<->lti, learners<->training (step 3), content<->diagnostic, diagnostic<->training"
    ),
}


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


def test_every_known_broken_contract_is_in_the_configuration() -> None:
    assert set(KNOWN_BROKEN_UNTIL_MERGE) <= set(CONTRACTS), "a stale id in KNOWN_BROKEN_UNTIL_MERGE"


@pytest.mark.parametrize("contract_id", sorted(CONTRACTS))
def test_import_contract(contract_id: str, cache_dir: Path) -> None:
    name = CONTRACTS[contract_id]["name"]
    kept, output = _lint(contract_id, cache_dir)
    if contract_id in KNOWN_BROKEN_UNTIL_MERGE:
        assert not kept, (
            f"contract {contract_id!r} ({name}) holds now: remove it from KNOWN_BROKEN_UNTIL_MERGE"
        )
        pytest.skip(f"{contract_id} known broken until merge: {KNOWN_BROKEN_UNTIL_MERGE[contract_id]}")
    assert kept, f"import contract broken: {contract_id!r} ({name})\n{output}"
