"""quiz_attempts.questions: the question ids an attempt drew from the module's bank

Attempts recorded before keep NULL: they asked every question of the quiz as it was, in file order, and
the services read them so (the questions they answered, then the rest of the file up to the draw).

Revision ID: 0013_quiz_draws
Revises: 0012_credentials
Create Date: 2026-12-07 13:10:00

"""
import sqlalchemy as sa
from alembic import op


revision = "0013_quiz_draws"
down_revision = "0012_credentials"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("quiz_attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("questions", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("quiz_attempts", schema=None) as batch_op:
        batch_op.drop_column("questions")
