"""assessed productions: a deliverable marked on its grid keeps the level given to each criterion

The B1, B2 and B4 productions (modules/*/module.yaml `deliverable.rubric`) are assessed criterion by
criterion; the levels and the score they give are kept with the deliverable, beside the review's decision
and comment.

Revision ID: 0015_assessed_productions
Revises: 0014_moodle_life
Create Date: 2026-12-07 14:00:00

"""

import sqlalchemy as sa
from alembic import op


revision = "0015_assessed_productions"
down_revision = "0014_moodle_life"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("deliverables", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rubric_levels", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("rubric_score", sa.Float(), nullable=True))


def downgrade():
    with op.batch_alter_table("deliverables", schema=None) as batch_op:
        batch_op.drop_column("rubric_score")
        batch_op.drop_column("rubric_levels")
