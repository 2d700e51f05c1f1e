"""Alembic environment: migrations run against the app's own engine and metadata (Flask-Migrate)."""

from __future__ import annotations

from alembic import context
from flask import current_app

import lti_tool.certificates.models  # noqa: F401
import lti_tool.competences.models  # noqa: F401
from xapi.models import Base as XapiBase  # the xAPI package's tables have their own metadata

config = context.config
database = current_app.extensions["migrate"].db
target_metadata = [database.metadata, XapiBase.metadata]

# The demo platform (demo_platform/, development and tests only) creates its own tables beside the tool's;
# they are not the migrations' business, so comparing the schema leaves them out.
DEMO_PLATFORM_TABLES = "demo_lms_"


def include_name(name: str | None, type_: str, _parent_names: object) -> bool:
    return not (type_ == "table" and (name or "").startswith(DEMO_PLATFORM_TABLES))


def run_migrations_offline() -> None:
    """Emit SQL for the configured URL without connecting (``flask db upgrade --sql``)."""
    context.configure(
        url=str(database.engine.url),
        target_metadata=target_metadata,
        include_name=include_name,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    with database.engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            include_name=include_name,
            **{
                "render_as_batch": True,
                "compare_type": True,
                **current_app.extensions["migrate"].configure_args,
            },
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
