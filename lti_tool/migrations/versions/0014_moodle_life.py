"""lti_placements: what the course's teachers placed (Deep Linking items, resource links), so that only
those show on the learner home and get a gradebook column

Revision ID: 0014_moodle_life
Revises: 0013_quiz_draws
Create Date: 2026-12-07 14:00:00

"""

import sqlalchemy as sa
from alembic import op

import lti_tool.db


revision = "0014_moodle_life"
down_revision = "0013_quiz_draws"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "lti_placements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("context_pk", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.String(length=64), nullable=False),
        sa.Column("placed_at", lti_tool.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["context_pk"],
            ["contexts.id"],
            name=op.f("fk_lti_placements_context_pk_contexts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lti_placements")),
        sa.UniqueConstraint(
            "context_pk", "resource_id", name=op.f("uq_lti_placements_context_pk_resource_id")
        ),
    )


def downgrade():
    op.drop_table("lti_placements")
