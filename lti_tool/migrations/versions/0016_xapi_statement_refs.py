"""lrs: statements remember the statement their StatementRef object targets

A filter of GET /xapi/statements (verb, activity, agent, since, until) also returns the statements that
target a statement it matches (voiding statements and StatementRefs, xAPI 1.0.3 XAPI-00162): the target is
kept in its own indexed column. Existing voiding statements get theirs from ``voids``.

Revision ID: 0016_xapi_statement_refs
Revises: 0015_assessed_productions
Create Date: 2026-12-07 14:20:00

"""

import sqlalchemy as sa
from alembic import op


revision = "0016_xapi_statement_refs"
down_revision = "0015_assessed_productions"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("xapi_statements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("object_ref", sa.String(length=36), nullable=True))
        # Partial: most statements target none, and those add no index entry on the ingest path.
        batch_op.create_index(
            "ix_xapi_statements_object_ref",
            ["object_ref"],
            unique=False,
            postgresql_where=sa.text("object_ref IS NOT NULL"),
            sqlite_where=sa.text("object_ref IS NOT NULL"),
        )
    # Voiding statements already stored: their target is known. Other StatementRefs (rare: sent by API
    # clients) stay NULL and are found by their own filters only.
    op.execute("UPDATE xapi_statements SET object_ref = voids WHERE voids IS NOT NULL")


def downgrade():
    with op.batch_alter_table("xapi_statements", schema=None) as batch_op:
        batch_op.drop_index("ix_xapi_statements_object_ref")
        batch_op.drop_column("object_ref")
