"""The official 1EdTech Open Badges 3.0 JSON schema (vendored in ``schema/``), checked with python-jsonschema,
offline: a credential that the schema refuses yields its errors, each with the JSON pointer it concerns."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft201909Validator

SCHEMA_FILE = Path(__file__).parent / "schema" / "ob_v3p0_achievementcredential_schema.json"


@cache
def _validator() -> Draft201909Validator:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    Draft201909Validator.check_schema(schema)
    return Draft201909Validator(schema, format_checker=Draft201909Validator.FORMAT_CHECKER)


def ob3_schema_errors(credential: dict[str, Any]) -> list[str]:
    """What the official schema says is wrong with ``credential`` (empty when it conforms)."""
    return sorted(
        f"/{'/'.join(map(str, error.absolute_path))} {error.message}"
        for error in _validator().iter_errors(credential)
    )
