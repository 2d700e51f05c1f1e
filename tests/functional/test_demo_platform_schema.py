"""The demo platform's tables are its own: absent from a production database, created by the demo platform
beside the tool's when it is enabled, dropped by migration 0018 from a database that had them (0005)."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy import inspect, text

from demo_platform.models import DemoBase
from lti_tool import create_app
from lti_tool.db import db
from tests.conftest import new_database, production_config, standalone_config

# The tables migration 0005 put in the tool's schema.
TABLES_OF_0005 = {
    "demo_access_tokens",
    "demo_line_items",
    "demo_members",
    "demo_registration_tokens",
    "demo_resource_links",
    "demo_scores",
    "demo_token_counters",
    "demo_tools",
    "demo_used_nonces",
}


def tables(app: Flask) -> set[str]:
    with app.app_context():
        names = set(inspect(db.engine).get_table_names())
        db.engine.dispose()
    return names


def demo_tables(app: Flask) -> set[str]:
    return {name for name in tables(app) if name.startswith("demo")}


def test_a_production_database_has_no_demo_table_after_setup(tmp_path: Path) -> None:
    with new_database("socle_prod_schema", tmp_path / "production.sqlite3") as url:
        app = create_app(production_config(tmp_path, DATABASE_URL=url))
        result = app.test_cli_runner().invoke(args=["setup"])
        assert result.exit_code == 0, result.output
        assert "learners" in tables(app) and "alembic_version" in tables(app)
        assert demo_tables(app) == set()


def test_0018_drops_the_demo_tables_of_0005_and_its_downgrade_puts_them_back_empty(tmp_path: Path) -> None:
    with new_database("socle_demo_out", tmp_path / "migrated.sqlite3") as url:
        app = create_app(standalone_config(tmp_path, DATABASE_URL=url))
        runner = app.test_cli_runner()
        result = runner.invoke(args=["db", "upgrade", "0017_live_sessions"])
        assert result.exit_code == 0, result.output
        assert demo_tables(app) == TABLES_OF_0005
        with app.app_context():
            db.session.execute(
                text("INSERT INTO demo_token_counters (client_id, scope, count) VALUES ('t', '*', 3)")
            )
            db.session.commit()
            db.engine.dispose()

        result = runner.invoke(args=["db", "upgrade"])
        assert result.exit_code == 0, result.output
        assert demo_tables(app) == set()

        result = runner.invoke(args=["db", "downgrade", "0017_live_sessions"])
        assert result.exit_code == 0, result.output
        assert demo_tables(app) == TABLES_OF_0005
        with app.app_context():
            assert db.session.scalar(text("SELECT count(*) FROM demo_token_counters")) == 0
            # As 0005 made them: the constraints are there again.
            assert (
                inspect(db.engine).get_foreign_keys("demo_scores")[0]["referred_table"] == "demo_line_items"
            )
            db.session.remove()
            db.engine.dispose()

        result = runner.invoke(args=["db", "upgrade"])
        assert result.exit_code == 0, result.output
        assert demo_tables(app) == set()


def test_the_demo_platform_keeps_its_own_tables_beside_the_tools(app: Flask) -> None:
    """The live app (demo on, set up by `flask setup`) has the demo's tables and none of 0005's, and
    they are not the tool's (neither in its metadata nor seen by its migrations)."""
    own = set(DemoBase.metadata.tables)
    assert own and all(name.startswith("demo_lms_") for name in own)
    assert own <= tables(app)
    assert not TABLES_OF_0005 & tables(app)
    assert not own & set(db.metadata.tables)
    with app.app_context():
        # The schema matches the migrations: the demo's tables are left out of the comparison.
        result = app.test_cli_runner().invoke(args=["db", "check"])
        assert result.exit_code == 0, result.output
