"""live sessions: where to join (a place or a link), a description, cancellation, a revision number

Learners see the sessions of a module on its page, with an .ics file; facilitators edit and cancel them.
A credential also records when its learner was told it was issued (those issued before are taken as told).

Revision ID: 0017_live_sessions
Revises: 0016_xapi_statement_refs
Create Date: 2026-12-07 14:10:00

"""

import sqlalchemy as sa
from alembic import op

from lti_tool.db import UTCDateTime

revision = "0017_live_sessions"
down_revision = "0016_xapi_statement_refs"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("live_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("place", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("join_url", sa.String(length=1024), nullable=True))
        batch_op.add_column(sa.Column("description", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("cancelled_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.add_column(sa.Column("announced_at", UTCDateTime(), nullable=True))
    # Credentials issued before this: their learners saw them on their competences page already.
    op.execute("UPDATE credentials SET announced_at = issued_at")


def downgrade():
    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.drop_column("announced_at")
    with op.batch_alter_table("live_sessions", schema=None) as batch_op:
        batch_op.drop_column("revision")
        batch_op.drop_column("cancelled_at")
        batch_op.drop_column("description")
        batch_op.drop_column("join_url")
        batch_op.drop_column("place")
