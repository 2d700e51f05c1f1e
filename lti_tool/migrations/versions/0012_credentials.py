"""credentials: one valid credential per learner, context and achievement; the frozen evidence file; sharing

The unique constraint on (learner, context, achievement) becomes a unique index on the rows not revoked, so
that a credential revoked (by a jury, or because a bloc it counted was revoked) can be issued again once its
conditions are met again; the revoked row stays, its status-list bit set. ``evidence`` keeps the evidence
file frozen at issue (the credential names its digest); ``evidence_shared_at`` records the holder's choice
to show it to anyone with the verification link.

Revision ID: 0012_credentials
Revises: 0011_xapi_tenancy
Create Date: 2026-12-07 13:00:00

"""
import sqlalchemy as sa
from alembic import op

import lti_tool.db


revision = "0012_credentials"
down_revision = "0011_xapi_tenancy"
branch_labels = None
depends_on = None

INDEX = "uq_credentials_valid_achievement"
COLUMNS = ["learner_id", "context_pk", "achievement"]


def upgrade():
    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.drop_constraint("uq_credentials_learner_id_context_pk_achievement", type_="unique")
        batch_op.add_column(sa.Column("evidence", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("evidence_shared_at", lti_tool.db.UTCDateTime(), nullable=True))
    op.create_index(
        INDEX,
        "credentials",
        COLUMNS,
        unique=True,
        sqlite_where=sa.text("revoked_at IS NULL"),
        postgresql_where=sa.text("revoked_at IS NULL"),
    )


def downgrade():
    op.drop_index(INDEX, table_name="credentials")
    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.drop_column("evidence_shared_at")
        batch_op.drop_column("evidence")
        batch_op.create_unique_constraint("uq_credentials_learner_id_context_pk_achievement", COLUMNS)
