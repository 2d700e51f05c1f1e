"""The migrations build exactly the schema the models describe, and every one of them can be undone.

On a fresh database (SQLite, or PostgreSQL with LTI_TOOL_TEST_DATABASE_URL): ``db upgrade`` to head, then
Alembic's autogenerate comparison of that schema with the models' metadata must find nothing (what
``flask db migrate`` would write is empty); then a round trip down to an empty database and back, and of
the head migration alone, must leave the same schema.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from sqlalchemy import MetaData, inspect

import lti_tool
import xapi
from lti_tool import create_app
from lti_tool.db import db
from tests.conftest import new_database, standalone_config
from xapi.models import Base as XapiBase


def _import_every_module() -> None:
    """Register every model on its metadata, wherever it is declared (a model module that nothing imports
    would otherwise be missed by the comparison, as by ``flask db migrate``)."""
    for package in (lti_tool, xapi):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if not module.name.startswith("lti_tool.migrations"):  # env.py runs migrations when imported
                importlib.import_module(module.name)


def _target_metadata() -> list[MetaData]:
    """What migrations/env.py compares against: the app's models and xapi's own tables."""
    _import_every_module()
    return [db.metadata, XapiBase.metadata]


def _drift(app: Flask) -> list[Any]:
    """The differences autogenerate finds between the migrated schema and the models: tables, columns, types
    (as env.py compares them), indexes, constraints, and server defaults too."""
    with app.app_context():
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "compare_server_default": True}
            )
            # A list of MetaData, as env.py's target_metadata (alembic accepts a sequence here too).
            differences: list[Any] = compare_metadata(context, _target_metadata())
        db.engine.dispose()
    return differences


def _run(app: Flask, *args: str) -> None:
    result = app.test_cli_runner().invoke(args=["db", *args])
    assert result.exit_code == 0, f"flask db {' '.join(args)} failed:\n{result.output}"
    with app.app_context():
        db.engine.dispose()


def _tables(app: Flask) -> set[str]:
    with app.app_context():
        names = set(inspect(db.engine).get_table_names())
        db.engine.dispose()
    return names - {"alembic_version"}


@pytest.fixture
def migrated(tmp_path: Path) -> Iterator[Flask]:
    """An app on an empty database of its own, upgraded to the head migration."""
    with new_database("socle_drift", tmp_path / "drift.sqlite3") as url:
        app = create_app(standalone_config(tmp_path, DATABASE_URL=url))
        _run(app, "upgrade")
        yield app


def test_the_migrations_build_the_schema_the_models_describe(migrated: Flask) -> None:
    differences = _drift(migrated)
    assert differences == [], "models and migrations differ (add a migration):\n" + "\n".join(
        map(repr, differences)
    )


def test_every_migration_goes_down_to_an_empty_database_and_up_again(migrated: Flask) -> None:
    tables = _tables(migrated)
    _run(migrated, "downgrade", "base")
    assert _tables(migrated) == set(), "tables left after downgrading to base"
    _run(migrated, "upgrade")
    assert _tables(migrated) == tables
    assert _drift(migrated) == []


def test_the_head_migration_goes_down_one_step_and_up_again(migrated: Flask) -> None:
    tables = _tables(migrated)
    _run(migrated, "downgrade", "--", "-1")  # "--": -1 is the revision, not an option
    _run(migrated, "upgrade")
    assert _tables(migrated) == tables
    assert _drift(migrated) == []
